package metabase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Health is GET /api/health (contract §2).
type Health struct {
	Status   string  `json:"status"`   // "ok", "initializing", …
	Progress float64 `json:"progress"` // 0..1 while initializing
}

// Ready reports whether Metabase answers API calls.
func (h Health) Ready() bool { return h.Status == "ok" }

// Health reads /api/health (ParseHealth is the rule). A 503 while booting is not an error: it is returned as
// Status "initializing" with Metabase's progress.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodGet, "/api/health", nil, nil, &raw)
	var ae *APIError
	switch {
	case err == nil:
		return ParseHealth(http.StatusOK, raw)
	case errors.As(err, &ae):
		// A body without "message" is kept whole as the APIError's message: that is the health answer.
		if h, perr := ParseHealth(ae.Status, []byte(ae.Message)); perr == nil {
			return h, nil
		}
	}
	return Health{}, fmt.Errorf("health: %w", err)
}

// ParseHealth reads one answer of GET /api/health, its status code and body; it is the one place that rule
// lives (the plan's wait, status and preflight through Client.Health, the stack's boot wait directly).
// Metabase answers 200 {"status":"ok"} once it serves, and 503 with a JSON status while it cannot:
// {"status":"initializing","progress":0.4} during the boot, or a reason ("Unable to get app-db connection").
// Source: metabase/metabase src/metabase/server/routes.clj health-handler (init-status/complete?
// and init-status/progress; the app-db connection check). Any other answer (a proxy's 502, a 503 that is not
// JSON, another program on the port) is an *APIError naming the code and the start of the body.
func ParseHealth(code int, body []byte) (Health, error) {
	if code == http.StatusOK {
		return Health{Status: "ok"}, nil
	}
	var h Health
	if code == http.StatusServiceUnavailable && json.Unmarshal(body, &h) == nil && h.Status != "" {
		return h, nil
	}
	text := strings.TrimSpace(string(body[:min(len(body), 200)]))
	return Health{}, &APIError{Method: http.MethodGet, Endpoint: "/api/health", Status: code, Message: text}
}

// Properties is the part of GET /api/session/properties the wizard reads (contract §2).
type Properties struct {
	SetupToken   string          `json:"setup-token"`
	HasUserSetup bool            `json:"has-user-setup"`
	Version      VersionInfo     `json:"version"`
	Features     map[string]bool `json:"token-features"`
	SiteURL      string          `json:"site-url"`
	// Settings the public properties carry when authenticated (newest versions); may be absent.
	EnableEmbeddingInteractive *bool  `json:"enable-embedding-interactive,omitempty"`
	SessionCookieSameSite      string `json:"session-cookie-samesite,omitempty"`
}

// VersionInfo is the "version" property: {"tag":"v1.63.1", …}.
type VersionInfo struct {
	Tag  string `json:"tag"`
	Date string `json:"date,omitempty"`
	Hash string `json:"hash,omitempty"`
}

// Version is a parsed Metabase version tag: v1.63.1 is Enterprise 63.1, v0.63.1 is open source 63.1.
type Version struct {
	Enterprise bool
	Major      int // 63
	Minor      int // 1
	Tag        string
}

// ParseVersion reads "v1.63.1" / "v0.50.2" / "v1.63.1-beta". Unknown shapes give Major 0.
func ParseVersion(tag string) Version {
	v := Version{Tag: tag}
	parts := strings.Split(strings.TrimPrefix(tag, "v"), ".")
	if len(parts) < 2 {
		return v
	}
	v.Enterprise = parts[0] == "1"
	v.Major = leadingInt(parts[1])
	if len(parts) > 2 {
		v.Minor = leadingInt(parts[2])
	}
	return v
}

func leadingInt(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// AtLeast reports whether v is major.minor or newer. An unknown version (Major 0) counts as the newest,
// because the wizard targets current Metabase.
func (v Version) AtLeast(major, minor int) bool {
	if v.Major == 0 {
		return true
	}
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v Version) String() string {
	if v.Tag != "" {
		return v.Tag
	}
	return "unknown"
}

// Token-feature keys of "token-features" (snake_case, contract §3).
const (
	FeatureEmbedding           = "embedding"
	FeatureJWT                 = "sso_jwt"
	FeatureSandboxes           = "sandboxes"
	FeatureAdvancedPermissions = "advanced_permissions"
)

// SessionProperties calls GET /api/session/properties and caches the answer for Properties, Version and
// HasFeature. Call it again after the license changed.
func (c *Client) SessionProperties(ctx context.Context) (Properties, error) {
	var p Properties
	if err := c.do(ctx, http.MethodGet, "/api/session/properties", nil, nil, &p); err != nil {
		return Properties{}, fmt.Errorf("read session properties: %w", err)
	}
	c.mu.Lock()
	c.props = &p
	c.mu.Unlock()
	return p, nil
}

// Properties returns the cached session properties, reading them once if needed.
func (c *Client) Properties(ctx context.Context) (Properties, error) {
	c.mu.RLock()
	p := c.props
	c.mu.RUnlock()
	if p != nil {
		return *p, nil
	}
	return c.SessionProperties(ctx)
}

// Version is the Metabase version, read once.
func (c *Client) Version(ctx context.Context) (Version, error) {
	p, err := c.Properties(ctx)
	if err != nil {
		return Version{}, err
	}
	return ParseVersion(p.Version.Tag), nil
}

// HasFeature reports whether the license unlocks a token feature (FeatureJWT, …), read once.
func (c *Client) HasFeature(ctx context.Context, feature string) (bool, error) {
	p, err := c.Properties(ctx)
	if err != nil {
		return false, err
	}
	return p.Features[feature], nil
}

// SetupRequest is the body of POST /api/setup (contract §2).
type SetupRequest struct {
	Token string     `json:"token"`
	User  SetupUser  `json:"user"`
	Prefs SetupPrefs `json:"prefs"`
}

// SetupUser is the first admin.
type SetupUser struct {
	Email           string `json:"email"`
	Password        string `json:"password"`
	PasswordConfirm string `json:"password_confirm"`
	FirstName       string `json:"first_name"`
	LastName        string `json:"last_name"`
	SiteName        string `json:"site_name,omitempty"`
}

// SetupPrefs are the instance preferences of the setup call.
type SetupPrefs struct {
	SiteName      string `json:"site_name"`
	SiteLocale    string `json:"site_locale,omitempty"`
	AllowTracking bool   `json:"allow_tracking"`
}

type sessionID struct {
	ID string `json:"id"`
}

// Setup creates the first admin (POST /api/setup) and uses the session it returns.
func (c *Client) Setup(ctx context.Context, req SetupRequest) error {
	if req.User.PasswordConfirm == "" {
		req.User.PasswordConfirm = req.User.Password
	}
	var s sessionID
	if err := c.do(ctx, http.MethodPost, "/api/setup", nil, req, &s); err != nil {
		return fmt.Errorf("first-run setup: %w", err)
	}
	c.UseSession(s.ID)
	c.forgetProperties()
	return nil
}

// ErrMFARequired is returned by Login when Metabase answers a password login with a second-factor challenge
// instead of a session. An API key (X-API-Key, UseAPIKey) is not subject to it.
var ErrMFARequired = errors.New("Metabase asks for a second factor (MFA) to sign in with a password")

// Login signs in with email and password (POST /api/session) and uses the session. An answer without a
// session id, or an error that names a second factor, is ErrMFARequired: UNVERIFIED, the challenge's exact
// shape is not settled from the source, so both are read as one.
func (c *Client) Login(ctx context.Context, email, password string) error {
	var s map[string]any
	if err := c.do(ctx, http.MethodPost, "/api/session", nil, map[string]string{"username": email, "password": password}, &s); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && mentionsMFA(ae.Message+" "+ae.Code) {
			return fmt.Errorf("log in as %s: %w (%w)", email, ErrMFARequired, err)
		}
		return fmt.Errorf("log in as %s: %w", email, err)
	}
	id, _ := s["id"].(string)
	if id == "" {
		return fmt.Errorf("log in as %s: %w", email, ErrMFARequired)
	}
	c.UseSession(id)
	c.forgetProperties()
	return nil
}

func mentionsMFA(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"mfa", "two-factor", "2fa", "second factor", "verification code", "totp"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// Logout ends the session (DELETE /api/session).
func (c *Client) Logout(ctx context.Context) error {
	if err := c.do(ctx, http.MethodDelete, "/api/session", nil, nil, nil); err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	c.UseSession("")
	return nil
}

func (c *Client) forgetProperties() {
	c.mu.Lock()
	c.props = nil
	c.mu.Unlock()
}

// APIKey is an answer of POST /api/api-key. UnmaskedKey is shown once.
type APIKey struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	UnmaskedKey string `json:"unmasked_key"`
	MaskedKey   string `json:"masked_key"`
	Group       Group  `json:"group"`
}

// CreateAPIKey makes an API key whose user joins groupID (2 = Administrators for an admin key; contract §2).
func (c *Client) CreateAPIKey(ctx context.Context, name string, groupID int) (APIKey, error) {
	var k APIKey
	if err := c.do(ctx, http.MethodPost, "/api/api-key", nil, map[string]any{"name": name, "group_id": groupID}, &k); err != nil {
		return APIKey{}, fmt.Errorf("create API key %q: %w", name, err)
	}
	return k, nil
}
