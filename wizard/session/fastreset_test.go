package session

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/internal/sso"
	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// configuredFastReset is a session whose "stack" is the emulator with Metabase's testing endpoints on, run
// through the whole plan, with its fast snapshot taken as `up --fast-reset` takes it.
func configuredFastReset(t *testing.T) (*Session, string) {
	t.Helper()
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	srv := metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken,
		Env: map[string]string{envTestEndpoints: "true"}})
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	dir := t.TempDir()
	cfg := Config{StateDir: dir, State: &plan.State{}, FastReset: true}
	cfg.Apply(Choices{Config: plan.Config{AdminPassword: "a-long-admin-password-1", LicenseToken: metabasetest.TestLicenseToken}, MetabasePort: port}.WithDefaults())
	cfg.State.Stack.Port = port
	s := New(cfg, Options{})
	t.Cleanup(s.Close)
	mbURL := MetabaseURL(cfg.State)
	p, err := s.Plan(mbURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RunPlan(t.Context(), p, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.fastSnapshot(t.Context(), mbURL, nil); err != nil {
		t.Fatal(err)
	}
	// reset needs the volume snapshot too (its fallback); its content does not matter on the fast path.
	cfg.State.Stack.Snapshot = filepath.Join(dir, SnapshotFile)
	if err := os.WriteFile(cfg.State.Stack.Snapshot, []byte("volume"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, mbURL
}

// signInDemoUser signs the first tenant's demo user in through JWT SSO, as the host app's iframe does.
func signInDemoUser(t *testing.T, st *plan.State, mbURL string) *metabase.Client {
	t.Helper()
	tn := st.Tenants[0]
	tok, err := sso.Sign([]byte(st.JWTSecret), sso.Identity{Email: tn.DemoUser.Email, FirstName: tn.DemoUser.FirstName,
		LastName: tn.DemoUser.LastName, Groups: []string{tn.Name}, AccountID: strconv.Itoa(tn.AccountID)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := metabase.New(mbURL)
	res, err := mb.SSO(t.Context(), tok, "/")
	if err != nil {
		t.Fatalf("demo user sign-in: %v", err)
	}
	return mb.As(res.Session)
}

// TestFastResetBadInput: a reset while a demo user is signed in (and the admin changed things) still leaves
// every checkpoint passing, and that user signs in again; a restore Metabase refuses says so and falls back
// to the volume snapshot.
func TestFastResetBadInput(t *testing.T) {
	tests := []struct {
		name     string
		snapshot string // "" keeps the one taken
		wantFast bool
		want     string // in the events
	}{
		{name: "a demo user signed in", wantFast: true, want: "restoring Metabase's own snapshot (no restart)"},
		{name: "a snapshot Metabase does not have", snapshot: metabase.NewSnapshotName(), want: "Metabase refused the fast restore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, mbURL := configuredFastReset(t)
			st := s.State()
			demo := signInDemoUser(t, st, mbURL)
			if _, err := demo.CurrentUser(t.Context()); err != nil {
				t.Fatalf("the demo user is not signed in: %v", err)
			}
			admin, err := AdminClient(t.Context(), st)
			if err != nil {
				t.Fatal(err)
			}
			if err := admin.SetSetting(t.Context(), "jwt-enabled", false); err != nil {
				t.Fatal(err)
			}
			if tt.snapshot != "" {
				if err := os.WriteFile(fastSnapshotPath(s.cfg.StateDir), []byte(tt.snapshot+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var msgs []string
			_, writes, err := s.Restore(t.Context(), func(ev Event) { msgs = append(msgs, ev.Message) })
			if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, tt.want) }) {
				t.Errorf("events lack %q: %q", tt.want, msgs)
			}
			if !tt.wantFast {
				// The fallback is the volume snapshot, which needs Docker (absent here): it was tried.
				if err == nil || !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, "restoring the volume snapshot instead") }) {
					t.Errorf("no fallback to the volume snapshot: err %v, events %q", err, msgs)
				}
				return
			}
			if err != nil || writes != 0 {
				t.Fatalf("fast reset: %v (%d writes)", err, writes)
			}
			if err := Verify(t.Context(), st); err != nil {
				t.Errorf("after the reset a checkpoint fails: %v", err)
			}
			// Metabase's restore replaces core_session: the session made after the snapshot is gone, so the
			// host app's iframe signs in again through SSO, and that works.
			if _, err := demo.CurrentUser(context.Background()); !metabase.IsStatus(err, 401) {
				t.Errorf("the demo user's session from after the snapshot still works (%v): Metabase's restore drops it", err)
			}
			if me, err := signInDemoUser(t, st, mbURL).CurrentUser(t.Context()); err != nil || !strings.EqualFold(me.Email, st.Tenants[0].DemoUser.Email) {
				t.Errorf("the demo user cannot sign in again after the reset: %v %v", me.Email, err)
			}
		})
	}
}
