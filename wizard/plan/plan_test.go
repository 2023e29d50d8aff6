package plan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

var (
	acme   = DefaultTenant
	globex = Tenant{Name: "Customer-Globex", AccountID: 13}
)

func TestRunConfiguresFreshMetabase(t *testing.T) {
	tests := []struct {
		name    string
		tenants []Tenant
	}{
		{"the guide's tenant", nil},
		{"two tenants", []Tenant{acme, globex}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{}, tt.tenants...)
			p, events := f.mustRun()

			got := outcome(events)
			for _, s := range p.Steps() {
				want := StepDone
				if s.Checkpoint {
					want = StepVerified
				}
				if got[s.ID] != want {
					t.Errorf("step %s ended %v, want %v\n%s", s.ID, got[s.ID], want, describe(events))
				}
			}
			checks := allChecks(events)
			for _, ts := range p.State().Tenants {
				want := fmt.Sprintf("%s sees %d Invoices rows, all of account %d", ts.DemoEmail(), invoiceRows(ts.AccountID), ts.AccountID)
				if !strings.Contains(checks, want) {
					t.Errorf("checkpoints did not report %q:\n%s", want, checks)
				}
			}
			for _, want := range []string{"a user of no tenant", "carries logo=false&top_nav=false"} {
				if !strings.Contains(checks, want) {
					t.Errorf("checkpoints did not report %q:\n%s", want, checks)
				}
			}
			if m := stateMode(t, f.dir); m != 0o600 {
				t.Errorf("state file mode %o, want 600", m)
			}
			st, err := LoadState(f.dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.DashboardPath == "" || st.JWTSecret == "" || len(st.Tenants) != max(1, len(tt.tenants)) {
				t.Fatalf("saved state lacks the dashboard, the key or tenants: %+v", st)
			}
			for _, ts := range st.Tenants {
				if ts.GroupID == 0 || ts.DemoUser.Password == "" {
					t.Errorf("tenant %s saved without group or demo password: %+v", ts.Name, ts)
				}
				// Independently of the checkpoint: sign in as the host app would and query Invoices.
				rows := queryAs(t, f, st, ts)
				if len(rows) == 0 {
					t.Errorf("%s sees no Invoices rows", ts.DemoEmail())
				}
				for _, acct := range rows {
					if acct != strconv.Itoa(ts.AccountID) {
						t.Errorf("%s sees a row of account %s", ts.DemoEmail(), acct)
						break
					}
				}
			}
		})
	}
}

// invoiceRows is how many Invoices rows the emulator's sample has for an account.
func invoiceRows(account int) int {
	return map[int]int{28: 19, 13: 27}[account]
}

// queryAs signs a JWT with the host app's claims (written out here, not with the code under test), follows
// /auth/sso and returns the ACCOUNT_ID of every Invoices row the user sees.
func queryAs(t *testing.T, f *fixture, st *State, ts TenantState) []string {
	t.Helper()
	now := time.Now()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"email": ts.DemoEmail(), "first_name": "Q", "last_name": "A", "groups": []string{ts.Name},
		"account_id": strconv.Itoa(ts.AccountID), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}).SignedString([]byte(st.JWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := metabase.New(f.srv.URL)
	res, err := c.SSO(context.Background(), token, st.DashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.As(res.Session).RunQuery(context.Background(), metabase.TableQuery(st.SampleDatabaseID, st.InvoicesTableID, 2000))
	if err != nil {
		t.Fatal(err)
	}
	col := q.Column("ACCOUNT_ID")
	var out []string
	for _, r := range q.Data.Rows {
		out = append(out, cellString(r[col]))
	}
	return out
}

func TestSecondRunWritesNothing(t *testing.T) {
	tests := []struct {
		name   string
		second func(f *fixture) // changes the configuration of the second run
	}{
		{"same configuration", func(*fixture) {}},
		{"admin API key instead of the password", func(f *fixture) {
			k, err := f.admin().CreateAPIKey(context.Background(), "embedwizard-test", 2)
			if err != nil {
				t.Fatal(err)
			}
			f.cfg.AdminPassword, f.cfg.APIKey = "", k.UnmaskedKey
		}},
		{"license already active, no token given", func(f *fixture) { f.cfg.LicenseToken = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{}, acme, globex)
			start := time.Now()
			first, _ := f.mustRun()
			firstTook := time.Since(start)
			tt.second(f)
			f.srv.ResetRequests()

			start = time.Now()
			p, events := f.mustRun()
			firstCalls, firstWrites := first.APICalls()
			calls, _ := p.APICalls()
			t.Logf("fresh run: %d API calls (%d writes) in %s; second run: %d API calls (0 writes) in %s",
				firstCalls, firstWrites, firstTook.Round(time.Millisecond), calls, time.Since(start).Round(time.Millisecond))
			if w := writes(f.srv.Requests()); len(w) > 0 {
				t.Errorf("second run wrote to Metabase: %v", w)
			}
			if _, w := p.APICalls(); w != 0 {
				t.Errorf("APICalls counts %d writes, want 0", w)
			}
			for id, kind := range outcome(events) {
				s, _ := p.step(id)
				if want := map[bool]EventKind{false: StepAlreadyDone, true: StepVerified}[s.Checkpoint]; kind != want {
					t.Errorf("second run: step %s ended %v, want %v", id, kind, want)
				}
			}
		})
	}
}

func TestResumeAfterInterrupt(t *testing.T) {
	base := newFixture(t, metabasetest.Options{}, acme, globex)
	base.mustRun()
	freshWrites := writes(base.srv.Requests())

	for _, s := range base.planFor(t).Steps() {
		t.Run("after "+s.ID, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{}, acme, globex)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, events, err := f.run(ctx, func(e Event) {
				if e.Step.ID == s.ID && (e.Kind == StepDone || e.Kind == StepVerified) {
					cancel() // as Ctrl+C right after the step
				}
			})
			last := s.ID == StepCheckpointSandbox
			if !last {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted run returned %v, want context.Canceled", err)
				}
				if e, ok := failed(events); !ok || !strings.Contains(e.Hint, "resumes") {
					t.Errorf("interrupted step's hint %q does not say the run resumes", e.Hint)
				}
			}

			_, resumed, err := f.run(context.Background(), nil)
			if err != nil {
				t.Fatalf("resumed run: %v\n%s", err, describe(resumed))
			}
			got := outcome(resumed)
			for _, done := range f.planFor(t).Steps() {
				if !done.Checkpoint && got[done.ID] != StepAlreadyDone && stepIndex(done.ID) <= stepIndex(s.ID) {
					t.Errorf("resumed run: step %s before the interruption ended %v, want already done", done.ID, got[done.ID])
				}
			}
			if w := writes(f.srv.Requests()); !slices.Equal(w, freshWrites) {
				t.Errorf("interrupted + resumed runs wrote\n  %v\nwant what one run writes\n  %v", w, freshWrites)
			}
			assertNoDuplicates(t, f)
		})
	}
}

func (f *fixture) planFor(t *testing.T) *Plan {
	p, err := New(f.cfg, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runOrder is the order the steps run in: tenants restricted before JWT sign-in goes live.
var runOrder = []string{StepSetup, StepLicense, StepDashboard, StepEmbedding, StepPermissions, StepGroups, StepSandbox,
	StepJWT, StepCheckpointSSO, StepCheckpointGroups, StepCheckpointSandbox}

func stepIndex(id string) int {
	return slices.Index(runOrder, id)
}

// assertNoDuplicates checks Metabase holds one X-ray dashboard, one group per tenant and one sandbox each.
func assertNoDuplicates(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	c := f.admin()
	coll, ok, err := c.XrayCollection(ctx)
	if err != nil || !ok {
		t.Fatalf("X-ray collection: %v %v", ok, err)
	}
	// The dashboard's own collection: the container, or on old versions a sub-collection of it, and
	// there one X-ray per save.
	id := coll.NumericID()
	if st, err := LoadState(f.dir); err == nil && st.DashboardCollectionID > 0 {
		id = st.DashboardCollectionID
	}
	items, err := c.CollectionItems(ctx, id, "dashboard")
	if err != nil || len(items) != 1 {
		t.Errorf("X-ray collection %d holds %d dashboards (%v), want 1", id, len(items), err)
	}
	if subs, err := c.Collections(ctx); err == nil {
		n := 0
		for _, s := range subs {
			if s.Location == "/"+strconv.Itoa(coll.NumericID())+"/" && !s.Archived {
				n++
			}
		}
		if n > 1 {
			t.Errorf("%d X-ray sub-collections, want at most 1", n)
		}
	}
	groups, err := c.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range f.cfg.Tenants {
		n := 0
		for _, g := range groups {
			if strings.EqualFold(g.Name, tn.GroupName()) {
				n++
				sbs := sandboxesOf(t, c, g.ID)
				perTable := map[int]int{}
				for _, sb := range sbs {
					perTable[sb.TableID]++
				}
				if len(sbs) == 0 {
					t.Errorf("group %q has no sandbox", g.Name)
				}
				for table, k := range perTable {
					if k != 1 {
						t.Errorf("group %q has %d sandboxes of table %d, want 1", g.Name, k, table)
					}
				}
			}
		}
		if n != 1 {
			t.Errorf("%d groups named %q, want 1", n, tn.GroupName())
		}
	}
}

// sandboxesOf lists a group's sandboxes (GET /api/mt/gtap filters only when given both ids).
func sandboxesOf(t *testing.T, c *metabase.Client, groupID int) []metabase.Sandbox {
	t.Helper()
	all, err := c.Sandboxes(context.Background(), 0, 0)
	must(t, err)
	return slices.DeleteFunc(all, func(s metabase.Sandbox) bool { return s.GroupID != groupID })
}

func TestMetabaseFailsMidPlan(t *testing.T) {
	const boom = "Boom: the application database is locked"
	tests := []struct {
		method, path string
		step         string
	}{
		{http.MethodPost, "/api/setup", StepSetup},
		{http.MethodPut, "/api/setting/premium-embedding-token", StepLicense},
		{http.MethodPost, "/api/dashboard/save", StepDashboard},
		{http.MethodPut, "/api/setting", StepEmbedding},
		{http.MethodGet, "/api/util/random_token", StepJWT},
		{http.MethodGet, "/auth/sso", StepCheckpointSSO},
		{http.MethodPost, "/api/permissions/group", StepGroups},
		{http.MethodPut, "/api/permissions/graph", StepPermissions},
		{http.MethodGet, "/api/mt/gtap", StepSandbox},
		{http.MethodPost, "/api/dataset", StepCheckpointSandbox},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{})
			f.srv.InjectFault(metabasetest.Fault{Method: tt.method, Path: tt.path, Status: http.StatusInternalServerError,
				Body: `{"message":"` + boom + `"}`, Times: 1})
			_, events, err := f.run(context.Background(), nil)
			e, ok := failed(events)
			if err == nil || !ok {
				t.Fatalf("run passed despite a 500 on %s %s", tt.method, tt.path)
			}
			if e.Step.ID != tt.step {
				t.Errorf("failed step %s, want %s", e.Step.ID, tt.step)
			}
			var ae *metabase.APIError
			if !errors.As(e.Err, &ae) || ae.Status != http.StatusInternalServerError || ae.Message != boom {
				t.Errorf("error %v does not carry Metabase's status and message", e.Err)
			}
			if !strings.Contains(e.Hint, "embedwizard logs") || !strings.Contains(e.Hint, "resumes") {
				t.Errorf("hint %q does not say where to look and that a rerun resumes", e.Hint)
			}
			if _, err := LoadState(f.dir); err != nil || stateMode(t, f.dir) != 0o600 {
				t.Errorf("state not saved after the failure: %v", err)
			}
			if _, events, err := f.run(context.Background(), nil); err != nil {
				t.Fatalf("rerun: %v\n%s", err, describe(events))
			}
			assertNoDuplicates(t, f)
		})
	}
}

func TestMetabaseGoesAway(t *testing.T) {
	db := filepath.Join(t.TempDir(), "metabase.db")
	f := newFixture(t, metabasetest.Options{DBFile: db}, acme, globex)
	_, events, err := f.run(context.Background(), func(e Event) {
		if e.Step.ID == StepDashboard && e.Kind == StepDone {
			f.srv.Close()
		}
	})
	e, ok := failed(events)
	if err == nil || !ok || e.Step.ID != StepEmbedding {
		t.Fatalf("want the step after the dashboard to fail, got %v\n%s", err, describe(events))
	}
	if !strings.Contains(e.Hint, "stopped answering") || !strings.Contains(e.Hint, f.cfg.MetabaseURL) {
		t.Errorf("hint %q does not say Metabase at %s stopped answering", e.Hint, f.cfg.MetabaseURL)
	}
	st, _ := LoadState(f.dir)
	if st.DashboardID == 0 || st.Steps[StepDashboard].Done != true {
		t.Errorf("state after the failure lost the finished dashboard step: %+v", st)
	}

	// Metabase comes back (same app database, another port): the rerun finishes without a second dashboard.
	f.srv = metabasetest.NewServer(metabasetest.Options{DBFile: db})
	t.Cleanup(f.srv.Close)
	f.cfg.MetabaseURL = f.srv.URL
	p, events := f.mustRun()
	if got := outcome(events)[StepDashboard]; got != StepAlreadyDone {
		t.Errorf("dashboard step after coming back ended %v, want already done", got)
	}
	if p.State().DashboardID != st.DashboardID {
		t.Errorf("dashboard id changed from %d to %d", st.DashboardID, p.State().DashboardID)
	}
	assertNoDuplicates(t, f)
}

func TestHandConfiguredHalfWay(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, c *metabase.Client) int // returns an id to compare with afterwards
		check   func(t *testing.T, f *fixture, c *metabase.Client, id int)
	}{
		{
			name: "other authorized origins are kept",
			prepare: func(t *testing.T, c *metabase.Client) int {
				must(t, c.SetSettings(ctx, map[string]any{metabase.SettingEnableEmbeddingInteractive: true,
					metabase.SettingEmbeddingOriginsInteractive: "https://other.example"}))
				return 0
			},
			check: func(t *testing.T, f *fixture, c *metabase.Client, _ int) {
				var origins string
				must(t, c.Setting(ctx, metabase.SettingEmbeddingOriginsInteractive, &origins))
				if got := strings.Fields(origins); !slices.Contains(got, "https://other.example") || !slices.Contains(got, "http://127.0.0.1:8080") {
					t.Errorf("authorized origins %q, want both https://other.example and http://127.0.0.1:8080", origins)
				}
			},
		},
		{
			name: "other JWT group mappings are kept",
			prepare: func(t *testing.T, c *metabase.Client) int {
				gs, err := c.Groups(ctx)
				must(t, err)
				admins, _ := metabase.FindMagicGroup(gs, metabase.MagicAdmin)
				must(t, c.SetSettings(ctx, map[string]any{metabase.SettingJWTEnabled: false,
					metabase.SettingJWTGroupSync: true, metabase.SettingJWTGroupMappings: map[string][]int{"Staff": {admins.ID}}}))
				return admins.ID
			},
			check: func(t *testing.T, f *fixture, c *metabase.Client, admins int) {
				var m map[string][]int
				must(t, c.Setting(ctx, metabase.SettingJWTGroupMappings, &m))
				st, _ := LoadState(f.dir)
				if !slices.Equal(m["Staff"], []int{admins}) || !slices.Equal(m["Customer-Acme"], []int{st.Tenants[0].GroupID}) {
					t.Errorf("group mappings %v, want Staff → [%d] kept and Customer-Acme → [%d] added", m, admins, st.Tenants[0].GroupID)
				}
			},
		},
		{
			name: "a group of the same name in lower case is reused",
			prepare: func(t *testing.T, c *metabase.Client) int {
				g, err := c.CreateGroup(ctx, "customer acme")
				must(t, err)
				return g.ID
			},
			check: func(t *testing.T, f *fixture, c *metabase.Client, id int) {
				st, _ := LoadState(f.dir)
				if st.Tenants[0].GroupID != id {
					t.Errorf("tenant group %d, want the existing %d", st.Tenants[0].GroupID, id)
				}
			},
		},
		{
			name: "an existing sandbox is not duplicated",
			prepare: func(t *testing.T, c *metabase.Client) int {
				g, err := c.CreateGroup(ctx, "Customer Acme")
				must(t, err)
				dbs, err := c.Databases(ctx)
				must(t, err)
				md, err := c.DatabaseMetadata(ctx, dbs[0].ID)
				must(t, err)
				inv, _ := md.TableNamed("INVOICES")
				acct, _ := inv.FieldNamed("ACCOUNT_ID")
				// As the admin UI does it: the table sandboxed and the sandbox in one graph update.
				graph, err := c.PermissionsGraph(ctx)
				must(t, err)
				_, err = c.UpdatePermissionsGraph(ctx, metabase.PermissionsGraph{Revision: graph.Revision,
					Groups: map[string]map[string]metabase.DBPermissions{strconv.Itoa(g.ID): {strconv.Itoa(md.ID): {
						"view-data":      map[string]any{inv.Schema: map[string]any{strconv.Itoa(inv.ID): "sandboxed"}},
						"create-queries": map[string]any{inv.Schema: map[string]any{strconv.Itoa(inv.ID): "query-builder"}}}}},
					Sandboxes: []metabase.Sandbox{{GroupID: g.ID, TableID: inv.ID,
						AttributeRemappings: map[string]any{AccountAttribute: metabase.FieldTarget(acct.ID)}}}})
				must(t, err)
				sbs := sandboxesOf(t, c, g.ID)
				if len(sbs) != 1 {
					t.Fatalf("hand-made sandboxes: %+v", sbs)
				}
				return sbs[0].ID
			},
			check: func(t *testing.T, f *fixture, c *metabase.Client, id int) {
				st, _ := LoadState(f.dir)
				// The existing Invoices sandbox is kept, not made twice; a sandbox of a table the cards join
				// to (Accounts) may come next to it.
				var invoices []metabase.Sandbox
				for _, sb := range sandboxesOf(t, c, st.Tenants[0].GroupID) {
					if sb.TableID == st.InvoicesTableID {
						invoices = append(invoices, sb)
					}
				}
				if len(invoices) != 1 || invoices[0].ID != id {
					t.Errorf("Invoices sandboxes %+v, want only the existing %d", invoices, id)
				}
			},
		},
		{
			name: "a dashboard already saved from the X-ray is reused",
			prepare: func(t *testing.T, c *metabase.Client) int {
				tables, err := c.Tables(ctx)
				must(t, err)
				for _, tb := range tables {
					if tb.Name == "INVOICES" {
						x, err := c.XrayTable(ctx, tb.ID)
						must(t, err)
						d, err := c.SaveDashboard(ctx, x)
						must(t, err)
						return d.ID
					}
				}
				t.Fatal("no INVOICES table")
				return 0
			},
			check: func(t *testing.T, f *fixture, c *metabase.Client, id int) {
				st, _ := LoadState(f.dir)
				if st.DashboardID != id {
					t.Errorf("dashboard %d, want the existing %d", st.DashboardID, id)
				}
			},
		},
		{
			name: "a JWT key set by hand is replaced by one embedwizard knows",
			prepare: func(t *testing.T, c *metabase.Client) int {
				must(t, c.SetSettings(ctx, map[string]any{metabase.SettingJWTSharedSecret: strings.Repeat("ab", 32),
					metabase.SettingJWTIdentityProviderURI: "http://127.0.0.1:8080/sso/metabase", metabase.SettingJWTEnabled: true}))
				return 0
			},
			check: func(t *testing.T, f *fixture, c *metabase.Client, _ int) {
				st, _ := LoadState(f.dir)
				if st.JWTSecret == strings.Repeat("ab", 32) || len(st.JWTSecret) != 64 {
					t.Errorf("JWT key not replaced by a generated 64-character one")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{})
			id := tt.prepare(t, f.setUp())
			p, events := f.mustRun()
			if got := outcome(events); got[StepSetup] != StepAlreadyDone || got[StepLicense] != StepAlreadyDone {
				t.Errorf("setup/license on a set-up Metabase ended %v/%v, want already done", got[StepSetup], got[StepLicense])
			}
			tt.check(t, f, f.admin(), id)
			assertNoDuplicates(t, f)
			if len(p.State().Tenants) != 1 {
				t.Fatalf("tenants %+v", p.State().Tenants)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLicenseStopsBeforeAnyWrite(t *testing.T) {
	noSandboxes := slices.DeleteFunc(slices.Clone(metabasetest.DefaultFeatures), func(s string) bool { return s == "sandboxes" })
	noJWT := slices.DeleteFunc(slices.Clone(metabasetest.DefaultFeatures), func(s string) bool { return s == "sso_jwt" })
	// Setup is two writes: the account, then anonymous tracking off (setup turns it on by itself).
	const setup, tracking, token = "POST /api/setup", "PUT /api/setting/anon-tracking-enabled", "PUT /api/setting/premium-embedding-token"
	tests := []struct {
		name       string
		opts       metabasetest.Options
		token      string
		wantWrites []string
		wantErr    string // in the error
		wantHint   string // in the hint
	}{
		{"no license", metabasetest.Options{}, "", []string{setup, tracking},
			"no Pro/Enterprise license", "MB_PREMIUM_EMBEDDING_TOKEN"},
		{"license without sandboxes", metabasetest.Options{Features: noSandboxes}, metabasetest.TestLicenseToken,
			[]string{setup, tracking, token}, "sandboxes (sandboxing", "Pro or Enterprise"},
		{"license without JWT", metabasetest.Options{Features: noJWT}, metabasetest.TestLicenseToken,
			[]string{setup, tracking, token}, "sso_jwt (JWT", "Pro or Enterprise"},
		{"token refused by the license check", metabasetest.Options{InvalidTokens: []string{strings.Repeat("0", 64)}},
			strings.Repeat("0", 64), []string{setup, tracking, token}, "400", "token-check.metabase.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opts)
			f.cfg.LicenseToken = tt.token
			_, events, err := f.run(context.Background(), nil)
			e, ok := failed(events)
			if err == nil || !ok || e.Step.ID != StepLicense {
				t.Fatalf("want the license step to fail, got %v\n%s", err, describe(events))
			}
			if !strings.Contains(e.Err.Error(), tt.wantErr) || !strings.Contains(e.Hint, tt.wantHint) {
				t.Errorf("error %q / hint %q, want %q / %q", e.Err, e.Hint, tt.wantErr, tt.wantHint)
			}
			if w := writes(f.srv.Requests()); !slices.Equal(w, tt.wantWrites) {
				t.Errorf("writes %v, want only %v", w, tt.wantWrites)
			}
		})
	}
}

func TestLicenseFromTheEnvironmentIsNotWritten(t *testing.T) {
	f := newFixture(t, metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken})
	f.cfg.LicenseToken = ""
	_, events := f.mustRun()
	if got := outcome(events)[StepLicense]; got != StepAlreadyDone {
		t.Errorf("license step ended %v, want already done", got)
	}
	if w := writes(f.srv.Requests()); slices.Contains(w, "PUT /api/setting/premium-embedding-token") {
		t.Errorf("the license was written although Metabase had one: %v", w)
	}
}

func TestSetupFailures(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(f *fixture)
		wantHint string
	}{
		{"someone else's admin password", func(f *fixture) {
			f.setUp()
			f.cfg.AdminPassword = "Not-the-password-1"
		}, "EMBEDWIZARD_ADMIN_PASSWORD"},
		{"nothing listening at the URL", func(f *fixture) {
			f.srv.Close()
		}, "Nothing answers at"},
		{"a Metabase that never finishes booting", func(f *fixture) {
			f.srv.Close()
			f.srv = metabasetest.NewServer(metabasetest.Options{BootDuration: time.Hour})
			f.cfg.MetabaseURL = f.srv.URL
		}, "embedwizard logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{})
			tt.prepare(f)
			st, _ := LoadState(f.dir)
			p, err := New(f.cfg, st, Options{StateDir: f.dir, ReadyTimeout: 50 * time.Millisecond, PollInterval: time.Millisecond})
			must(t, err)
			var events []Event
			err = p.Run(context.Background(), func(e Event) { events = append(events, e) })
			e, ok := failed(events)
			if err == nil || !ok || e.Step.ID != StepSetup {
				t.Fatalf("want the setup step to fail, got %v\n%s", err, describe(events))
			}
			if !strings.Contains(e.Hint, tt.wantHint) {
				t.Errorf("hint %q does not mention %q", e.Hint, tt.wantHint)
			}
			if strings.Contains(describe(events), f.cfg.AdminPassword) {
				t.Errorf("events show the admin password")
			}
		})
	}
}

func TestWaitsForBootingMetabase(t *testing.T) {
	// The emulator's clock moves 50 ms per reading, so it boots after a known number of polls, however
	// slow the machine.
	var mu sync.Mutex
	clock := time.Now()
	tick := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(50 * time.Millisecond)
		return clock
	}
	f := newFixture(t, metabasetest.Options{BootDuration: time.Second, Now: tick})
	p, err := New(f.cfg, nil, Options{PollInterval: time.Millisecond})
	must(t, err)
	var progress []string
	err = p.Run(context.Background(), func(e Event) {
		if e.Kind == StepProgress && e.Step.ID == StepSetup {
			progress = append(progress, e.Message)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || !strings.HasPrefix(progress[0], "Metabase is starting (") {
		t.Errorf("no boot progress reported: %q", progress)
	}
}

// TestWaitsForTheFirstSync: right after boot a fresh Metabase lists the Sample Database without tables
// (contract §6); the plan says so and waits instead of failing the dashboard step.
func TestWaitsForTheFirstSync(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	tick := func() time.Time { // 50 ms per reading: the sync ends after a known number of polls
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(50 * time.Millisecond)
		return clock
	}
	f := newFixture(t, metabasetest.Options{SyncDuration: 2 * time.Second, Now: tick}, DefaultTenant)
	p, err := New(f.cfg, nil, Options{PollInterval: time.Millisecond})
	must(t, err)
	var waited []string
	var events []Event
	err = p.Run(context.Background(), func(e Event) {
		events = append(events, e)
		if e.Kind == StepProgress && strings.Contains(e.Message, "first sync") {
			waited = append(waited, e.Message)
		}
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, describe(events))
	}
	if len(waited) != 1 || !strings.Contains(waited[0], "no Invoices table yet") {
		t.Errorf("the wait for the sync was reported as %q, want one line naming the missing Invoices table", waited)
	}
}

func TestSurveyOnlyReads(t *testing.T) {
	f := newFixture(t, metabasetest.Options{})
	survey := func() map[string]EventKind {
		st, _ := LoadState(f.dir)
		p, err := New(f.cfg, st, Options{})
		must(t, err)
		var events []Event
		must(t, p.Survey(context.Background(), func(e Event) { events = append(events, e) }))
		return outcome(events)
	}
	if got := survey(); len(got) != 0 {
		t.Errorf("survey of a fresh Metabase reported %v, want nothing", got)
	}
	if w := writes(f.srv.Requests()); len(w) > 0 {
		t.Errorf("survey of a fresh Metabase wrote %v", w)
	}
	f.mustRun()
	f.srv.ResetRequests()
	got := survey()
	for _, s := range f.planFor(t).Steps() {
		if !s.Checkpoint && got[s.ID] != StepAlreadyDone {
			t.Errorf("survey of a configured Metabase: step %s = %v, want already done", s.ID, got[s.ID])
		}
		if s.Checkpoint && got[s.ID] != 0 && got[s.ID] != StepStarted {
			t.Errorf("survey ran checkpoint %s", s.ID)
		}
	}
	if w := writes(f.srv.Requests()); len(w) > 0 {
		t.Errorf("survey wrote %v", w)
	}
}

func TestDifferentSitesGetSameSiteNone(t *testing.T) {
	f := newFixture(t, metabasetest.Options{})
	f.cfg.HostAppURL = "https://app.example.com"
	_, events := f.mustRun()
	var warned bool
	for _, e := range events {
		warned = warned || (e.Kind == StepWarning && strings.Contains(e.Message, "SameSite=None") && strings.Contains(e.Message, "HTTPS") &&
			!strings.HasPrefix(e.Message, "warning: "))
	}
	if !warned {
		t.Errorf("no warning about SameSite=None needing HTTPS\n%s", describe(events))
	}
	var v string
	must(t, f.admin().Setting(context.Background(), metabase.SettingSessionCookieSameSite, &v))
	if v != "none" {
		t.Errorf("session-cookie-samesite = %q, want none", v)
	}
	if !strings.Contains(allChecks(events), "SameSite=None") {
		t.Errorf("the SSO checkpoint did not see the None cookie:\n%s", allChecks(events))
	}
}

func TestTenantWithoutRowsFailsTheCheckpoint(t *testing.T) {
	f := newFixture(t, metabasetest.Options{}, Tenant{Name: "Customer-Nobody", AccountID: 9999})
	_, events, err := f.run(context.Background(), nil)
	e, ok := failed(events)
	if err == nil || !ok || e.Step.ID != StepCheckpointSandbox {
		t.Fatalf("want the sandbox checkpoint to fail, got %v", err)
	}
	if !strings.Contains(e.Err.Error(), "sees no Invoices rows") || !strings.Contains(e.Hint, "NAME=ACCOUNT_ID") {
		t.Errorf("error %q / hint %q do not explain the empty account", e.Err, e.Hint)
	}
}

func TestSecretsStayOutOfEvents(t *testing.T) {
	f := newFixture(t, metabasetest.Options{})
	f.cfg.DemoPassword = "Demo-passw0rd-secret"
	p, events := f.mustRun()
	text := describe(events)
	for _, s := range p.Steps() {
		text += strings.Join(s.Calls, " ") + s.Why
	}
	for name, secret := range map[string]string{"admin password": testAdminPassword, "license": metabasetest.TestLicenseToken,
		"JWT key": p.State().JWTSecret, "demo password": f.cfg.DemoPassword} {
		if strings.Contains(text, secret) {
			t.Errorf("the %s appears in the events", name)
		}
	}
}

func TestRunStepUnknownID(t *testing.T) {
	f := newFixture(t, metabasetest.Options{})
	err := f.planFor(t).RunStep(context.Background(), "nope", nil)
	if err == nil || !strings.Contains(err.Error(), "setup, license") {
		t.Errorf("RunStep(nope) = %v, want the list of steps", err)
	}
}

// BenchmarkRun measures a fresh run and a second run against the emulator: API calls per run and time.
// BenchmarkRun measures a fresh run and a second run on every generation the emulator knows, and reports
// the calls and writes of each (the closing note's table): `go test -run ^$ -bench Run ./wizard/plan`.
func BenchmarkRun(b *testing.B) {
	for _, g := range metabasetest.Generations() {
		for _, second := range []bool{false, true} {
			name := g.Tag() + "/" + map[bool]string{false: "fresh", true: "second"}[second]
			b.Run(name, func(b *testing.B) {
				var calls, writes int
				for b.Loop() {
					b.StopTimer()
					srv := metabasetest.NewServer(metabasetest.Options{Version: g.Tag()})
					cfg := Config{MetabaseURL: srv.URL, HostAppURL: "http://127.0.0.1:8080", AdminPassword: testAdminPassword,
						LicenseToken: metabasetest.TestLicenseToken}
					st := &State{}
					if second {
						p, _ := New(cfg, st, Options{})
						if err := p.Run(context.Background(), nil); err != nil {
							b.Fatal(err)
						}
					}
					p, _ := New(cfg, st, Options{})
					b.StartTimer()
					if err := p.Run(context.Background(), nil); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					calls, writes = p.APICalls()
					srv.Close()
					b.StartTimer()
				}
				b.ReportMetric(float64(calls), "calls/run")
				b.ReportMetric(float64(writes), "writes/run")
			})
		}
	}
}
