package hostapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// ErrJWTNotEnabled is what a probe returns (wrapped) when Metabase answers but will not accept the host
// app's JWTs. /analytics then says "JWT is not enabled" rather than "Metabase is not reachable".
var ErrJWTNotEnabled = errors.New("JWT sign-in is not enabled in Metabase")

// Probe timing: each probe is bounded by probeTimeout, and its answer is reused for probeTTL so that a
// busy /analytics costs Metabase one probe per 5 s. /sso/metabase never probes.
const (
	probeTimeout = 2 * time.Second
	probeTTL     = 5 * time.Second
)

// newMetabaseProbe checks, without credentials, that Metabase is up and accepts JWT sign-in:
//
//   - GET /api/health must say 200 {"status":"ok"} (contract §2);
//   - GET /api/session/properties: token-features.sso_jwt must be true (contract §2, §3), and JWT must be
//     on: "jwt-enabled" when the properties carry it, else the public "other-sso-enabled?" (= saml-enabled
//     or jwt-enabled). In Metabase jwt-enabled is admin-only, so anonymous properties lack it and
//     other-sso-enabled? is the best public signal (docs/metabase-api.md §16, package hostapp).
func newMetabaseProbe(site string) func(ctx context.Context) error {
	client := &http.Client{Timeout: probeTimeout}
	return func(ctx context.Context) error {
		var health struct {
			Status   string  `json:"status"`
			Progress float64 `json:"progress"`
		}
		code, err := getJSON(ctx, client, site+"/api/health", &health)
		if err != nil {
			return fmt.Errorf("probe Metabase at %s: %w", site, err)
		}
		if code == http.StatusServiceUnavailable && health.Status == "initializing" {
			return fmt.Errorf("probe Metabase at %s: it is still starting (%.0f%%)", site, health.Progress*100)
		}
		if code != http.StatusOK || health.Status != "ok" {
			return fmt.Errorf("probe Metabase at %s: /api/health answered %d %q", site, code, health.Status)
		}
		var props struct {
			Features   map[string]bool `json:"token-features"`
			JWTEnabled *bool           `json:"jwt-enabled"`
			OtherSSO   *bool           `json:"other-sso-enabled?"`
		}
		code, err = getJSON(ctx, client, site+"/api/session/properties", &props)
		if err != nil {
			return fmt.Errorf("probe Metabase at %s: %w", site, err)
		}
		if code != http.StatusOK {
			return fmt.Errorf("probe Metabase at %s: /api/session/properties answered %d", site, code)
		}
		if !props.Features["sso_jwt"] {
			return fmt.Errorf("%w: the license has no sso_jwt feature (token-features.sso_jwt is not true)", ErrJWTNotEnabled)
		}
		switch {
		case props.JWTEnabled != nil && !*props.JWTEnabled:
			return fmt.Errorf("%w: Admin > Authentication > JWT is off or lacks its key and URI (jwt-enabled is false)", ErrJWTNotEnabled)
		case props.JWTEnabled == nil && props.OtherSSO != nil && !*props.OtherSSO:
			return fmt.Errorf("%w: Admin > Authentication > JWT is off (other-sso-enabled? is false)", ErrJWTNotEnabled)
		}
		return nil
	}
}

// getJSON GETs url and decodes the body into v whatever the status, since Metabase's 503 carries JSON too.
func getJSON(ctx context.Context, client *http.Client, url string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(v); err != nil && resp.StatusCode == http.StatusOK {
		return resp.StatusCode, fmt.Errorf("GET %s: the answer is not Metabase's JSON: %w", url, err)
	}
	return resp.StatusCode, nil
}

// readiness caches the probe's answer. One request at a time runs the probe; while it does, others get the
// previous answer, or wait for this one if there is none yet.
type readiness struct {
	probe func(ctx context.Context) error
	now   func() time.Time

	mu      sync.Mutex
	err     error
	at      time.Time
	known   bool
	running chan struct{} // non-nil while a probe runs; closed when it ends
}

func (r *readiness) check(ctx context.Context) error {
	r.mu.Lock()
	if r.known && r.now().Sub(r.at) < probeTTL {
		defer r.mu.Unlock()
		return r.err
	}
	if wait := r.running; wait != nil {
		if r.known {
			defer r.mu.Unlock()
			return r.err
		}
		r.mu.Unlock()
		select {
		case <-wait:
			return r.check(ctx)
		case <-ctx.Done():
			return fmt.Errorf("probe Metabase: %w", ctx.Err())
		}
	}
	done := make(chan struct{})
	r.running = done
	r.mu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err := r.probe(pctx)
	cancel()

	r.mu.Lock()
	defer r.mu.Unlock()
	// A request that went away says nothing about Metabase: don't remember that answer.
	if ctx.Err() == nil {
		r.err, r.at, r.known = err, r.now(), true
	}
	r.running = nil
	close(done)
	return err
}
