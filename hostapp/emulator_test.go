package hostapp_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

// mbClient is a bare Metabase API client for configuring the emulator as the guide does (contract §14),
// independent of package stack/metabase so that this test checks the host app against the contract only.
type mbClient struct {
	t       testing.TB
	base    string
	session string
}

// call sends body as JSON and decodes the answer into out (when non-nil); any status but want fails the test.
func (c *mbClient) call(want int, method, path string, body, out any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.session != "" {
		req.Header.Set("X-Metabase-Session", c.session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// configureEmulator walks the quick start (contract §14) on the emulator at mbURL for a host app at
// hostOrigin: setup, license, X-ray dashboard, interactive embedding and JWT, a group per tenant mapped from
// its JWT group, All Users blocked, Invoices sandboxed on account_id, and the dashboard's collection readable.
// It returns the JWT secret, the dashboard's path and the signed-in admin client.
func configureEmulator(t testing.TB, mbURL, hostOrigin string, tenants []hostapp.Tenant) (secret, dashboardPath string, admin *mbClient) {
	t.Helper()
	admin = &mbClient{t: t, base: mbURL}
	var props struct {
		SetupToken string `json:"setup-token"`
	}
	admin.call(http.StatusOK, "GET", "/api/session/properties", nil, &props)
	var setup struct{ ID string }
	password := "Admin-" + randomHex(8) + "-1"
	admin.call(http.StatusOK, "POST", "/api/setup", map[string]any{
		"token": props.SetupToken,
		"user": map[string]any{"email": "admin@embedwizard.test", "password": password, "password_confirm": password,
			"first_name": "Demo", "last_name": "Admin", "site_name": "Embedwizard e2e"},
		"prefs": map[string]any{"site_name": "Embedwizard e2e", "site_locale": "en", "allow_tracking": false},
	}, &setup)
	admin.session = setup.ID
	admin.call(http.StatusNoContent, "PUT", "/api/setting/premium-embedding-token", map[string]any{"value": metabasetest.TestLicenseToken}, nil)

	var tables []struct {
		ID     int     `json:"id"`
		Name   string  `json:"name"`
		DBID   int     `json:"db_id"`
		Schema *string `json:"schema"`
	}
	admin.call(http.StatusOK, "GET", "/api/table", nil, &tables)
	invoices, db := 0, 0
	schema := "" // the permissions graph keys a nil schema (the SQLite Sample Database) as ""
	for _, tb := range tables {
		if tb.Name == "INVOICES" {
			invoices, db = tb.ID, tb.DBID
			if tb.Schema != nil {
				schema = *tb.Schema // "PUBLIC" on H2
			}
		}
	}
	var meta struct {
		Fields []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"fields"`
	}
	admin.call(http.StatusOK, "GET", fmt.Sprintf("/api/table/%d/query_metadata", invoices), nil, &meta)
	accountField := 0
	for _, f := range meta.Fields {
		if f.Name == "ACCOUNT_ID" {
			accountField = f.ID
		}
	}
	if invoices == 0 || db == 0 || accountField == 0 {
		t.Fatalf("no INVOICES.ACCOUNT_ID in the emulator (table %d, db %d, field %d)", invoices, db, accountField)
	}

	var xray json.RawMessage
	admin.call(http.StatusOK, "GET", fmt.Sprintf("/api/automagic-dashboards/table/%d", invoices), nil, &xray)
	var dash struct {
		ID           int `json:"id"`
		CollectionID int `json:"collection_id"`
	}
	admin.call(http.StatusOK, "POST", "/api/dashboard/save", xray, &dash)

	secret = randomHex(32)
	admin.call(http.StatusNoContent, "PUT", "/api/setting", map[string]any{
		"enable-embedding-interactive": true, "embedding-app-origins-interactive": hostOrigin,
		"jwt-identity-provider-uri": hostOrigin + "/sso/metabase", "jwt-shared-secret": secret, "jwt-enabled": true,
	}, nil)

	mappings := map[string][]int{}
	groups := map[string]any{
		"1": map[string]any{strconv.Itoa(db): map[string]any{"view-data": "blocked", "create-queries": "no", "download": map[string]any{"schemas": "none"}}},
	}
	var sandboxes []any
	inv := strconv.Itoa(invoices)
	for _, tn := range tenants {
		var g struct{ ID int }
		admin.call(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": strings.ReplaceAll(tn.Name, "-", " ")}, &g)
		mappings[tn.Name] = []int{g.ID}
		groups[strconv.Itoa(g.ID)] = map[string]any{strconv.Itoa(db): map[string]any{
			"view-data":      map[string]any{schema: map[string]any{inv: "sandboxed"}},
			"create-queries": map[string]any{schema: map[string]any{inv: "query-builder"}},
		}}
		sandboxes = append(sandboxes, map[string]any{"group_id": g.ID, "table_id": invoices, "card_id": nil,
			"attribute_remappings": map[string]any{"account_id": []any{"dimension", []any{"field", accountField, nil}}}})
	}
	admin.call(http.StatusNoContent, "PUT", "/api/setting", map[string]any{"jwt-group-sync": true, "jwt-group-mappings": mappings}, nil)

	var graph struct {
		Revision int `json:"revision"`
	}
	admin.call(http.StatusOK, "GET", "/api/permissions/graph", nil, &graph)
	admin.call(http.StatusOK, "PUT", "/api/permissions/graph", map[string]any{"revision": graph.Revision, "groups": groups, "sandboxes": sandboxes}, nil)
	admin.call(http.StatusOK, "GET", "/api/collection/graph", nil, &graph)
	admin.call(http.StatusOK, "PUT", "/api/collection/graph", map[string]any{
		"revision": graph.Revision, "groups": map[string]any{"1": map[string]any{strconv.Itoa(dash.CollectionID): "read"}}}, nil)
	return secret, fmt.Sprintf("/dashboard/%d", dash.ID), admin
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
