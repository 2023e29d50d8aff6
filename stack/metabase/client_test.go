package metabase_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

const (
	adminEmail    = "admin@example.com"
	adminPassword = "Embed-wizard-2024"
)

// newSetUp starts an emulator with a license and returns a client logged in as its first admin.
func newSetUp(t *testing.T) (*metabasetest.Server, *metabase.Client) {
	t.Helper()
	srv := metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken})
	t.Cleanup(srv.Close)
	c, err := metabase.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Setup(ctx, metabase.SetupRequest{
		Token: srv.SetupToken(),
		User:  metabase.SetupUser{Email: adminEmail, Password: adminPassword, FirstName: "Ada", LastName: "Admin"},
		Prefs: metabase.SetupPrefs{SiteName: "Test"},
	}); err != nil {
		t.Fatalf("setup: %v", err)
	}
	return srv, c
}

func TestHealthReportsBootProgress(t *testing.T) {
	srv := metabasetest.NewServer(metabasetest.Options{BootDuration: time.Hour})
	defer srv.Close()
	c, _ := metabase.New(srv.URL)
	h, err := c.Health(context.Background())
	if err != nil {
		t.Fatalf("Health while booting: %v (a 503 while booting is progress, not an error)", err)
	}
	if h.Ready() || h.Status != "initializing" || h.Progress < 0 || h.Progress > 1 {
		t.Fatalf("Health while booting = %+v, want initializing with progress in [0,1]", h)
	}
	_, err = c.SessionProperties(context.Background())
	if !metabase.IsStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("API call while booting: err = %v, want a 503 APIError", err)
	}
}

func TestSetupLoginAndProperties(t *testing.T) {
	srv := metabasetest.NewServer(metabasetest.Options{})
	defer srv.Close()
	ctx := context.Background()
	c, _ := metabase.New(srv.URL + "/") // a trailing slash is forgiven
	p, err := c.SessionProperties(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.HasUserSetup || p.SetupToken == "" {
		t.Fatalf("fresh instance properties: has-user-setup=%v setup-token=%q", p.HasUserSetup, p.SetupToken)
	}
	if v, _ := c.Version(ctx); v.Major < 50 {
		t.Fatalf("version = %v, want a current Metabase", v)
	}
	if ok, _ := c.HasFeature(ctx, metabase.FeatureJWT); ok {
		t.Fatal("sso_jwt unlocked without a license")
	}

	err = c.Setup(ctx, metabase.SetupRequest{Token: "wrong", User: metabase.SetupUser{Email: adminEmail, Password: adminPassword}, Prefs: metabase.SetupPrefs{SiteName: "x"}})
	var ae *metabase.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Errors["token"] == "" {
		t.Fatalf("setup with a wrong token: %v, want 400 with errors.token", err)
	}
	if err := c.Setup(ctx, metabase.SetupRequest{Token: p.SetupToken, User: metabase.SetupUser{Email: adminEmail, Password: adminPassword, FirstName: "A", LastName: "B"}, Prefs: metabase.SetupPrefs{SiteName: "x"}}); err != nil {
		t.Fatal(err)
	}
	if c.Session() == "" {
		t.Fatal("setup did not leave the client signed in")
	}
	err = c.Setup(ctx, metabase.SetupRequest{Token: p.SetupToken, User: metabase.SetupUser{Email: "b@example.com", Password: adminPassword}, Prefs: metabase.SetupPrefs{SiteName: "x"}})
	if !metabase.IsStatus(err, http.StatusForbidden) {
		t.Fatalf("second setup: %v, want 403", err)
	}

	fresh, _ := metabase.New(srv.URL)
	err = fresh.Login(ctx, adminEmail, "not-the-password1")
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(ae.Error(), "password") {
		t.Fatalf("login with a wrong password: %v, want 401 naming the password", err)
	}
	if strings.Contains(err.Error(), "not-the-password1") {
		t.Fatal("the error repeats the password")
	}
	if err := fresh.Login(ctx, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	me, err := fresh.CurrentUser(ctx)
	if err != nil || me.Email != adminEmail || !me.IsSuperuser {
		t.Fatalf("current user after login = %+v, %v", me, err)
	}
	if err := fresh.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.As(me.Email).CurrentUser(ctx); !metabase.IsStatus(err, 401) {
		t.Fatalf("a made-up session: %v, want 401", err)
	}
}

func TestAPIKeyAuth(t *testing.T) {
	srv, admin := newSetUp(t)
	ctx := context.Background()
	groups, err := admin.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admins, ok := metabase.FindMagicGroup(groups, metabase.MagicAdmin)
	if !ok {
		t.Fatalf("no Administrators group in %+v", groups)
	}
	k, err := admin.CreateAPIKey(ctx, "embedwizard", admins.ID)
	if err != nil || !strings.HasPrefix(k.UnmaskedKey, "mb_") {
		t.Fatalf("create API key = %+v, %v", k, err)
	}
	byKey, _ := metabase.New(srv.URL)
	byKey.UseAPIKey(k.UnmaskedKey)
	if _, err := byKey.Settings(ctx); err != nil {
		t.Fatalf("admin call with the API key: %v", err)
	}
}

func TestSettings(t *testing.T) {
	_, c := newSetUp(t)
	ctx := context.Background()

	if err := c.SetSetting(ctx, metabase.SettingSessionCookieSameSite, "lax"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSettings(ctx, map[string]any{
		metabase.SettingEnableEmbeddingInteractive:  true,
		metabase.SettingEmbeddingOriginsInteractive: "http://localhost:8080",
	}); err != nil {
		t.Fatal(err)
	}
	var origins string
	if err := c.Setting(ctx, metabase.SettingEmbeddingOriginsInteractive, &origins); err != nil || origins != "http://localhost:8080" {
		t.Fatalf("origins read back = %q, %v", origins, err)
	}
	m, err := c.SettingsMap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m[metabase.SettingEnableEmbeddingInteractive]; !ok || v.Value != true {
		t.Fatalf("settings list: %s = %+v", metabase.SettingEnableEmbeddingInteractive, v)
	}

	err = c.SetSetting(ctx, "no-such-setting", true)
	var ae *metabase.APIError
	if !errors.As(err, &ae) || ae.Status < 400 || !strings.Contains(err.Error(), "no-such-setting") {
		t.Fatalf("unknown setting: %v", err)
	}

	secret, err := c.RandomToken(ctx)
	if err != nil || len(secret) != 64 || strings.ToLower(secret) != secret {
		t.Fatalf("random token = %q, %v (want 64 lower-case hex)", secret, err)
	}
	// jwt-enabled reads false until both the secret and the IdP URI are set (contract §4).
	if err := c.SetSettings(ctx, map[string]any{metabase.SettingJWTSharedSecret: secret, metabase.SettingJWTEnabled: true}); err != nil {
		t.Fatal(err)
	}
	var on bool
	_ = c.Setting(ctx, metabase.SettingJWTEnabled, &on)
	if on {
		t.Fatal("jwt-enabled reads true without an identity provider URI")
	}
	if err := c.SetSetting(ctx, metabase.SettingJWTIdentityProviderURI, "http://localhost:8080/sso/metabase"); err != nil {
		t.Fatal(err)
	}
	_ = c.Setting(ctx, metabase.SettingJWTEnabled, &on)
	if !on {
		t.Fatal("jwt-enabled reads false with secret and URI set")
	}
	var masked string
	_ = c.Setting(ctx, metabase.SettingJWTSharedSecret, &masked)
	if masked == secret {
		t.Fatal("the JWT secret reads back in clear")
	}

	st, err := c.TokenStatus(ctx)
	if err != nil || !st.Valid {
		t.Fatalf("token status = %+v, %v", st, err)
	}
}

func TestLicenseGating(t *testing.T) {
	srv := metabasetest.NewServer(metabasetest.Options{})
	defer srv.Close()
	ctx := context.Background()
	c, _ := metabase.New(srv.URL)
	if err := c.Setup(ctx, metabase.SetupRequest{Token: srv.SetupToken(), User: metabase.SetupUser{Email: adminEmail, Password: adminPassword}, Prefs: metabase.SetupPrefs{SiteName: "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSetting(ctx, metabase.SettingJWTEnabled, true); !metabase.IsStatus(err, 500) {
		t.Fatalf("JWT setting without a license: %v, want 500 (contract §3)", err)
	}
	if err := c.SetSetting(ctx, metabase.SettingPremiumToken, strings.ToUpper(metabasetest.TestLicenseToken)); !metabase.IsStatus(err, 400) {
		t.Fatalf("upper-case license token: %v, want 400", err)
	}
	if err := c.SetSetting(ctx, metabase.SettingPremiumToken, metabasetest.TestLicenseToken); err != nil {
		t.Fatal(err)
	}
	// SetSetting of the token forgets the cached properties: features are read anew.
	if ok, err := c.HasFeature(ctx, metabase.FeatureSandboxes); err != nil || !ok {
		t.Fatalf("sandboxes after setting the license = %v, %v", ok, err)
	}
}

// quickStart does the guide's configuration with the client and returns what the SSO test needs.
type quickStart struct {
	dbID, invoicesID, accountField int
	dashboard                      metabase.Dashboard
	groupID                        int
	secret                         string
	schema                         string // the Invoices table's schema key in the permissions graph
}

func configure(t *testing.T, c *metabase.Client) quickStart {
	t.Helper()
	ctx := context.Background()
	var q quickStart

	dbs, err := c.Databases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dbs {
		if d.IsSample {
			q.dbID = d.ID
		}
	}
	if q.dbID == 0 {
		t.Fatalf("no sample database in %+v", dbs)
	}
	meta, err := c.DatabaseMetadata(ctx, q.dbID)
	if err != nil {
		t.Fatal(err)
	}
	inv, ok := meta.TableNamed("invoices")
	if !ok {
		t.Fatalf("no Invoices table in %+v", meta.Tables)
	}
	q.invoicesID, q.schema = inv.ID, inv.Schema
	f, ok := inv.FieldNamed("account_id")
	if !ok {
		t.Fatalf("no ACCOUNT_ID field in %+v", inv.Fields)
	}
	q.accountField = f.ID
	tables, err := c.Tables(ctx)
	if err != nil || len(tables) < 1 {
		t.Fatalf("tables = %d, %v", len(tables), err)
	}
	tm, err := c.TableMetadata(ctx, q.invoicesID)
	// The schema is the table record's own: "PUBLIC" on H2, "" (nil) for the SQLite Sample Database of 0.64+.
	if err != nil || tm.Schema != inv.Schema {
		t.Fatalf("table metadata = %+v, %v", tm, err)
	}

	if _, found, err := c.XrayCollection(ctx); err != nil || found {
		t.Fatalf("X-ray collection before any save: found=%v err=%v", found, err)
	}
	xray, err := c.XrayTable(ctx, q.invoicesID)
	if err != nil {
		t.Fatal(err)
	}
	q.dashboard, err = c.SaveDashboard(ctx, xray)
	if err != nil || q.dashboard.ID == 0 || q.dashboard.CollectionID == nil {
		t.Fatalf("save X-ray = %+v, %v", q.dashboard, err)
	}
	coll, found, err := c.XrayCollection(ctx)
	if err != nil || !found || coll.NumericID() != *q.dashboard.CollectionID {
		t.Fatalf("X-ray collection = %+v found=%v err=%v; dashboard in %d", coll, found, err, *q.dashboard.CollectionID)
	}
	items, err := c.CollectionItems(ctx, coll.NumericID(), "dashboard")
	if err != nil || len(items) != 1 || items[0].ID != q.dashboard.ID {
		t.Fatalf("collection items = %+v, %v", items, err)
	}
	if d, err := c.Dashboard(ctx, q.dashboard.ID); err != nil || d.Name != q.dashboard.Name {
		t.Fatalf("dashboard read back = %+v, %v", d, err)
	}

	q.secret, _ = c.RandomToken(ctx)
	if err := c.SetSettings(ctx, map[string]any{
		metabase.SettingEnableEmbeddingInteractive:  true,
		metabase.SettingEmbeddingOriginsInteractive: "http://localhost:8080",
		metabase.SettingJWTIdentityProviderURI:      "http://localhost:8080/sso/metabase",
		metabase.SettingJWTSharedSecret:             q.secret,
		metabase.SettingJWTEnabled:                  true,
	}); err != nil {
		t.Fatal(err)
	}
	g, err := c.CreateGroup(ctx, "Customer Acme")
	if err != nil {
		t.Fatal(err)
	}
	q.groupID = g.ID
	if err := c.SetSettings(ctx, map[string]any{
		metabase.SettingJWTGroupSync:     true,
		metabase.SettingJWTGroupMappings: map[string][]int{"Customer-Acme": {g.ID}},
	}); err != nil {
		t.Fatal(err)
	}

	groups, _ := c.Groups(ctx)
	all, ok := metabase.FindMagicGroup(groups, metabase.MagicAllUsers)
	if !ok {
		t.Fatal("no All Users group")
	}
	if found, ok := metabase.FindGroup(groups, "customer acme"); !ok || found.ID != g.ID {
		t.Fatal("FindGroup is not case-insensitive")
	}
	graph, err := c.PermissionsGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := strconv.Itoa(q.dbID)
	inv2 := strconv.Itoa(q.invoicesID)
	stale := graph.Revision
	rev, err := c.UpdatePermissionsGraph(ctx, metabase.PermissionsGraph{
		Revision: graph.Revision,
		Groups: map[string]map[string]metabase.DBPermissions{
			strconv.Itoa(all.ID): {db: {"view-data": "blocked", "create-queries": "no", "download": map[string]any{"schemas": "none"}}},
			strconv.Itoa(g.ID): {db: {
				"view-data":      map[string]any{q.schema: map[string]any{inv2: "sandboxed"}},
				"create-queries": map[string]any{q.schema: map[string]any{inv2: "query-builder"}},
			}},
		},
	})
	if err != nil || rev <= stale {
		t.Fatalf("update graph: rev %d (was %d), %v", rev, stale, err)
	}
	_, err = c.UpdatePermissionsGraph(ctx, metabase.PermissionsGraph{Revision: stale, Groups: map[string]map[string]metabase.DBPermissions{}})
	if !metabase.IsStatus(err, http.StatusConflict) {
		t.Fatalf("stale revision: %v, want 409", err)
	}

	sb, err := c.CreateSandbox(ctx, metabase.Sandbox{GroupID: g.ID, TableID: q.invoicesID, AttributeRemappings: map[string]any{"account_id": metabase.FieldTarget(q.accountField)}})
	if err != nil || sb.ID == 0 {
		t.Fatalf("create sandbox = %+v, %v", sb, err)
	}
	list, err := c.Sandboxes(ctx, g.ID, q.invoicesID)
	if err != nil || len(list) != 1 {
		t.Fatalf("sandboxes of the group = %+v, %v", list, err)
	}
	if id, ok := metabase.TargetFieldID(list[0].AttributeRemappings["account_id"]); !ok || id != q.accountField {
		t.Fatalf("sandbox remapping read back = %+v", list[0].AttributeRemappings)
	}
	if _, err := c.UpdateSandbox(ctx, list[0]); err != nil {
		t.Fatalf("update sandbox: %v", err)
	}

	cg, err := c.CollectionGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	collID := strconv.Itoa(*q.dashboard.CollectionID)
	if _, err := c.UpdateCollectionGraph(ctx, metabase.CollectionGraph{Revision: cg.Revision, Groups: map[string]map[string]string{strconv.Itoa(all.ID): {collID: "read"}}}); err != nil {
		t.Fatal(err)
	}
	cg2, _ := c.CollectionGraph(ctx)
	if cg2.Groups[strconv.Itoa(all.ID)][collID] != "read" {
		t.Fatalf("collection graph after update = %+v", cg2.Groups[strconv.Itoa(all.ID)])
	}
	if _, err := c.UpdateCollectionGraph(ctx, metabase.CollectionGraph{Revision: cg.Revision, Groups: map[string]map[string]string{}}); !metabase.IsStatus(err, http.StatusConflict) {
		t.Fatalf("stale collection revision: %v, want 409", err)
	}
	return q
}

func sign(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestQuickStartThroughTheClient(t *testing.T) {
	_, admin := newSetUp(t)
	ctx := context.Background()
	q := configure(t, admin)

	now := time.Now()
	token := sign(t, q.secret, jwt.MapClaims{
		"email": "rene@example.com", "first_name": "Rene", "last_name": "Acme",
		"groups": []string{"Customer-Acme"}, "account_id": "28",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	})
	res, err := admin.SSO(ctx, token, q.dashboard.Path()+"?logo=false&top_nav=false")
	if err != nil {
		t.Fatal(err)
	}
	if res.Location != q.dashboard.Path()+"?logo=false&top_nav=false" || !res.HttpOnly || !strings.EqualFold(res.SameSite, "lax") {
		t.Fatalf("SSO result = %+v", res)
	}
	user := admin.As(res.Session)
	me, err := user.CurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := me.Attribute("account_id"); !ok || v != "28" {
		t.Fatalf("account_id attribute = %q, %v", v, ok)
	}
	inGroup := false
	for _, id := range me.GroupIDs() {
		inGroup = inGroup || id == q.groupID
	}
	if !inGroup || me.IsSuperuser {
		t.Fatalf("JWT user groups = %v, want Customer Acme (%d)", me.GroupIDs(), q.groupID)
	}
	if u, err := admin.User(ctx, me.ID); err != nil || u.Email != me.Email {
		t.Fatalf("admin reads the JWT user = %+v, %v", u, err)
	}
	if us, err := admin.Users(ctx); err != nil || len(us) < 2 {
		t.Fatalf("users = %d, %v", len(us), err)
	}
	if g, err := admin.Group(ctx, q.groupID); err != nil || len(g.Members) != 1 {
		t.Fatalf("group members = %+v, %v", g, err)
	}

	rows, err := user.RunQuery(ctx, metabase.TableQuery(q.dbID, q.invoicesID, 2000))
	if err != nil {
		t.Fatal(err)
	}
	col := rows.Column("account_id")
	if col < 0 || len(rows.Data.Rows) == 0 {
		t.Fatalf("sandboxed query: column %d, %d rows", col, len(rows.Data.Rows))
	}
	for _, r := range rows.Data.Rows {
		if n, _ := r[col].(float64); n != 28 {
			t.Fatalf("sandboxed query returned a row of account %v", r[col])
		}
	}
	all, err := admin.RunQuery(ctx, metabase.TableQuery(q.dbID, q.invoicesID, 2000))
	if err != nil || len(all.Data.Rows) <= len(rows.Data.Rows) {
		t.Fatalf("admin sees %d rows, the sandboxed user %d: %v", len(all.Data.Rows), len(rows.Data.Rows), err)
	}

	// A token signed with another key is refused, and the error never carries the token.
	bad := sign(t, strings.Repeat("0", 64), jwt.MapClaims{"email": "x@example.com", "iat": now.Unix()})
	_, err = admin.SSO(ctx, bad, "/")
	if !metabase.IsStatus(err, 401) || strings.Contains(err.Error(), bad) {
		t.Fatalf("SSO with a foreign key: %v", err)
	}
}

func TestServerTime(t *testing.T) {
	srv := metabasetest.NewServer(metabasetest.Options{})
	defer srv.Close()
	c, _ := metabase.New(srv.URL)
	got, err := c.ServerTime(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(got); d > time.Minute || d < -time.Minute {
		t.Fatalf("server time %v is %v away from ours", got, d)
	}
}

func TestCancelledContext(t *testing.T) {
	srv := metabasetest.NewServer(metabasetest.Options{})
	defer srv.Close()
	c, _ := metabase.New(srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.SessionProperties(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("call on a cancelled context: %v, want context.Canceled", err)
	}
}
