package metabase_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

// answer is a stand-in Metabase that answers one status and body, for the answers the emulator cannot produce
// (an H2 assertion is reproduced there too, but a proxy's HTML page is not).
func answer(t *testing.T, status int, body string) *metabase.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := metabase.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTestingErrorsTellTheTwo404sApart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		status int
		body   string
		want   error // nil: neither sentinel
	}{
		{404, "API endpoint does not exist.", metabase.ErrTestEndpointsOff},
		{404, "Not found.", metabase.ErrSnapshotNotFound},
		{500, `{"message":"Assert failed: Snapshot/restore only works for :h2 application databases.\n(= (:db-type app-db) :h2)"}`, nil},
		{503, "Metabase is still initializing. Please sit tight...", nil},
	} {
		c := answer(t, tc.status, tc.body)
		err := c.TestingRestore(ctx, "golden")
		if err == nil {
			t.Fatalf("%d %s: no error", tc.status, tc.body)
		}
		for _, s := range []error{metabase.ErrTestEndpointsOff, metabase.ErrSnapshotNotFound} {
			if got := errors.Is(err, s); got != (s == tc.want) {
				t.Errorf("%d %q: errors.Is(%v) = %v", tc.status, tc.body, s, got)
			}
		}
		var ae *metabase.APIError
		if !errors.As(err, &ae) || ae.Status != tc.status {
			t.Errorf("%d %q: %v is not an *APIError with Metabase's status", tc.status, tc.body, err)
		}
		if tc.status == 500 && !strings.Contains(err.Error(), ":h2 application databases") {
			t.Errorf("500: %v, want Metabase's own message", err)
		}
	}
}

func TestTestingSnapshotNameChecked(t *testing.T) {
	c := answer(t, 204, "")
	ctx := context.Background()
	if a, b := metabase.NewSnapshotName(), metabase.NewSnapshotName(); a == b || len(a) != 35 || c.TestingSnapshot(ctx, a) != nil {
		t.Errorf("NewSnapshotName: %q, %q: want two different valid 128-bit names", a, b)
	}
	for name, ok := range map[string]bool{"golden_1a2b": true, "demo-1": false, "a.b": false, "": false, "../x": false, strings.Repeat("a", 129): false} {
		err := c.TestingSnapshot(ctx, name)
		if (err == nil) != ok {
			t.Errorf("TestingSnapshot(%q) = %v, want ok=%v", name, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "letters, digits or _") {
			t.Errorf("TestingSnapshot(%q): %v, want the rule in the message", name, err)
		}
	}
}

// Against the emulator: needs routes() to serve the testing routes.
func TestTestingSnapshotRestoreOnEmulator(t *testing.T) {
	ctx := context.Background()
	off := metabasetest.NewServer(metabasetest.Options{})
	t.Cleanup(off.Close)
	c, _ := metabase.New(off.URL)
	if err := c.TestingSnapshot(ctx, "x"); !errors.Is(err, metabase.ErrTestEndpointsOff) {
		t.Fatalf("flag off: %v, want ErrTestEndpointsOff", err)
	}

	srv := metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken,
		Env: map[string]string{"MB_ENABLE_TEST_ENDPOINTS": "true"}})
	t.Cleanup(srv.Close)
	admin, _ := metabase.New(srv.URL)
	if err := admin.Setup(ctx, metabase.SetupRequest{Token: srv.SetupToken(),
		User:  metabase.SetupUser{Email: adminEmail, Password: adminPassword, FirstName: "Ada", LastName: "Admin"},
		Prefs: metabase.SetupPrefs{SiteName: "Test"}}); err != nil {
		t.Fatal(err)
	}
	anon, _ := metabase.New(srv.URL)
	if err := anon.TestingSnapshot(ctx, "golden"); err != nil {
		t.Fatalf("snapshot without a session: %v", err)
	}
	if err := admin.SetSetting(ctx, metabase.SettingJWTIdentityProviderURI, "http://localhost:9/sso"); err != nil {
		t.Fatal(err)
	}
	if err := anon.TestingRestore(ctx, "nope"); !errors.Is(err, metabase.ErrSnapshotNotFound) {
		t.Fatalf("restore of a missing snapshot: %v, want ErrSnapshotNotFound", err)
	}
	if err := anon.TestingRestore(ctx, "golden"); err != nil {
		t.Fatalf("restore: %v", err)
	}
	var uri *string
	if err := admin.Setting(ctx, metabase.SettingJWTIdentityProviderURI, &uri); err != nil {
		t.Fatalf("admin session from before the snapshot: %v", err)
	}
	if uri != nil {
		t.Errorf("jwt-identity-provider-uri after restore = %q, want unset as in the snapshot", *uri)
	}
}
