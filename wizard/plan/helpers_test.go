package plan

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

const testAdminPassword = "Adm1n-passw0rd-for-tests"

// fixture is one emulated Metabase and a state directory, as a user's machine would have them.
type fixture struct {
	t   *testing.T
	srv *metabasetest.Server
	dir string
	cfg Config
}

func newFixture(t *testing.T, opts metabasetest.Options, tenants ...Tenant) *fixture {
	t.Helper()
	srv := metabasetest.NewServer(opts)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, dir: t.TempDir(), cfg: Config{
		MetabaseURL: srv.URL,
		// Same site as the emulator (127.0.0.1), like localhost:8080 and localhost:3000 in real use.
		HostAppURL:    "http://127.0.0.1:8080",
		AdminPassword: testAdminPassword,
		LicenseToken:  metabasetest.TestLicenseToken,
		Tenants:       tenants,
	}}
}

// run loads the saved state, makes a plan and runs it all, as `embedwizard up` does.
func (f *fixture) run(ctx context.Context, emit func(Event)) (*Plan, []Event, error) {
	f.t.Helper()
	st, err := LoadState(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := New(f.cfg, st, Options{StateDir: f.dir})
	if err != nil {
		f.t.Fatal(err)
	}
	var events []Event
	err = p.Run(ctx, func(e Event) {
		events = append(events, e)
		if emit != nil {
			emit(e)
		}
	})
	return p, events, err
}

// mustRun runs the plan and fails the test unless every step passed.
func (f *fixture) mustRun() (*Plan, []Event) {
	f.t.Helper()
	p, events, err := f.run(context.Background(), nil)
	if err != nil {
		f.t.Fatalf("run: %v\nevents:\n%s", err, describe(events))
	}
	return p, events
}

// admin is a client signed in as the admin the plan made, for looking at Metabase from outside.
func (f *fixture) admin() *metabase.Client {
	f.t.Helper()
	c, err := metabase.New(f.srv.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := c.Login(context.Background(), DefaultAdminEmail, testAdminPassword); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// setUp makes the admin account and activates the license by hand, as someone half way through the guide.
func (f *fixture) setUp() *metabase.Client {
	f.t.Helper()
	ctx := context.Background()
	c, err := metabase.New(f.srv.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	err = c.Setup(ctx, metabase.SetupRequest{Token: f.srv.SetupToken(),
		User:  metabase.SetupUser{Email: DefaultAdminEmail, Password: testAdminPassword, FirstName: "By", LastName: "Hand"},
		Prefs: metabase.SetupPrefs{SiteName: "By hand"}})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := c.SetSetting(ctx, metabase.SettingPremiumToken, metabasetest.TestLicenseToken); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// writes lists the calls that changed Metabase: every call but GET, logging in (POST /api/session) and
// queries (POST /api/dataset). Written out here rather than reusing IsWrite, which is under test.
func writes(reqs []metabasetest.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Method == http.MethodGet || (r.Method == http.MethodPost && (r.Path == "/api/session" || r.Path == "/api/dataset" ||
			(strings.HasSuffix(r.Path, "/query") && (strings.HasPrefix(r.Path, "/api/card/") || strings.HasPrefix(r.Path, "/api/dashboard/"))))) {
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// outcome is each step's last event kind, by step id.
func outcome(events []Event) map[string]EventKind {
	m := map[string]EventKind{}
	for _, e := range events {
		if e.Kind != StepStarted && e.Kind != StepProgress {
			m[e.Step.ID] = e.Kind
		}
	}
	return m
}

func failed(events []Event) (Event, bool) {
	for _, e := range events {
		if e.Kind == StepFailed {
			return e, true
		}
	}
	return Event{}, false
}

func describe(events []Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("  " + e.Kind.String() + " " + e.Step.ID)
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		if e.Err != nil {
			b.WriteString(": " + e.Err.Error() + " [hint: " + e.Hint + "]")
		}
		for _, c := range e.Checks {
			b.WriteString("\n    ✓ " + c)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// allChecks joins what the checkpoints verified.
func allChecks(events []Event) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Checks...)
	}
	return strings.Join(out, "\n")
}

func stateMode(t *testing.T, dir string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
