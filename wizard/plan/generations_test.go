package plan

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

// The plan against each Metabase generation the emulator knows (issue 13 §5): a fresh run passes every
// checkpoint, a second run writes nothing, and a run stopped after any step resumes.

func generationOptions(g metabasetest.Generation) metabasetest.Options {
	return metabasetest.Options{Version: g.Tag()}
}

func TestEveryGenerationFreshAndSecondRun(t *testing.T) {
	for _, g := range metabasetest.Generations() {
		t.Run(g.Tag(), func(t *testing.T) {
			f := newFixture(t, generationOptions(g), acme, globex)
			first, events := f.mustRun()
			for _, id := range runOrder {
				s, _ := first.step(id)
				want := map[bool]EventKind{false: StepDone, true: StepVerified}[s.Checkpoint]
				if got := outcome(events)[id]; got != want {
					t.Errorf("fresh run: step %s ended %v, want %v", id, got, want)
				}
			}
			checks := allChecks(events)
			for _, want := range []string{"opens all", "cards of the dashboard", "sees", "no other group but All Users"} {
				if !strings.Contains(checks, want) {
					t.Errorf("the checkpoints do not say %q:\n%s", want, checks)
				}
			}
			assertCollectionView(t, f, first.State())
			assertDashboardIsOurs(t, f, first.State())

			f.srv.ResetRequests()
			second, events := f.mustRun()
			if w := writes(f.srv.Requests()); len(w) > 0 {
				t.Errorf("second run wrote to Metabase: %v", w)
			}
			for id, kind := range outcome(events) {
				s, _ := second.step(id)
				if want := map[bool]EventKind{false: StepAlreadyDone, true: StepVerified}[s.Checkpoint]; kind != want {
					t.Errorf("second run: step %s ended %v, want %v", id, kind, want)
				}
			}
			c1, w1 := first.APICalls()
			c2, w2 := second.APICalls()
			t.Logf("%s: fresh run %d calls, %d writes; second run %d calls, %d writes", g.Tag(), c1, w1, c2, w2)
			assertNoDuplicates(t, f)
		})
	}
}

// assertCollectionView checks All Users may view, and not curate, the X-ray collection(s): the guide's View.
func assertCollectionView(t *testing.T, f *fixture, st *State) {
	t.Helper()
	ctx := context.Background()
	c := f.admin()
	gs, err := c.Groups(ctx)
	must(t, err)
	all, ok := metabase.FindMagicGroup(gs, metabase.MagicAllUsers)
	if !ok {
		t.Fatalf("no All Users group among %v", gs)
	}
	cg, err := c.CollectionGraph(ctx)
	must(t, err)
	for _, id := range []int{st.XrayCollectionID, st.DashboardCollectionID} {
		if got := cg.Groups[strconv.Itoa(all.ID)][strconv.Itoa(id)]; id > 0 && got != "read" {
			t.Errorf("All Users has %q on collection %d, want exactly \"read\" (View, not Curate)", got, id)
		}
	}
}

// assertDashboardIsOurs checks the state's dashboard path is the saved X-ray, whatever id it got (from 0.64
// the Example Dashboard of the sample content is id 1).
func assertDashboardIsOurs(t *testing.T, f *fixture, st *State) {
	t.Helper()
	d, err := f.admin().Dashboard(context.Background(), st.DashboardID)
	must(t, err)
	if !strings.Contains(strings.ToLower(d.Name), "invoices") || st.DashboardPath != d.Path() {
		t.Errorf("the state's dashboard is %q at %s (path %s), want the Invoices X-ray", d.Name, d.Path(), st.DashboardPath)
	}
}

// TestResumeAfterEveryStepOnEveryGeneration stops a run after each step, as `q` or Ctrl+C between steps
// would, then does what the wizard does on the next start: Survey, then Run. Survey must treat the steps
// not run yet as pending, never as failures (issue 11), and the resumed run must finish with the writes of
// one run and no duplicates.
func TestResumeAfterEveryStepOnEveryGeneration(t *testing.T) {
	for _, g := range metabasetest.Generations() {
		t.Run(g.Tag(), func(t *testing.T) {
			for k, stop := range runOrder[:len(runOrder)-1] {
				t.Run("after "+stop, func(t *testing.T) {
					f := newFixture(t, generationOptions(g), acme, globex)
					st, err := LoadState(f.dir)
					must(t, err)
					p, err := New(f.cfg, st, Options{StateDir: f.dir})
					must(t, err)
					for _, id := range runOrder[:k+1] {
						if err := p.RunStep(context.Background(), id, nil); err != nil {
							t.Fatalf("step %s: %v", id, err)
						}
					}

					st, err = LoadState(f.dir)
					must(t, err)
					p, err = New(f.cfg, st, Options{StateDir: f.dir})
					must(t, err)
					var surveyed []Event
					if err := p.Survey(context.Background(), func(e Event) { surveyed = append(surveyed, e) }); err != nil {
						t.Fatalf("Survey after stopping at %s: %v\n%s", stop, err, describe(surveyed))
					}
					if e, bad := failed(surveyed); bad {
						t.Fatalf("Survey reported a failure: %v", e.Err)
					}
					done := outcome(surveyed)
					for _, id := range runOrder[:k+1] {
						if s, _ := p.step(id); !s.Checkpoint && done[id] != StepAlreadyDone {
							t.Errorf("Survey: step %s, run before the stop, is %v, want already done", id, done[id])
						}
					}
					for _, id := range runOrder[k+1:] {
						if done[id] == StepAlreadyDone {
							t.Errorf("Survey: step %s, not run yet, reads as done", id)
						}
					}
					var events []Event
					if err := p.Run(context.Background(), func(e Event) { events = append(events, e) }); err != nil {
						t.Fatalf("resumed run: %v\n%s", err, describe(events))
					}
					assertNoDuplicates(t, f)
					assertCollectionView(t, f, p.State())
				})
			}
		})
	}
}

// TestNoTenantExposureAtAnyStop stops after each step and checks, as a tenant's user would find out, that
// nobody can sign in to a tenant group that still sees more than its rows: JWT sign-in is live only once
// every tenant group is sandboxed.
func TestNoTenantExposureAtAnyStop(t *testing.T) {
	for k, stop := range runOrder {
		t.Run("after "+stop, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{}, acme, globex)
			p, err := New(f.cfg, nil, Options{StateDir: f.dir})
			must(t, err)
			for _, id := range runOrder[:k+1] {
				must(t, p.RunStep(context.Background(), id, nil))
			}
			st := p.State()
			if st.JWTSecret == "" {
				return // no key, no sign-in
			}
			for _, ts := range st.Tenants {
				rows := queryAs(t, f, st, ts)
				for _, acct := range rows {
					if acct != strconv.Itoa(ts.AccountID) {
						t.Fatalf("stopped after %s, %s signs in and sees account %s's rows", stop, ts.DemoUser.Email, acct)
					}
				}
			}
		})
	}
}

// TestPasswordIsSavedBeforeSetup kills the run while POST /api/setup is under way (the request reaches
// Metabase, the answer never comes back) and signs in with the password from the state file.
func TestPasswordIsSavedBeforeSetup(t *testing.T) {
	f := newFixture(t, metabasetest.Options{}, acme)
	f.cfg.AdminPassword = "Gen3rated-admin-pw-" + strconv.Itoa(os.Getpid())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sentSetup atomic.Bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/setup" {
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err == nil {
				resp.Body.Close()
			}
			sentSetup.Store(true)
			cancel() // the process dies before it reads the answer
			return nil, context.Canceled
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	p, err := New(f.cfg, nil, Options{StateDir: f.dir, HTTPClient: hc})
	must(t, err)
	if err := p.Run(ctx, nil); err == nil || !sentSetup.Load() {
		t.Fatalf("the run was not cut during setup: %v", err)
	}
	st, err := LoadState(f.dir)
	must(t, err)
	if st.Config.AdminPassword != f.cfg.AdminPassword {
		t.Fatalf("the state file does not hold the admin password sent to setup")
	}
	c, err := metabase.New(f.srv.URL)
	must(t, err)
	if err := c.Login(context.Background(), st.Config.AdminEmail, st.Config.AdminPassword); err != nil {
		t.Fatalf("cannot sign in with the saved password: %v", err)
	}
	// And the next run (from the saved state) finishes.
	f.cfg = st.Config
	f.mustRun()
}

// TestUnsavablePasswordStopsBeforeSetup: a state directory that cannot be written stops the run before
// POST /api/setup, so no admin account exists whose password nobody kept.
func TestUnsavablePasswordStopsBeforeSetup(t *testing.T) {
	f := newFixture(t, metabasetest.Options{}, acme)
	file := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(file, nil, 0o600))
	p, err := New(f.cfg, nil, Options{StateDir: filepath.Join(file, "state")})
	must(t, err)
	var events []Event
	err = p.Run(context.Background(), func(e Event) { events = append(events, e) })
	if err == nil || !strings.Contains(err.Error(), "save the admin password") {
		t.Fatalf("run = %v, want it to stop on saving the password", err)
	}
	for _, r := range f.srv.Requests() {
		if r.Path == "/api/setup" {
			t.Fatalf("POST /api/setup was sent although the password could not be saved")
		}
	}
	if e, _ := failed(events); !strings.Contains(e.Hint, "Nothing was changed") {
		t.Errorf("hint %q does not say nothing was changed", e.Hint)
	}
}

// TestWeakJWTKeyFromMetabase: Metabase's random_token answering a short (or empty) key is asked once more;
// twice short fails clearly, keeps nothing, and does not wedge the next run.
func TestWeakJWTKeyFromMetabase(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults int
		ok     bool
	}{
		{"one short answer", 1, true},
		{"two empty answers", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{}, acme)
			body := `{"token":"ab"}`
			if !tc.ok {
				body = `{"token":""}`
			}
			f.srv.InjectFault(metabasetest.Fault{Method: http.MethodGet, Path: "/api/util/random_token", Status: 200, Body: body, Times: tc.faults})
			p, _, err := f.run(context.Background(), nil)
			if tc.ok {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				if ValidateJWTKey(p.State().JWTSecret) != nil {
					t.Fatalf("kept a weak key of %d characters", len(p.State().JWTSecret))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "shorter than") {
				t.Fatalf("run = %v, want a clear failure on the short key", err)
			}
			st, _ := LoadState(f.dir)
			if st.JWTSecret != "" {
				t.Fatalf("saved a weak key of %d characters", len(st.JWTSecret))
			}
			f.mustRun() // the next run is not wedged
		})
	}
}

// TestTenantOnAMagicGroupOfTheInstance refuses a tenant whose group name is a group the instance marks
// magic, even one not in the built-in list, before anything is written to it.
func TestTenantOnAMagicGroupOfTheInstance(t *testing.T) {
	f := newFixture(t, metabasetest.Options{}, Tenant{Name: "Administrators", AccountID: 5})
	if _, err := New(f.cfg, nil, Options{}); err == nil || !IsValidation(err) {
		t.Fatalf("New accepted a tenant named Administrators: %v", err)
	}
}

// TestDryRunWritesNothing runs the dry run on a fresh, a half-configured and a configured Metabase: zero
// writes in the emulator's request log every time, and the right verdict.
func TestDryRunWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		upTo     int // steps run before the dry run; -1 none
		pending  bool
		mentions []string
	}{
		{"half configured", stepIndex(StepEmbedding), true, []string{"All Users: Sample Database view data → Blocked", "create the group \"Customer Acme\"", "jwt-enabled"}},
		{"configured", len(runOrder) - 1, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{}, acme)
			p, err := New(f.cfg, nil, Options{StateDir: f.dir})
			must(t, err)
			for _, id := range runOrder[:tc.upTo+1] {
				must(t, p.RunStep(context.Background(), id, nil))
			}
			f.srv.ResetRequests()
			st, _ := LoadState(f.dir)
			p, err = New(f.cfg, st, Options{StateDir: f.dir})
			must(t, err)
			r, err := p.DryRun(context.Background())
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if w := writes(f.srv.Requests()); len(w) > 0 {
				t.Fatalf("the dry run wrote: %v", w)
			}
			if r.Pending() != tc.pending {
				t.Errorf("Pending = %v, want %v: %+v", r.Pending(), tc.pending, r)
			}
			var all []string
			for _, s := range r.Steps {
				all = append(all, s.Writes...)
			}
			text := strings.Join(all, "\n")
			for _, m := range tc.mentions {
				if !strings.Contains(text, m) {
					t.Errorf("the dry run does not say %q:\n%s", m, text)
				}
			}
			if strings.Contains(text, metabasetest.TestLicenseToken) || strings.Contains(text, testAdminPassword) || (st.JWTSecret != "" && strings.Contains(text, st.JWTSecret)) {
				t.Errorf("the dry run shows a secret:\n%s", text)
			}
		})
	}
	t.Run("fresh", func(t *testing.T) {
		f := newFixture(t, metabasetest.Options{}, acme)
		p, err := New(f.cfg, nil, Options{})
		must(t, err)
		r, err := p.DryRun(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if w := writes(f.srv.Requests()); len(w) > 0 {
			t.Fatalf("the dry run wrote: %v", w)
		}
		if !r.Pending() || len(r.Steps) != 8 || r.Steps[len(r.Steps)-1].After == "" {
			t.Errorf("fresh dry run: %+v", r)
		}
	})
}

// TestAuditFindsAHalfConfiguredInstall: stopped before the sandbox, the audit names what is missing; on a
// configured Metabase it passes, with zero writes.
func TestAuditFindsAHalfConfiguredInstall(t *testing.T) {
	f := newFixture(t, metabasetest.Options{}, acme, globex)
	p, err := New(f.cfg, nil, Options{StateDir: f.dir})
	must(t, err)
	for _, id := range runOrder[:stepIndex(StepGroups)+1] {
		must(t, p.RunStep(context.Background(), id, nil))
	}
	r, err := p.Audit(context.Background())
	must(t, err)
	var missing []string
	for _, it := range r.Missing() {
		missing = append(missing, it.Step.ID)
	}
	if r.OK() || !slices.Contains(missing, StepSandbox) || !slices.Contains(missing, StepJWT) {
		t.Errorf("audit of a half-configured install: missing %v, want sandbox and jwt among them", missing)
	}

	must(t, p.Run(context.Background(), nil))
	f.srv.ResetRequests()
	r, err = p.Audit(context.Background())
	must(t, err)
	if !r.OK() {
		t.Errorf("audit of a configured install: %+v", r.Missing())
	}
	if w := writes(f.srv.Requests()); len(w) > 0 {
		t.Errorf("the audit wrote: %v", w)
	}
}

// TestMFAChallengePointsToTheAPIKey: a password login answered by a second-factor challenge says so and
// points to EMBEDWIZARD_API_KEY; with an admin API key (X-API-Key, not subject to MFA) the whole plan then
// runs, checkpoints included, and a second run writes nothing.
func TestMFAChallengePointsToTheAPIKey(t *testing.T) {
	f := newFixture(t, metabasetest.Options{Version: metabasetest.Gen60.Tag(), MFA: true}, acme)
	c := f.setUp() // setup itself answers with a session
	_, events, err := f.run(context.Background(), nil)
	if !errors.Is(err, metabase.ErrMFARequired) {
		t.Fatalf("run = %v, want ErrMFARequired", err)
	}
	if e, _ := failed(events); !strings.Contains(e.Hint, "EMBEDWIZARD_API_KEY") || !strings.Contains(e.Hint, "MFA") {
		t.Errorf("hint %q does not say MFA and point to EMBEDWIZARD_API_KEY", e.Hint)
	}

	ctx := context.Background()
	gs, err := c.Groups(ctx)
	must(t, err)
	admins, ok := metabase.FindMagicGroup(gs, metabase.MagicAdmin)
	if !ok {
		t.Fatal("no Administrators group")
	}
	k, err := c.CreateAPIKey(ctx, "embedwizard", admins.ID)
	must(t, err)
	f.cfg.AdminPassword, f.cfg.APIKey = "", k.UnmaskedKey
	f.mustRun()
	f.srv.ResetRequests()
	f.mustRun()
	if w := writes(f.srv.Requests()); len(w) > 0 {
		t.Errorf("second run with the API key wrote %v", w)
	}
	for _, r := range f.srv.Requests() {
		if r.Path == "/api/session" {
			t.Errorf("the plan tried a password login with an API key given")
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestReadyMeansPropertiesToo: /api/health says ok but /api/session/properties still fails (an Enterprise
// boot resetting connections): the plan waits for both before its first write.
func TestReadyMeansPropertiesToo(t *testing.T) {
	f := newFixture(t, metabasetest.Options{}, acme)
	f.srv.InjectFault(metabasetest.Fault{Method: http.MethodGet, Path: "/api/session/properties", Status: http.StatusServiceUnavailable,
		Body: "Metabase is still initializing", Times: 3})
	p, err := New(f.cfg, nil, Options{StateDir: f.dir, PollInterval: time.Millisecond})
	must(t, err)
	var events []Event
	if err := p.Run(context.Background(), func(e Event) { events = append(events, e) }); err != nil {
		t.Fatalf("run: %v\n%s", err, describe(events))
	}
	props, lastFailed, firstWrite := 0, -1, -1
	for i, r := range f.srv.Requests() {
		if r.Path == "/api/session/properties" && r.Status == http.StatusServiceUnavailable {
			props, lastFailed = props+1, i
		}
		if firstWrite < 0 && len(writes([]metabasetest.Request{r})) > 0 {
			firstWrite = i
		}
	}
	if props != 3 {
		t.Errorf("the plan asked /api/session/properties %d times while it failed, want 3 (then waited for it)", props)
	}
	if firstWrite < lastFailed {
		t.Errorf("the first write (request %d) came before Metabase answered its properties (request %d)", firstWrite, lastFailed)
	}
	if !strings.Contains(describe(events), "not yet /api/session/properties") {
		t.Errorf("the plan does not say what it waits for:\n%s", describe(events))
	}
}

// TestSSOWithoutTheLicenseSaysLicense: JWT configured but the license gone, Metabase answers 400
// error-sso-disabled; the checkpoint's hint names the license.
func TestSSOWithoutTheLicenseSaysLicense(t *testing.T) {
	f := newFixture(t, metabasetest.Options{}, acme)
	f.mustRun()
	f.srv.InjectFault(metabasetest.Fault{Method: http.MethodGet, Path: "/auth/sso", Status: http.StatusBadRequest,
		Body: `{"message":"SSO has not been enabled and/or configured","status":"error-sso-disabled"}`})
	st, _ := LoadState(f.dir)
	p, err := New(f.cfg, st, Options{StateDir: f.dir})
	must(t, err)
	var events []Event
	err = p.RunStep(context.Background(), StepCheckpointSSO, func(e Event) { events = append(events, e) })
	e, ok := failed(events)
	if err == nil || !ok || !strings.Contains(e.Hint, "license") {
		t.Fatalf("hint %q (err %v) does not name the license", e.Hint, err)
	}
}

// TestTenantGroupsAreNeverOpen stops after each step and looks at the data graph as an admin: a tenant
// group that exists is blocked or sandboxed on the Sample Database, never more (new groups copy All Users'
// permissions, so All Users is blocked first).
func TestTenantGroupsAreNeverOpen(t *testing.T) {
	for _, g := range []metabasetest.Generation{metabasetest.Gen52, metabasetest.Gen64} {
		for k, stop := range runOrder[:stepIndex(StepJWT)+1] {
			t.Run(g.Tag()+" after "+stop, func(t *testing.T) {
				f := newFixture(t, generationOptions(g), acme, globex)
				p, err := New(f.cfg, nil, Options{StateDir: f.dir})
				must(t, err)
				for _, id := range runOrder[:k+1] {
					must(t, p.RunStep(context.Background(), id, nil))
				}
				c := f.admin()
				groups, err := c.Groups(context.Background())
				must(t, err)
				graph, err := c.PermissionsGraph(context.Background())
				must(t, err)
				st := p.State()
				if st.SampleDatabaseID == 0 {
					return
				}
				md, err := c.DatabaseMetadata(context.Background(), st.SampleDatabaseID)
				must(t, err)
				d := newDialect(metabase.Properties{Version: metabase.VersionInfo{Tag: g.Tag()}})
				for _, ts := range st.Tenants {
					grp, ok := metabase.FindGroup(groups, ts.GroupName())
					if !ok {
						continue
					}
					perms := graph.Groups[strconv.Itoa(grp.ID)][strconv.Itoa(st.SampleDatabaseID)]
					inv, _ := md.TableByID(st.InvoicesTableID)
					acct, _ := md.TableNamed("ACCOUNTS")
					if !d.isBlocked(perms) && !d.isSandboxed(perms, md, inv) && !d.isSandboxed(perms, md, inv, acct) {
						t.Errorf("stopped after %s, group %q has %v on the Sample Database: more than the guide grants", stop, grp.Name, perms)
					}
				}
			})
		}
	}
}

// TestJoinedTableIsSandboxedNotUnblocked: the X-ray's cards read Accounts through Invoices' Account ID. The
// sandbox step sandboxes Accounts on the tenant's account (ACCOUNTS.ID = account_id) rather than unblocking
// it; without that sandbox a card fails for the tenant, and the checkpoint names it with Metabase's message.
func TestJoinedTableIsSandboxedNotUnblocked(t *testing.T) {
	f := newFixture(t, metabasetest.Options{}, acme)
	_, events := f.mustRun()
	st, _ := LoadState(f.dir)
	c := f.admin()
	ctx := context.Background()
	md, err := c.DatabaseMetadata(ctx, st.SampleDatabaseID)
	must(t, err)
	accounts, ok := md.TableNamed("ACCOUNTS")
	if !ok {
		t.Skip("the emulator's Sample Database has no ACCOUNTS table")
	}
	idField, _ := accounts.FieldNamed("ID")
	var acctSandbox *metabase.Sandbox
	for _, sb := range sandboxesOf(t, c, st.Tenants[0].GroupID) {
		if sb.TableID == accounts.ID {
			acctSandbox = &sb
		}
	}
	if acctSandbox == nil {
		if !strings.Contains(describe(events), "Accounts") {
			t.Skip("the dashboard's cards do not join Accounts here")
		}
		t.Fatalf("the cards join Accounts but the tenant has no Accounts sandbox")
	}
	if !remapsTo(acctSandbox.AttributeRemappings, idField.ID) {
		t.Errorf("the Accounts sandbox filters %v, want ACCOUNTS.ID (field %d) = %s", acctSandbox.AttributeRemappings, idField.ID, AccountAttribute)
	}
	if !strings.Contains(describe(events), "Invoices and Accounts sandboxed") {
		t.Errorf("the sandbox step does not say which tables it sandboxes:\n%s", describe(events))
	}

	// Take the Accounts sandbox away (Accounts back to blocked): a card that joins it must fail by name.
	must(t, c.DeleteSandbox(ctx, acctSandbox.ID))
	graph, err := c.PermissionsGraph(ctx)
	must(t, err)
	gid, db := strconv.Itoa(st.Tenants[0].GroupID), strconv.Itoa(st.SampleDatabaseID)
	inv, _ := md.TableByID(st.InvoicesTableID)
	d := newDialect(metabase.Properties{})
	_, err = c.UpdatePermissionsGraph(ctx, metabase.PermissionsGraph{Revision: graph.Revision,
		Groups: map[string]map[string]metabase.DBPermissions{gid: {db: d.sandboxDB(md, inv)}}})
	must(t, err)
	p, err := New(f.cfg, st, Options{StateDir: f.dir})
	must(t, err)
	var cp []Event
	err = p.RunStep(ctx, StepCheckpointSandbox, func(e Event) { cp = append(cp, e) })
	if e, bad := failed(cp); err == nil || !bad || !strings.Contains(e.Err.Error(), "the dashboard card") {
		t.Fatalf("checkpoint with Accounts blocked = %v, want a failing card named\n%s", err, describe(cp))
	}
	// A rerun puts the sandbox back and every card loads again.
	f.mustRun()
}

// TestWeakAdminPasswordHint: Metabase refuses a common password in setup's nested error shape
// ({"errors": {"user": {"password": …}}}); the hint says what to do and no event repeats the password.
func TestWeakAdminPasswordHint(t *testing.T) {
	for _, g := range []metabasetest.Generation{metabasetest.Gen52, metabasetest.Gen64} {
		t.Run(g.Tag(), func(t *testing.T) {
			f := newFixture(t, generationOptions(g), acme)
			f.cfg.AdminPassword = "password"
			_, events, err := f.run(context.Background(), nil)
			e, ok := failed(events)
			if err == nil || !ok || e.Step.ID != StepSetup {
				t.Fatalf("run = %v, want the setup step to fail\n%s", err, describe(events))
			}
			if !strings.Contains(e.Hint, "too weak") {
				t.Errorf("hint %q is not the weak-password hint (error %v)", e.Hint, e.Err)
			}
			if strings.Contains(describe(events), `"password"`) || strings.Contains(e.Err.Error(), "received") {
				t.Errorf("the failure repeats what Metabase refused: %v", e.Err)
			}
		})
	}
}

// TestLoadStateCleansUp: a save killed half way leaves a temp file with secrets, and a state dir may have
// been made readable by others. Loading the state narrows the dir to 0700 but leaves the temp file, which may
// be another run's save in progress; CleanInterruptedSaves, called under the lock, removes it.
func TestLoadStateCleansUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	must(t, (&State{JWTSecret: strings.Repeat("ab", 32)}).Save(dir))
	left := filepath.Join(dir, ".state.json-4242.tmp")
	must(t, os.WriteFile(left, []byte(`{"jwt_secret":"leaked"}`), 0o600))
	must(t, os.Chmod(dir, 0o755))
	st, err := LoadState(dir)
	must(t, err)
	if st.JWTSecret == "" {
		t.Fatal("the state itself was lost")
	}
	if _, err := os.Stat(left); err != nil {
		t.Errorf("LoadState, a reader, removed a temp file that may be a save in progress (%v)", err)
	}
	must(t, CleanInterruptedSaves(dir))
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the killed save's temp file is still there (%v)", err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", fi.Mode().Perm())
	}
}
