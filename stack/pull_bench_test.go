package stack

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/stack/stacktest"
)

// BenchmarkPullVsDocker pulls the same four-layer image (about 128 MB of incompressible layers on top
// of the emulator's, which stay present) with the stack and with `docker pull`, alternately, from a
// registry on 127.0.0.1: at full speed, and through a proxy capped at 100 Mbit/s. It reports the
// ratio of the two (the stack should not be slower: ≤ 1.05). The capped run logs the lines up --yes
// prints. Run it with
//
//	go test ./stack/ -run '^$' -bench PullVsDocker -benchtime 3x
func BenchmarkPullVsDocker(b *testing.B) {
	if _, err := exec.LookPath("docker"); err != nil {
		b.Fatalf("the comparison needs the docker CLI: %v", err)
	}
	reg := stacktest.NewRegistry(b)
	derived := stacktest.DeriveLayers(b, stacktest.Image(b), 64<<20, 40<<20, 24<<20, 98)
	reg.Push(b, derived, "fakemetabase:bench")
	stacktest.RemoveImage(b, derived)
	for _, tc := range []struct {
		name string
		rate int // bytes a second, 0 for no cap
	}{{"full-speed", 0}, {"100Mbit", 100e6 / 8}} {
		b.Run(tc.name, func(b *testing.B) {
			addr := reg.Addr
			if tc.rate > 0 {
				addr = stacktest.NewSlowProxy(b, reg.Addr, tc.rate).Addr
			}
			remote := addr + "/fakemetabase:bench"
			s := newTestStack(b, Config{Image: remote})
			ctx := context.Background()
			var stackTime, dockerTime time.Duration
			logged := false
			for b.Loop() {
				stacktest.RemoveImage(b, remote)
				var out strings.Builder
				r := NewPullReporter(&out, time.Now)
				start := time.Now()
				if err := s.pull(ctx, r.Event, ""); err != nil {
					b.Fatal(err)
				}
				stackTime += time.Since(start)
				if !logged && tc.rate > 0 {
					b.Logf("up --yes printed:\n%s", out.String())
					logged = true
				}
				stacktest.RemoveImage(b, remote)
				start = time.Now()
				if o, err := exec.Command("docker", "pull", "-q", remote).CombinedOutput(); err != nil {
					b.Fatalf("docker pull: %v\n%s", err, o)
				}
				dockerTime += time.Since(start)
			}
			stacktest.RemoveImage(b, remote)
			n := float64(b.N)
			b.ReportMetric(stackTime.Seconds()/n, "stack-s/pull")
			b.ReportMetric(dockerTime.Seconds()/n, "docker-s/pull")
			b.ReportMetric(stackTime.Seconds()/dockerTime.Seconds(), "ratio")
		})
	}
}
