package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
)

// The benchmarks run against the emulator image, which boots at once (FAKEMETABASE_BOOT_SECONDS=0):
// they measure what the stack adds on top of Metabase's own boot. Run them with
//
//	go test ./stack/ -run '^$' -bench . -benchtime 5x

// setupToken is the emulator's MB_SETUP_TOKEN in tests that configure it.
const setupToken = "0f8d3c1e-6a52-4f0e-9b7e-3c2d1a0b9e8f"

// BenchmarkUpToHealthy: from Up on a cold stack (no container, no volume, image present) to healthy.
func BenchmarkUpToHealthy(b *testing.B) {
	s := newTestStack(b, Config{})
	ctx := testContext(b)
	for b.Loop() {
		b.StopTimer()
		if err := s.Down(ctx, true); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		mustUp(b, s, nil)
	}
}

// BenchmarkReset compares `embedwizard reset` (RestoreSnapshot) with a full rebuild (down with volumes,
// up, and the configuration calls; here setup plus a few settings, the real plan makes more).
func BenchmarkReset(b *testing.B) {
	s := newTestStack(b, Config{LicenseToken: testToken, Env: map[string]string{"MB_SETUP_TOKEN": setupToken}})
	ctx := testContext(b)
	mustUp(b, s, nil)
	configure(b, s.cfg.Port)
	snap := filepath.Join(b.TempDir(), "configured.snapshot")
	if err := s.SaveSnapshot(ctx, snap); err != nil {
		b.Fatal(err)
	}
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.RestoreSnapshot(ctx, snap, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full-rebuild", func(b *testing.B) {
		for b.Loop() {
			if err := s.Down(ctx, true); err != nil {
				b.Fatal(err)
			}
			mustUp(b, s, nil)
			configure(b, s.cfg.Port)
		}
	})
}

// configure does what a first configuration does at the least: setup, then settings writes.
func configure(tb testing.TB, port int) {
	tb.Helper()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var session struct{ ID string }
	call(tb, http.MethodPost, base+"/api/setup", "", map[string]any{
		"token": setupToken,
		"user":  map[string]string{"email": "admin@example.com", "password": "Embedw1zard-pass", "password_confirm": "Embedw1zard-pass", "first_name": "A", "last_name": "B", "site_name": "S"},
		"prefs": map[string]any{"site_name": "S", "site_locale": "en", "allow_tracking": false},
	}, &session)
	// The license goes through the settings API, as the plan sets it: it is not in the container's environment.
	call(tb, http.MethodPut, base+"/api/setting/premium-embedding-token", session.ID, map[string]any{"value": testToken}, nil)
	call(tb, http.MethodPut, base+"/api/setting/enable-embedding-interactive", session.ID, map[string]any{"value": true}, nil)
	call(tb, http.MethodPut, base+"/api/setting/embedding-app-origins-interactive", session.ID, map[string]any{"value": "http://localhost:8080"}, nil)
	call(tb, http.MethodPut, base+"/api/setting", session.ID, map[string]any{"anon-tracking-enabled": false, "site-name": "Embedwizard"}, nil)
}

func call(tb testing.TB, method, url, session string, body any, out any) {
	tb.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("X-Metabase-Session", session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		tb.Fatalf("%s %s = %s: %s", method, url, resp.Status, msg.String())
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			tb.Fatal(fmt.Errorf("%s %s: decode: %w", method, url, err))
		}
	}
}
