package stack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	tailLines    = 40              // log lines attached to a boot failure
	probeTimeout = 3 * time.Second // one /api/health request
	firstPoll    = 100 * time.Millisecond
	maxPoll      = time.Second // Metabase boots for a minute; a second between polls costs nothing
	tailTimeout  = 10 * time.Second
)

// health is one answer of /api/health.
type health struct {
	ok     bool
	boot   float64 // 0..1 while initializing
	reason string  // why it is not ok
}

func (h health) String() string {
	switch {
	case h.ok:
		return "ok"
	case h.reason == "":
		return fmt.Sprintf("initializing %.0f%%", h.boot*100)
	}
	return h.reason
}

// probe asks Metabase once whether it is up. It talks to 127.0.0.1, the only address the port is
// published on, so a localhost that resolves to ::1 first cannot get in the way.
func (s *Stack) probe(ctx context.Context, port int) health {
	body, status, err := s.get(ctx, port, "/api/health")
	if err != nil {
		return health{reason: "not answering yet"}
	}
	if status == http.StatusOK {
		return health{ok: true}
	}
	var h struct {
		Status   string  `json:"status"`
		Progress float64 `json:"progress"`
	}
	if status == http.StatusServiceUnavailable && json.Unmarshal(body, &h) == nil && h.Status == "initializing" {
		return health{boot: h.Progress}
	}
	return health{reason: fmt.Sprintf("/api/health answered %d %s", status, bytes.TrimSpace(body[:min(len(body), 200)]))}
}

// version reads Metabase's version tag; it is informational, so failures leave it empty.
func (s *Stack) version(ctx context.Context, port int) string {
	body, status, err := s.get(ctx, port, "/api/session/properties")
	var p struct {
		Version struct {
			Tag string `json:"tag"`
		} `json:"version"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &p) != nil {
		return ""
	}
	return p.Version.Tag
}

func (s *Stack) get(ctx context.Context, port int, path string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return body, resp.StatusCode, err
}

// backoff yields growing poll intervals up to maxPoll.
type backoff time.Duration

func (b *backoff) next() time.Duration {
	d := time.Duration(*b)
	*b = backoff(min(time.Duration(float64(d)*1.5), maxPoll))
	return d
}

// waitHealthy polls /api/health until it answers 200, emitting Booting events with Metabase's own
// progress and the container's log lines (from since on) as LogLine events. It fails with
// ErrContainerExited as soon as the container stops, and with ErrHealthTimeout after
// Config.HealthTimeout; both carry the last log lines.
func (s *Stack) waitHealthy(ctx context.Context, id string, since time.Time, em emitter) (Info, error) {
	wait, cancel := context.WithTimeout(ctx, s.cfg.HealthTimeout)
	defer cancel()
	lines := s.streamLines(wait, id, since)
	poll := backoff(firstPoll)
	timer := time.NewTimer(0)
	defer timer.Stop()
	last := health{boot: -1}
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil // the log stream ended (container gone); keep polling
				continue
			}
			em.send(Event{Kind: LogLine, Message: line})
			continue
		case <-wait.Done():
			if ctx.Err() != nil {
				return Info{}, fmt.Errorf("wait for Metabase: %w", ctx.Err())
			}
			return Info{}, fmt.Errorf("wait for Metabase: %w: /api/health did not answer 200 within %v (last: %s). "+
				"Metabase may need more memory or time: raise the health timeout, check `embedwizard logs`, or `embedwizard down` and retry.%s",
				ErrHealthTimeout, s.cfg.HealthTimeout, last, s.tail(ctx, id))
		case <-timer.C:
		}
		st, err := s.eng.inspect(wait, id)
		if err != nil {
			if wait.Err() != nil {
				continue // reported by the select above
			}
			return Info{}, s.wrap("wait for Metabase: inspect container", err)
		}
		if !st.Running {
			return Info{}, s.exitError(st, s.tail(ctx, id))
		}
		h := s.probe(wait, st.HostPort)
		if h.ok {
			em.send(Event{Kind: Healthy, Message: "Metabase is up at " + s.url(), Boot: 1})
			return Info{
				ContainerID: st.ID, Name: st.Name, Image: st.Labels[labelImage], URL: s.url(), Volume: s.volumeName(),
				Port: st.HostPort, MetabaseVersion: s.version(wait, st.HostPort),
			}, nil
		}
		if h != last {
			em.send(Event{Kind: Booting, Message: "Metabase is starting: " + h.String(), Boot: max(h.boot, 0)})
			last = h
		}
		timer.Reset(poll.next())
	}
}

// streamLines follows the container's log from since on, one line per value, until ctx ends.
func (s *Stack) streamLines(ctx context.Context, id string, since time.Time) <-chan string {
	out := make(chan string)
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(s.eng.logs(ctx, id, true, 0, since, pw))
	}()
	go func() {
		defer close(out)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case out <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// tail returns the container's last log lines, formatted to be appended to an error. It gets a fresh
// deadline because it usually runs after the wait's own has passed.
func (s *Stack) tail(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tailTimeout)
	defer cancel()
	var b bytes.Buffer
	if err := s.eng.logs(ctx, id, false, tailLines, time.Time{}, &b); err != nil {
		return fmt.Sprintf("\n(the container's log could not be read: %v)", err)
	}
	return formatTail(b.String())
}

func formatTail(log string) string {
	log = strings.TrimRight(log, "\n")
	if log == "" {
		return "\nThe container logged nothing."
	}
	return fmt.Sprintf("\nLast %d log lines:\n%s", tailLines, log)
}

// exitError explains a container that stopped while Metabase was expected to run.
func (s *Stack) exitError(st containerState, tail string) error {
	var why, fix string
	switch {
	case st.OOMKilled:
		why = fmt.Sprintf("it was killed for exceeding its memory limit of %s (OOMKilled, exit code %d)", bytesHuman(s.cfg.Memory), st.ExitCode)
		fix = "raise the container memory limit or give Docker more memory (Metabase wants about 2 GB)"
	case st.ExitCode == 137:
		why = "it was killed (SIGKILL, exit code 137) without being OOMKilled"
		fix = "check whether something stopped it (`docker events`); then `embedwizard up` again"
	default:
		why = fmt.Sprintf("it exited with code %d", st.ExitCode)
		fix = "read the log lines below; `embedwizard up` starts it again, `embedwizard down --volumes` starts over with empty data"
	}
	if st.Error != "" {
		why += " (Docker: " + st.Error + ")"
	}
	return fmt.Errorf("wait for Metabase: %w: %s: %s. Fix: %s.%s", ErrContainerExited, st.Name, why, fix, tail)
}

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
