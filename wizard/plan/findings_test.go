package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

// putAsAdmin writes to Metabase as an admin would by hand in the admin UI.
func putAsAdmin(t *testing.T, f *fixture, path string, body any) {
	t.Helper()
	c := f.admin()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPut, f.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Metabase-Session", c.Session())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %s", path, resp.Status)
	}
}

// demoUserID is the Metabase id of the tenant's demo user.
func demoUserID(t *testing.T, f *fixture, ts TenantState) int {
	t.Helper()
	users, err := f.admin().Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if strings.EqualFold(u.Email, demoEmail(ts)) {
			return u.ID
		}
	}
	t.Fatalf("Metabase has no user %s", demoEmail(ts))
	return 0
}

func TestFindings(t *testing.T) {
	const elsewhere = "https://login.example.net/jwt"
	tests := []struct {
		name    string
		version string
		env     map[string]string
		// after changes Metabase by hand once the plan has run.
		after func(t *testing.T, f *fixture, st *State)
		// want are the findings' steps and a word each Problem, Why or Fix must hold; nil means none.
		want []struct{ step, says string }
	}{
		{name: "configured by the plan: nothing"},
		{name: "interactive embedding pinned off", env: map[string]string{"MB_ENABLE_EMBEDDING_INTERACTIVE": "false"},
			want: []struct{ step, says string }{{StepEmbedding, "MB_ENABLE_EMBEDDING_INTERACTIVE"}}},
		{name: "interactive embedding pinned on: readable and right", env: map[string]string{"MB_ENABLE_EMBEDDING_INTERACTIVE": "true"}},
		{name: "group sync pinned: unreadable", env: map[string]string{"MB_JWT_GROUP_SYNC": "false"},
			want: []struct{ step, says string }{{StepJWT, "MB_JWT_GROUP_SYNC"}}},
		{name: "origins pinned", env: map[string]string{"MB_EMBEDDING_APP_ORIGINS_INTERACTIVE": "https://other.example"},
			want: []struct{ step, says string }{{StepEmbedding, "http://127.0.0.1:8080"}}},
		{name: "identity provider pinned elsewhere", env: map[string]string{"MB_JWT_IDENTITY_PROVIDER_URI": elsewhere},
			want: []struct{ step, says string }{{StepJWT, elsewhere}}},
		{name: "identity provider pinned to the host app", env: map[string]string{"MB_JWT_IDENTITY_PROVIDER_URI": "http://127.0.0.1:8080/sso/metabase"}},
		{name: "identity provider changed by hand",
			after: func(t *testing.T, f *fixture, _ *State) {
				putAsAdmin(t, f, "/api/setting/jwt-identity-provider-uri", map[string]any{"value": elsewhere})
			},
			want: []struct{ step, says string }{{StepJWT, "Admin settings > Authentication > JWT"}}},
		{name: "user provisioning off",
			after: func(t *testing.T, f *fixture, _ *State) {
				putAsAdmin(t, f, "/api/setting/jwt-user-provisioning-enabled%3F", map[string]any{"value": false})
			},
			want: []struct{ step, says string }{{StepCheckpointSSO, metabase.SettingJWTUserProvisioning}}},
		{name: "user provisioning pinned", env: map[string]string{"MB_JWT_USER_PROVISIONING_ENABLED": "false"},
			want: []struct{ step, says string }{{StepCheckpointSSO, "MB_JWT_USER_PROVISIONING_ENABLED"}}},
		{name: "account_id set by hand to another account",
			after: func(t *testing.T, f *fixture, st *State) {
				id := demoUserID(t, f, st.Tenants[0])
				putAsAdmin(t, f, "/api/user/"+itoa(id), map[string]any{"login_attributes": map[string]any{"account_id": "9"}})
			},
			want: []struct{ step, says string }{{StepCheckpointSandbox, "account 9"}}},
		{name: "account_id set by hand to the tenant's own",
			after: func(t *testing.T, f *fixture, st *State) {
				id := demoUserID(t, f, st.Tenants[0])
				putAsAdmin(t, f, "/api/user/"+itoa(id), map[string]any{"login_attributes": map[string]any{"account_id": "28"}})
			}},
		{name: "account_id set by hand before 57: the next sign-in overwrites it", version: "v1.55.9",
			after: func(t *testing.T, f *fixture, st *State) {
				id := demoUserID(t, f, st.Tenants[0])
				putAsAdmin(t, f, "/api/user/"+itoa(id), map[string]any{"login_attributes": map[string]any{"account_id": "9"}})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{Version: tt.version, Env: tt.env})
			// A pinned setting may make a checkpoint fail: the run's outcome is not what is tested here.
			p, _, _ := f.run(context.Background(), nil)
			if tt.after != nil {
				tt.after(t, f, p.State())
			}
			before := len(writes(f.srv.Requests()))
			got, err := p.Findings(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if w := writes(f.srv.Requests())[before:]; len(w) > 0 {
				t.Errorf("Findings wrote %v", w)
			}
			t.Log(describeFindings(got))
			if len(got) != len(tt.want) {
				t.Fatalf("%d findings, want %d:\n%s", len(got), len(tt.want), describeFindings(got))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Step != w.step || !strings.Contains(g.Problem+" "+g.Why+" "+g.Fix, w.says) {
					t.Errorf("finding %d = %s, want step %s saying %q", i, describeFindings(got[i:i+1]), w.step, w.says)
				}
				if g.Problem == "" || g.Why == "" || g.Fix == "" {
					t.Errorf("finding %d is missing words: %+v", i, g)
				}
				if strings.Contains(g.Fix, "--") {
					t.Errorf("finding %d's fix names a flag: %s", i, g.Fix)
				}
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func describeFindings(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("[" + f.Step + "] " + f.Problem + " | " + f.Why + " | " + f.Fix + "\n")
	}
	return b.String()
}

// TestHandSetAttributeChangesRows reproduces the finding's claim on the emulator: from 57 an admin's
// account_id wins over the JWT's at every sign-in, and the sandbox checkpoint of Audit sees it; before 57 the
// next sign-in puts the JWT's back.
func TestHandSetAttributeChangesRows(t *testing.T) {
	tests := []struct {
		version string
		want    string // the account whose rows the demo user sees after the hand edit
		auditOK bool
	}{
		{"v1.64.1", "9", false},
		{"v1.57.6", "9", false},
		{"v1.55.9", "28", true},
		{"v1.52.4", "28", true},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{Version: tt.version})
			p, _ := f.mustRun()
			st := p.State()
			id := demoUserID(t, f, st.Tenants[0])
			putAsAdmin(t, f, "/api/user/"+itoa(id), map[string]any{"login_attributes": map[string]any{"account_id": "9"}})
			rows := queryAs(t, f, st, st.Tenants[0])
			if len(rows) == 0 || slices.ContainsFunc(rows, func(r string) bool { return r != tt.want }) {
				t.Errorf("after the hand edit the demo user sees accounts %v, want only %s", compact(rows), tt.want)
			}
			a, err := p.Audit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if a.OK() != tt.auditOK {
				t.Errorf("Audit OK = %v, want %v: %+v", a.OK(), tt.auditOK, a.Missing())
			}
		})
	}
}

func compact(rows []string) []string {
	s := slices.Clone(rows)
	slices.Sort(s)
	return slices.Compact(s)
}
