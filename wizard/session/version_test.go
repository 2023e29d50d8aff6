package session

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// noDocker is a session whose Docker daemon is absent: the checks below need no image on this machine.
func noDocker(t *testing.T, image, recorded string, o Overrides) *Session {
	t.Helper()
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	dir := t.TempDir()
	if recorded != "" {
		if err := (versions{Volume: recorded}).save(dir); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{StateDir: dir, State: &plan.State{}, Overrides: o}
	cfg.Stack = stack.Config{StateDir: dir, Image: image, Port: 3917}
	return New(cfg, Options{})
}

// TestVersionCheckInThePreflight: a tagged image is judged before any pull or write, with the advisory, the
// release to use and the flag that overrides each refusal; an override leaves a banner for every screen.
func TestVersionCheckInThePreflight(t *testing.T) {
	const repo = "metabase/metabase-enterprise"
	tests := []struct {
		name, image, recorded string
		o                     Overrides
		ok, warn              bool
		want                  []string // in Detail + Fix
		banner                string   // in Banners
	}{
		{name: "below the 63 floor", image: repo + ":v1.63.1", want: []string{"CVE-2026-72898 / GHSA-vwf4-m7j8-wcjf", "also below: GHSA-r495-55cx-fjh7", "--image " + repo + ":v1.63.13", "--allow-vulnerable"}},
		{name: "one below the floor", image: repo + ":v1.63.12", want: []string{"below 63.13", "--image " + repo + ":v1.63.13"}},
		{name: "at the floor", image: repo + ":v1.63.13", ok: true, want: []string{"at or above its line's security floor"}},
		{name: "above the floor, hotfix", image: repo + ":v1.58.31.2", ok: true},
		{name: "open source below", image: "metabase/metabase:v0.60.23", want: []string{"metabase/metabase:v0.60.24"}},
		{name: "a line with no fix", image: repo + ":v1.56.3", want: []string{"line 56 has no release fixing GHSA-r495-55cx-fjh7", "use a supported release"}},
		{name: "newer than every advisory", image: repo + ":v1.64.1", ok: true},
		{name: "allowed vulnerable", image: repo + ":v1.63.1", o: Overrides{Vulnerable: true}, ok: true, warn: true, banner: "VULNERABLE (allowed by --allow-vulnerable)"},
		{name: "beta x.N.0", image: repo + ":v1.65.0", want: []string{"beta or release candidate", "--allow-prerelease"}},
		{name: "RC", image: repo + ":v1.65.2-RC1", want: []string{"--allow-prerelease"}},
		{name: "allowed beta", image: repo + ":v1.65.0-beta", o: Overrides{Prerelease: true}, ok: true, warn: true, banner: "beta or release candidate"},
		{name: "allowed beta, still vulnerable", image: repo + ":v1.63.0", o: Overrides{Prerelease: true}, want: []string{"v1.63.13"}},
		{name: "downgrade", image: repo + ":v1.64.1", recorded: "v1.65.2", want: []string{"v1.65.2", "Metabase refuses to run", "--allow-downgrade"}},
		{name: "downgrade allowed", image: repo + ":v1.64.1", recorded: "v1.65.2", o: Overrides{Downgrade: true}, ok: true, warn: true, banner: "DOWNGRADE (allowed by --allow-downgrade)"},
		{name: "same version again", image: repo + ":v1.64.1", recorded: "v1.64.1", ok: true},
		{name: "upgrade", image: repo + ":v1.65.1", recorded: "v1.64.1", ok: true},
		{name: "latest, never seen", image: repo + ":latest", recorded: "v1.65.2", ok: true, want: []string{"names no version", "once Metabase reports its version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := noDocker(t, tt.image, tt.recorded, tt.o)
			stk, err := s.stack()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := s.versionCheck(t.Context(), stk)
			if c.OK != tt.ok || c.Warn != tt.warn {
				t.Errorf("OK %v Warn %v, want %v %v: %s (fix: %s)", c.OK, c.Warn, tt.ok, tt.warn, c.Detail, c.Fix)
			}
			for _, w := range tt.want {
				if !strings.Contains(c.Detail+" "+c.Fix, w) {
					t.Errorf("lacks %q:\n%s\nfix: %s", w, c.Detail, c.Fix)
				}
			}
			if err := s.refuseBeforeStart(t.Context(), nil); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrPrereq)) {
				t.Errorf("just before the start: %v, want refused %v", err, !tt.ok)
			}
			b := strings.Join(s.Banners(), "\n")
			if (tt.banner == "") != (b == "") || !strings.Contains(b, tt.banner) {
				t.Errorf("banners %q, want one with %q", b, tt.banner)
			}
		})
	}
}

// TestVersionOnceItRuns: the version Metabase reports is judged after the boot (the only one "latest" has): a
// pulled moving tag is pulled again once, a refusal stops the container and is a missing prerequisite, and
// the version is recorded for the next run's downgrade check.
func TestVersionOnceItRuns(t *testing.T) {
	tests := []struct {
		name, image, reported, digest, recorded string
		o                                       Overrides
		repulled                                bool
		wantRetry                               bool
		wantErr                                 string // "" when accepted
		wantRecorded                            string
		banner                                  string
	}{
		{name: "latest, patched", image: "m:latest", reported: "v1.64.1", digest: "sha256:aa", wantRecorded: "v1.64.1"},
		{name: "stale latest is pulled again", image: "m:latest", reported: "v1.60.2", digest: "sha256:aa", wantRetry: true},
		{name: "still stale after the pull", image: "m:latest", reported: "v1.60.2", digest: "sha256:aa", repulled: true, wantErr: "v1.60.24"},
		{name: "built here: nothing to pull", image: "m:custom", reported: "v1.60.2", wantErr: "reports v1.60.2"},
		{name: "allowed", image: "m:custom", reported: "v1.60.2", o: Overrides{Vulnerable: true}, wantRecorded: "v1.60.2", banner: "VULNERABLE"},
		{name: "downgrade found at boot", image: "m:custom", reported: "v1.64.1", recorded: "v1.65.1", wantErr: "--allow-downgrade"},
		{name: "forced downgrade keeps the newer record", image: "m:custom", reported: "v1.64.1", recorded: "v1.65.1", o: Overrides{Downgrade: true}, wantRecorded: "v1.65.1"},
		{name: "beta reported", image: "m:custom", reported: "v1.66.0", wantErr: "--allow-prerelease"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := noDocker(t, tt.image, tt.recorded, tt.o)
			s.repulled = tt.repulled
			stk, err := s.stack()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var events []Event
			retry, err := s.checkRunning(t.Context(), stk, stack.Info{MetabaseVersion: tt.reported, ImageDigest: tt.digest, ImageID: "sha256:img", URL: "http://localhost:3917"},
				func(ev Event) { events = append(events, ev) })
			if retry != tt.wantRetry {
				t.Errorf("retry %v, want %v", retry, tt.wantRetry)
			}
			if retry && (s.cfg.Stack.Pull != stack.PullAlways || !s.cfg.Stack.Recreate) {
				t.Errorf("a retry without a forced pull: pull %q recreate %v", s.cfg.Stack.Pull, s.cfg.Stack.Recreate)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "":
				h, _ := HintOf(err)
				if !errors.Is(err, ErrPrereq) || !strings.Contains(err.Error()+" "+h.Do, tt.wantErr) {
					t.Errorf("err %v (fix %q), want a missing prerequisite naming %q", err, h.Do, tt.wantErr)
				}
			}
			if got := s.volumeVersion(); tt.wantRecorded != "" && got != tt.wantRecorded {
				t.Errorf("recorded %q, want %q", got, tt.wantRecorded)
			}
			if tt.banner != "" && (len(events) == 0 || !events[len(events)-1].Banner || !strings.Contains(events[len(events)-1].Message, tt.banner)) {
				t.Errorf("no banner event with %q: %+v", tt.banner, events)
			}
		})
	}
}

func TestFloorWarningsAndRunning(t *testing.T) {
	for _, tt := range []struct {
		version string
		want    string
	}{{"v1.64.1", ""}, {"v1.62.15", "VULNERABLE"}, {"v1.66.0", "beta"}, {"", ""}} {
		if got := strings.Join(FloorWarnings(tt.version), "; "); (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("FloorWarnings(%q) = %q, want %q", tt.version, got, tt.want)
		}
	}
	r := RunningOf(stack.Status{Image: "metabase/metabase-enterprise:latest", ImageDigest: "sha256:abc", Version: "v1.62.15"}, "v1.64.1")
	if s := r.String(); !strings.Contains(s, "Metabase v1.62.15, image metabase/metabase-enterprise:latest (sha256:abc)") || len(r.Warnings) != 1 {
		t.Errorf("Running = %q, warnings %q", s, r.Warnings)
	}
}

// TestHostPortCheck: the host app's port by the stack's one rule; a held port names who holds it.
func TestHostPortCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	free := held
	ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(held))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln2, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		free = ln2.Addr().(*net.TCPAddr).Port
		ln2.Close()
	}
	for _, tt := range []struct {
		port int
		ok   bool
		want string
	}{{free, true, "is free for the host app"}, {held, false, "is in use: 127.0.0.1:" + strconv.Itoa(held) + " is held by "}} {
		c := HostPortCheck(tt.port)
		if c.OK != tt.ok || !strings.Contains(c.Detail, tt.want) || (!c.OK && c.Fix == "") {
			t.Errorf("HostPortCheck(%d) = %+v, want OK %v and %q", tt.port, c, tt.ok, tt.want)
		}
	}
}
