package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

func TestDoctor(t *testing.T) {
	tests := []struct {
		name     string
		breakIt  func(t *testing.T, c *configured)
		wantCode int
		want     []string
	}{
		{
			name:     "healthy",
			breakIt:  func(*testing.T, *configured) {},
			wantCode: exitOK,
			want: []string{"✓ host app port", "✓ license", "✓ origins          Metabase may be framed by the host app http://127.0.0.1:",
				"✓ samesite", "✓ clock", "✓ jwt", "✓ dashboard", "Everything interactive embedding needs is in place."},
		},
		{
			name: "authorized origins missing",
			breakIt: func(t *testing.T, c *configured) {
				fatalIf(t, c.admin(t).SetSetting(context.Background(), "embedding-app-origins-interactive", "https://other.example.com"))
			},
			wantCode: exitFailed,
			want:     []string{"✗ origins", `framed by "https://other.example.com", not by the host app`, "fix: embedwizard up adds it"},
		},
		{
			name: "SameSite None over plain HTTP",
			breakIt: func(t *testing.T, c *configured) {
				fatalIf(t, c.admin(t).SetSetting(context.Background(), "session-cookie-samesite", "none"))
			},
			wantCode: exitFailed,
			want:     []string{"✗ samesite", "SameSite=None over plain HTTP", "fix: the two apps are the same site: set it to Lax"},
		},
		{
			name: "JWT switched off",
			breakIt: func(t *testing.T, c *configured) {
				fatalIf(t, c.admin(t).SetSetting(context.Background(), "jwt-enabled", false))
			},
			wantCode: exitFailed,
			want:     []string{"✗ jwt", "JWT sign-in is not enabled"},
		},
		{
			name: "dashboard gone",
			breakIt: func(t *testing.T, c *configured) {
				c.st.DashboardID = 999
				fatalIf(t, c.st.Save(c.dir))
			},
			wantCode: exitFailed,
			want:     []string{"✗ dashboard", "read dashboard 999", "404"},
		},
		{
			name: "admin password lost",
			breakIt: func(t *testing.T, c *configured) {
				c.st.Config.AdminPassword = "not-the-password-1"
				fatalIf(t, c.st.Save(c.dir))
			},
			wantCode: exitFailed,
			want:     []string{"✗ metabase", "401", "fix: Metabase refused the saved admin credentials: set EMBEDWIZARD_ADMIN_PASSWORD"},
		},
		{
			name: "host app port held by the host app",
			breakIt: func(t *testing.T, c *configured) {
				ctx, cancel := context.WithCancel(context.Background())
				_, err := startHostApp(ctx, c.st, listenOn(t, c.hostPort), slog.New(slog.DiscardHandler))
				fatalIf(t, err)
				t.Cleanup(cancel)
			},
			wantCode: exitOK,
			want:     []string{"✓ host app port    the host app answers on port"},
		},
		{
			name: "host app port taken by another program",
			breakIt: func(t *testing.T, c *configured) {
				other := httptest.NewUnstartedServer(http.NotFoundHandler())
				other.Listener.Close()
				other.Listener = listenOn(t, c.hostPort)
				other.Start()
				t.Cleanup(other.Close)
			},
			wantCode: exitPrereq,
			want:     []string{"✗ host app port", "is in use: 127.0.0.1:", "is held by "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configure(t, metabasetest.Options{})
			tt.breakIt(t, c)
			code, out, errOut := upRun(t, nil, "", "doctor", "--state-dir", c.dir)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.wantCode, out, errOut)
			}
			for _, s := range tt.want {
				if !strings.Contains(out, s) {
					t.Errorf("doctor lacks %q:\n%s", s, out)
				}
			}
			c.noSecrets(t, out+errOut)
		})
	}
}

// TestDoctorClockSkew puts a proxy in front of the emulator that sends a Date five minutes ahead, as a
// Metabase in a VM whose clock stopped during sleep would.
func TestDoctorClockSkew(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	skewed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(5*time.Minute).UTC().Format(http.TimeFormat))
		c.srv.Handler().ServeHTTP(w, r)
	}))
	defer skewed.Close()
	c.st.Config.MetabaseURL = skewed.URL
	fatalIf(t, c.st.Save(c.dir))
	code, out, _ := upRun(t, nil, "", "doctor", "--state-dir", c.dir)
	// The Date header has whole seconds: 4m59s to 5m1s.
	if code != exitFailed || !regexp.MustCompile(`✗ clock +Metabase's clock is (4m59s|5m0s|5m1s) off`).MatchString(out) {
		t.Errorf("exit %d, want %d with the clock 5m off:\n%s", code, exitFailed, out)
	}
}

func TestDoctorWithoutState(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	dir := t.TempDir()
	code, out, _ := upRun(t, map[string]string{"HOME": dir}, "", "doctor", "--state-dir", dir)
	if code != exitPrereq || !strings.Contains(out, "! no state in") || !strings.Contains(out, "✗ docker") {
		t.Errorf("exit %d, want %d saying there is no state and no Docker:\n%s", code, exitPrereq, out)
	}
}

func listenOn(t *testing.T, port int) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	fatalIf(t, err)
	// Held until the test ends: a listener nobody refers to any more is closed by its finalizer at the next
	// GC, which freed "taken" ports in the middle of a test.
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestDoctorVerifiesAndShowsMetabasesChecklist: doctor verifies Metabase now, and shows Metabase's own embedding
// checklist beside our checkpoints.
func TestDoctorVerifiesAndShowsMetabasesChecklist(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	code, out, errOut := upRun(t, nil, "", "doctor", "--state-dir", c.dir)
	for _, want := range []string{"✓ verified", `checklist        Metabase's "Dashboard created": done; ours: Create the Invoices dashboard`} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q (exit %d):\n%s%s", want, code, out, errOut)
		}
	}
	c.noSecrets(t, out+errOut)
}
