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

	"github.com/embedwizard/embedwizard/stack/metabase"
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
// published on, so a localhost that resolves to ::1 first cannot get in the way. The answer is read by
// metabase.ParseHealth, the client's rule.
func (s *Stack) probe(ctx context.Context, port int) health {
	body, status, err := s.get(ctx, port, "/api/health")
	if err != nil {
		return health{reason: "not answering yet"}
	}
	h, err := metabase.ParseHealth(status, body)
	switch {
	case err == nil && h.Ready():
		return health{ok: true}
	case err == nil && h.Status == "initializing":
		return health{boot: h.Progress}
	}
	return health{reason: fmt.Sprintf("/api/health answered %d %s", status, bytes.TrimSpace(body[:min(len(body), 200)]))}
}

// version reads Metabase's version tag; it is informational, so failures leave it empty.
func (s *Stack) version(ctx context.Context, port int) string {
	body, status, err := s.get(ctx, port, "/api/session/properties")
	if err != nil || status != http.StatusOK {
		return ""
	}
	return versionTag(body)
}

// versionTag reads version.tag from /api/session/properties.
func versionTag(body []byte) string {
	var p struct {
		Version struct {
			Tag string `json:"tag"`
		} `json:"version"`
	}
	if json.Unmarshal(body, &p) != nil {
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
			// Ready means ready: /api/health says 200 while the API behind it may still refuse requests
			// for a moment, so the first call the plan makes must answer too.
			if body, status, err := s.get(wait, st.HostPort, "/api/session/properties"); err == nil && status == http.StatusOK {
				em.send(Event{Kind: Healthy, Message: "Metabase is up at " + s.url(), Boot: 1, ContainerID: st.ID, Name: st.Name})
				info := Info{
					ContainerID: st.ID, Name: st.Name, Image: st.Labels[labelImage], URL: s.url(), Volume: s.volumeName(),
					Port: st.HostPort, MetabaseVersion: versionTag(body), ImageID: st.ImageID, Memory: st.Memory,
				}
				info.ImageDigest, info.ImageVersion = s.imageFacts(ctx, st)
				return info, nil
			} else if err == nil {
				h = health{boot: 1, reason: fmt.Sprintf("/api/health answers 200, /api/session/properties still %d", status)}
			} else {
				h = health{boot: 1, reason: "/api/health answers 200, /api/session/properties does not answer yet"}
			}
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
	why, fix := exitReason(st), ""
	switch {
	case st.OOMKilled:
		fix = fmt.Sprintf("give it more memory: --memory %s (now %s; the heap follows at half), and make sure the engine has that much (embedwizard doctor)",
			gigabytesUp(st.Memory+(1<<30)), bytesHuman(st.Memory))
		return advise(fmt.Errorf("wait for Metabase: %w (%w): %s: %s.%s", ErrOutOfMemory, ErrContainerExited, st.Name, why, tail), fix)
	case st.ExitCode == 137 && st.Memory > 0:
		fix = fmt.Sprintf("unless something else killed it (`docker events --filter container=%s`), give it more memory: --memory %s (now %s; the heap follows at half)",
			st.Name, gigabytesUp(st.Memory+(1<<30)), bytesHuman(st.Memory))
	case st.ExitCode == 137:
		fix = "check whether something stopped it (`docker events`); then `embedwizard up` again"
	default:
		fix = "read the log lines below; `embedwizard up` starts it again, `embedwizard down --volumes` starts over with empty data"
	}
	if st.Error != "" {
		why += " (Docker: " + st.Error + ")"
	}
	return advise(fmt.Errorf("wait for Metabase: %w: %s: %s.%s", ErrContainerExited, st.Name, why, tail), fix)
}

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 4<<30: // an engine's total: "23.5 GiB", not "24105 MiB"
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
