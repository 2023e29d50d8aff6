package main

// The "Done when" of the emulator's five generations, proved with the real binary: `embedwizard up --yes
// --configure-only --metabase-url …` against each generation passes every checkpoint, leaves the X-ray
// collection at View for All Users, lets every tenant load every dashboard card with only its own rows, and
// a second run writes nothing. The assertions read Metabase's API themselves (admin and tenant sessions),
// not the product's own audit, so a checkpoint that passes for the wrong reason still fails here.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/embedwizard/embedwizard/internal/sso"
	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/stack/stacktest"
	"github.com/embedwizard/embedwizard/wizard/plan"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// generationTenants are two tenants, so that "only that tenant's rows" can tell one tenant from another.
var generationTenants = []plan.Tenant{{Name: "Customer-Acme", AccountID: 28}, {Name: "Globex", AccountID: 40}}

// checkpointLine is how `up --yes` reports a checkpoint; every one must end "verified".
var checkpointLine = regexp.MustCompile(`(?m)^.*Checkpoint: .*$`)

// upBinary runs `embedwizard up --yes --configure-only` with the license in the environment (never in the
// arguments) and returns its exit code and combined output.
func upBinary(t *testing.T, bin, dir string, extra ...string) (int, string) {
	t.Helper()
	args := []string{"up", "--yes", "--configure-only", "--state-dir", dir}
	for _, ten := range generationTenants {
		args = append(args, "--tenant", ten.Name+"="+strconv.Itoa(ten.AccountID))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, extra...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), session.EnvLicense+"="+metabasetest.TestLicenseToken)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("embedwizard up did not end within 3 minutes:\n%s", out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run embedwizard up: %v", err)
	}
	if strings.Contains(string(out), metabasetest.TestLicenseToken) {
		t.Errorf("the output of up shows the license token")
	}
	return code, string(out)
}

// writesOf counts the requests plan.IsWrite calls writes, and lists them.
func writesOf(reqs []metabasetest.Request) (n int, list []string) {
	for _, r := range reqs {
		if plan.IsWrite(r.Method, r.Path) {
			n++
			list = append(list, r.Method+" "+r.Path)
		}
	}
	return n, list
}

// assertAllVerified fails unless the output reports at least one checkpoint and every one as verified.
func assertAllVerified(t *testing.T, out string) {
	t.Helper()
	lines := checkpointLine.FindAllString(out, -1)
	if len(lines) == 0 {
		t.Errorf("the output reports no checkpoint:\n%s", out)
	}
	for _, l := range lines {
		if !strings.HasSuffix(strings.TrimSpace(l), ": verified") {
			t.Errorf("checkpoint not verified: %q", l)
		}
	}
}

// assertConfigured checks, through Metabase's API, what the guide promises: the X-ray collections at View
// ("read") for All Users, and every card of the embedded dashboard loading for every tenant with only that
// tenant's rows.
func assertConfigured(t *testing.T, st *plan.State) {
	t.Helper()
	ctx := context.Background()
	admin, err := session.AdminClient(ctx, st)
	fatalIf(t, err)

	groups, err := admin.Groups(ctx)
	fatalIf(t, err)
	allUsers := 0
	for _, g := range groups {
		if g.Name == "All Users" { // by name: generation 1 has no magic_group_type
			allUsers = g.ID
		}
	}
	if allUsers == 0 {
		t.Fatalf("no All Users group among %+v", groups)
	}
	cg, err := admin.CollectionGraph(ctx)
	fatalIf(t, err)
	if st.XrayCollectionID == 0 {
		t.Errorf("the state has no X-ray collection")
	}
	for _, id := range []int{st.XrayCollectionID, st.DashboardCollectionID} {
		if id == 0 {
			continue
		}
		if got := cg.Groups[strconv.Itoa(allUsers)][strconv.Itoa(id)]; got != "read" {
			t.Errorf("All Users has %q on collection %d, want \"read\" (View, as the guide says)", got, id)
		}
	}

	dash, err := admin.Dashboard(ctx, st.DashboardID)
	fatalIf(t, err)
	cards := dash.QueryCards()
	if len(cards) == 0 {
		t.Fatalf("the embedded dashboard %d has no query cards", st.DashboardID)
	}
	if len(st.Tenants) != len(generationTenants) {
		t.Fatalf("the state has %d tenants, want %d", len(st.Tenants), len(generationTenants))
	}
	anon, err := metabase.New(session.MetabaseURL(st))
	fatalIf(t, err)
	for _, ts := range st.Tenants {
		want := accountRows(t, admin, st, ts.AccountID)
		if want == 0 {
			t.Fatalf("account %d has no Invoices rows: the test cannot tell tenants apart", ts.AccountID)
		}
		token, err := sso.Sign([]byte(st.JWTSecret), sso.Identity{Email: ts.DemoUser.Email, FirstName: ts.DemoUser.FirstName,
			LastName: ts.DemoUser.LastName, Groups: []string{ts.Name}, AccountID: strconv.Itoa(ts.AccountID)}, time.Now())
		fatalIf(t, err)
		res, err := anon.SSO(ctx, token, st.DashboardPath)
		if err != nil {
			t.Fatalf("%s signs in through JWT SSO: %v", ts.Name, err)
		}
		tenant := anon.As(res.Session)

		raw, err := tenant.RunQuery(ctx, metabase.TableQuery(st.SampleDatabaseID, st.InvoicesTableID, 100000))
		if err != nil {
			t.Errorf("%s queries Invoices: %v", ts.Name, err)
		} else if col := raw.Column("ACCOUNT_ID"); col < 0 {
			t.Errorf("%s: Invoices has no ACCOUNT_ID column", ts.Name)
		} else {
			for _, row := range raw.Data.Rows {
				if fmt.Sprint(row[col]) != strconv.Itoa(ts.AccountID) {
					t.Errorf("%s sees an Invoices row of account %v", ts.Name, row[col])
					break
				}
			}
			if len(raw.Data.Rows) != want {
				t.Errorf("%s sees %d Invoices rows, want the %d of account %d", ts.Name, len(raw.Data.Rows), want, ts.AccountID)
			}
		}

		counted := 0
		for _, dc := range cards {
			r, err := tenant.RunDashcard(ctx, st.DashboardID, dc)
			if err != nil {
				t.Errorf("%s opens card %q: %v", ts.Name, dc.Card.Name, err)
				continue
			}
			// A card counting Invoices, with or without a breakout but with no filter, adds up to exactly the
			// tenant's rows: more means another tenant's rows leak into it.
			if countsAllRows(dc.Card) && dc.Card.TableID != nil && *dc.Card.TableID == st.InvoicesTableID {
				counted++
				if got := sumLastColumn(r); got != want {
					t.Errorf("%s: card %q adds up to %d rows, want the %d of account %d", ts.Name, dc.Card.Name, got, want, ts.AccountID)
				}
			}
		}
		if counted == 0 {
			t.Errorf("%s: no card of the dashboard counts Invoices, so no card's rows were checked against account %d", ts.Name, ts.AccountID)
		}
	}
}

// accountRows counts, as the admin (no sandbox), the Invoices rows of one account.
func accountRows(t *testing.T, admin *metabase.Client, st *plan.State, account int) int {
	t.Helper()
	q := metabase.Query{Database: st.SampleDatabaseID, Type: "query", Query: metabase.MBQL{SourceTable: st.InvoicesTableID,
		Filter:      []any{"=", []any{"field", st.AccountIDFieldID, nil}, account},
		Aggregation: []any{[]any{"count"}}}}
	r, err := admin.RunQuery(context.Background(), q)
	fatalIf(t, err)
	return sumLastColumn(r)
}

// countsAllRows reports whether a card's query is a plain count (aggregation [["count"]], no filter).
func countsAllRows(c metabase.Card) bool {
	var dq struct {
		Query struct {
			Aggregation []any `json:"aggregation"`
			Filter      any   `json:"filter"`
		} `json:"query"`
	}
	if json.Unmarshal(c.DatasetQuery, &dq) != nil || dq.Query.Filter != nil || len(dq.Query.Aggregation) != 1 {
		return false
	}
	a, ok := dq.Query.Aggregation[0].([]any)
	return ok && len(a) == 1 && a[0] == "count"
}

// sumLastColumn adds up the last column of every row (a count, after any breakout columns).
func sumLastColumn(r metabase.QueryResult) int {
	n := 0
	for _, row := range r.Data.Rows {
		if len(row) > 0 {
			if f, ok := row[len(row)-1].(float64); ok {
				n += int(f)
			}
		}
	}
	return n
}

// TestE2EEveryGeneration is issue 13's "Done when" per generation, with the real binary.
func TestE2EEveryGeneration(t *testing.T) {
	bin, _ := binaries(t)
	var figures []string
	for _, g := range metabasetest.Generations() {
		t.Run(g.Tag(), func(t *testing.T) {
			srv := metabasetest.NewServer(metabasetest.Options{Version: g.Tag()})
			t.Cleanup(srv.Close)
			if got := srv.Generation(); got != g {
				t.Fatalf("the emulator answers as %s, want %s", got, g)
			}
			dir := t.TempDir()

			code, out := upBinary(t, bin, dir, "--metabase-url", srv.URL)
			if code != exitOK {
				t.Fatalf("fresh run: exit %d, want 0:\n%s", code, out)
			}
			assertAllVerified(t, out)
			fresh := srv.Requests()
			freshWrites, _ := writesOf(fresh)

			st, err := session.LoadState(dir)
			fatalIf(t, err)
			assertConfigured(t, st)

			srv.ResetRequests()
			code, out = upBinary(t, bin, dir, "--metabase-url", srv.URL)
			if code != exitOK {
				t.Fatalf("second run: exit %d, want 0:\n%s", code, out)
			}
			assertAllVerified(t, out)
			second := srv.Requests()
			if n, w := writesOf(second); n != 0 {
				t.Errorf("second run made %d writes: %v", n, w)
			}
			figures = append(figures, fmt.Sprintf("| %d | %s | %d | %d | %d |", int(g), g.Tag(), len(fresh), freshWrites, len(second)))
		})
	}
	t.Logf("generation figures (2 tenants):\n| generation | tag | calls, fresh run | writes | calls, second run |\n| --- | --- | --- | --- | --- |\n%s",
		strings.Join(figures, "\n"))
}

// TestE2ENewestGenerationWithDocker runs the whole plan once against the emulator's container image pinned to
// the newest generation (issue 13 §5 "The Docker path"): the version is set in the image's environment,
// because the product's container takes no FAKEMETABASE_* variable, as a real image carries its version.
func TestE2ENewestGenerationWithDocker(t *testing.T) {
	bin, _ := binaries(t)
	docker := stacktest.Client(t)
	newest := metabasetest.Generations()[len(metabasetest.Generations())-1].Tag()
	image := imageWithEnv(t, docker, stacktest.Image(t), "FAKEMETABASE_METABASE_VERSION="+newest)
	dir := t.TempDir()
	t.Cleanup(func() { exec.Command(bin, "down", "--volumes", "--state-dir", dir).Run() })

	code, out := upBinary(t, bin, dir, "--image", image, "--metabase-port", strconv.Itoa(freePort(t)),
		"--host-port", strconv.Itoa(freePort(t)), "--pull", "never")
	if code != exitOK {
		t.Fatalf("up against the container: exit %d, want 0:\n%s", code, out)
	}
	assertAllVerified(t, out)
	st, err := session.LoadState(dir)
	fatalIf(t, err)
	admin, err := session.AdminClient(context.Background(), st)
	fatalIf(t, err)
	v, err := admin.Version(context.Background())
	fatalIf(t, err)
	if v.Tag != newest {
		t.Errorf("the container reports Metabase %q, want %q", v.Tag, newest)
	}
	assertConfigured(t, st)

	code, out = upBinary(t, bin, dir, "--image", image, "--pull", "never")
	if code != exitOK {
		t.Fatalf("second run against the container: exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "(0 writes)") {
		t.Errorf("second run against the container does not report 0 writes:\n%s", out)
	}
}

// imageWithEnv commits base with extra ENV lines and this process's test label, so that a container the binary
// creates from it carries the environment and the label (the sweep removes what a crashed test leaves).
func imageWithEnv(t *testing.T, docker *client.Client, base string, env ...string) string {
	t.Helper()
	ctx := context.Background()
	pid := strconv.Itoa(os.Getpid())
	tmp, err := docker.ContainerCreate(ctx, &container.Config{Image: base, Labels: map[string]string{stacktest.Label: pid}}, nil, nil, nil, "")
	fatalIf(t, err)
	defer docker.ContainerRemove(ctx, tmp.ID, container.RemoveOptions{Force: true})
	changes := []string{"LABEL " + stacktest.Label + "=" + pid}
	for _, e := range env {
		changes = append(changes, "ENV "+e)
	}
	ref := "embedwizard-test/generation:" + pid
	_, err = docker.ContainerCommit(ctx, tmp.ID, container.CommitOptions{Reference: ref, Changes: changes})
	fatalIf(t, err)
	t.Cleanup(func() { stacktest.RemoveImage(t, ref) })
	return ref
}

// TestE2EDryRunThreeStates: `up --dry-run --metabase-url` with the real binary on a fresh Metabase, on one a
// run left half configured (it stopped at the tenant groups), and on a configured one. Each exits as
// terraform plan -detailed-exitcode does (2 changes pending, 0 nothing to change) and writes nothing.
func TestE2EDryRunThreeStates(t *testing.T) {
	bin, _ := binaries(t)
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, srv *metabasetest.Server, dir string)
		code    int
		says    []string
	}{
		{name: "fresh", code: 2, says: []string{"~ ", "Nothing was written"}},
		{name: "half-configured", code: 2, says: []string{"~ ", "Nothing was written"},
			prepare: func(t *testing.T, srv *metabasetest.Server, dir string) {
				// The run stops at the first group it creates, as when Metabase goes away half way.
				srv.InjectFault(metabasetest.Fault{Method: "POST", Path: "/api/permissions/group", Status: 500, Body: `{"message":"down for a moment"}`})
				if code, out := upBinary(t, bin, dir, "--metabase-url", srv.URL); code != 1 {
					t.Fatalf("the faulted run: exit %d, want 1:\n%s", code, out)
				}
				srv.ClearFaults()
			}},
		{name: "configured", code: 0, says: []string{"Nothing to change"},
			prepare: func(t *testing.T, srv *metabasetest.Server, dir string) {
				if code, out := upBinary(t, bin, dir, "--metabase-url", srv.URL); code != 0 {
					t.Fatalf("configure: exit %d:\n%s", code, out)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := metabasetest.NewServer(metabasetest.Options{})
			t.Cleanup(srv.Close)
			dir := t.TempDir()
			if tc.prepare != nil {
				tc.prepare(t, srv, dir)
			}
			srv.ResetRequests()
			code, out := upBinary(t, bin, dir, "--dry-run", "--metabase-url", srv.URL)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, s := range tc.says {
				if !strings.Contains(out, s) {
					t.Errorf("the dry run does not say %q:\n%s", s, out)
				}
			}
			if n, w := writesOf(srv.Requests()); n != 0 {
				t.Errorf("the dry run made %d writes: %v", n, w)
			}
			t.Logf("dry run, %s Metabase: exit %d, %d API calls, 0 writes\n%s", tc.name, code, len(srv.Requests()), out)
		})
	}
}
