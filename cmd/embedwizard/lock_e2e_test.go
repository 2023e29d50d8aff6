package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestE2ETwoRunsAtOnce: two `embedwizard up` processes started together on one state directory. The state
// directory's lock lets one configure Metabase; the other says which process holds the directory and exits 1.
// Every trial ends with exactly one saved X-ray dashboard (before the lock, 10 trials of 10 left two).
func TestE2ETwoRunsAtOnce(t *testing.T) {
	bin, _ := binaries(t)
	const trials = 10
	held := 0
	for trial := range trials {
		// The first sync's lag keeps the winner inside its run while the other one starts.
		srv := metabasetest.NewServer(metabasetest.Options{SyncDuration: 300 * time.Millisecond})
		dir := t.TempDir()
		type result struct {
			code int
			out  string
			err  error
		}
		results := make(chan result, 2)
		for range 2 {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, "up", "--yes", "--configure-only", "--no-browser",
					"--metabase-url", srv.URL, "--state-dir", dir)
				cmd.Env = append(os.Environ(), "HOME="+dir, session.EnvLicense+"="+metabasetest.TestLicenseToken)
				out, err := cmd.CombinedOutput()
				r := result{out: string(out), err: err}
				if ee, ok := err.(*exec.ExitError); ok {
					r.code, r.err = ee.ExitCode(), nil
				}
				results <- r
			}()
		}
		codes := map[int]int{}
		for range 2 {
			r := <-results
			if r.err != nil {
				t.Fatalf("trial %d: run embedwizard up: %v\n%s", trial, r.err, r.out)
			}
			codes[r.code]++
			switch r.code {
			case exitOK:
			case exitFailed:
				if !strings.Contains(r.out, "holds the state dir") || !strings.Contains(r.out, "pid ") {
					t.Errorf("trial %d: the run that lost the lock says:\n%s", trial, r.out)
				}
				held++
			default:
				t.Errorf("trial %d: exit %d:\n%s", trial, r.code, r.out)
			}
		}
		saves := 0
		for _, r := range srv.Requests() {
			if r.Method == "POST" && r.Path == "/api/dashboard/save" {
				saves++
			}
		}
		srv.Close()
		if codes[exitOK] < 1 || saves != 1 {
			t.Errorf("trial %d: exit codes %v, %d X-ray dashboards saved; want one run to configure Metabase and exactly one dashboard", trial, codes, saves)
		}
	}
	if held == 0 {
		t.Errorf("in %d trials no run ever met the other's lock: the test did not race the two runs", trials)
	}
	t.Logf("%d trials: %d runs refused by the lock, 1 X-ray dashboard each", trials, held)
}
