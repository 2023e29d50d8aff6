package metabase

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// Setting keys the quick start writes (contract §4). The deprecated ≤0.50 names are kept apart so that the
// version branch lives in one place (wizard/plan).
const (
	SettingPremiumToken                = "premium-embedding-token"
	SettingEnableEmbeddingInteractive  = "enable-embedding-interactive"
	SettingEmbeddingOriginsInteractive = "embedding-app-origins-interactive"
	SettingLegacyEnableEmbedding       = "enable-embedding"     // ≤0.50
	SettingLegacyEmbeddingOrigin       = "embedding-app-origin" // ≤0.50
	SettingSessionCookieSameSite       = "session-cookie-samesite"
	SettingJWTEnabled                  = "jwt-enabled"
	SettingJWTIdentityProviderURI      = "jwt-identity-provider-uri"
	SettingJWTSharedSecret             = "jwt-shared-secret"
	SettingJWTGroupSync                = "jwt-group-sync"
	SettingJWTGroupMappings            = "jwt-group-mappings"
	SettingJWTUserProvisioning         = "jwt-user-provisioning-enabled?"
	SettingSiteURL                     = "site-url"
)

// Setting is one row of GET /api/setting (admin).
type Setting struct {
	Key          string `json:"key"`
	Value        any    `json:"value"`
	IsEnvSetting bool   `json:"is_env_setting"`
	EnvName      string `json:"env_name"`
	Default      any    `json:"default"`
	Description  string `json:"description"`
}

// Settings lists every setting (GET /api/setting).
func (c *Client) Settings(ctx context.Context) ([]Setting, error) {
	var s []Setting
	if err := c.do(ctx, http.MethodGet, "/api/setting", nil, nil, &s); err != nil {
		return nil, fmt.Errorf("list settings: %w", err)
	}
	return s, nil
}

// SettingsMap is Settings keyed by setting name.
func (c *Client) SettingsMap(ctx context.Context) (map[string]Setting, error) {
	list, err := c.Settings(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Setting, len(list))
	for _, s := range list {
		m[s.Key] = s
	}
	return m, nil
}

// Setting reads one setting's user-facing value (GET /api/setting/:key) into out. Env-set and default-valued
// settings read as null; sensitive ones come obfuscated (contract §4).
func (c *Client) Setting(ctx context.Context, key string, out any) error {
	if err := c.do(ctx, http.MethodGet, "/api/setting/"+url.PathEscape(key), nil, nil, out); err != nil {
		return fmt.Errorf("read setting %s: %w", key, err)
	}
	return nil
}

// SetSetting writes one setting: PUT /api/setting/:key with exactly {"value": v} (contract §4); nil clears it.
// The error never repeats the value, which may be a secret.
func (c *Client) SetSetting(ctx context.Context, key string, value any) error {
	if err := c.do(ctx, http.MethodPut, "/api/setting/"+url.PathEscape(key), nil, map[string]any{"value": value}, nil); err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	if key == SettingPremiumToken {
		c.forgetProperties() // token-features change with the license
	}
	return nil
}

// SetSettings writes several settings in one call (PUT /api/setting); newer versions save all or nothing.
func (c *Client) SetSettings(ctx context.Context, values map[string]any) error {
	if err := c.do(ctx, http.MethodPut, "/api/setting", nil, values, nil); err != nil {
		return fmt.Errorf("write settings %s: %w", keysOf(values), err)
	}
	if _, ok := values[SettingPremiumToken]; ok {
		c.forgetProperties()
	}
	return nil
}

func keysOf(m map[string]any) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return fmt.Sprint(ks)
}

// RandomToken is what the admin UI's "Generate key" button calls: GET /api/util/random_token, 64 lower-case
// hex characters (contract §4 "Generate key").
func (c *Client) RandomToken(ctx context.Context) (string, error) {
	var t struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/util/random_token", nil, nil, &t); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return t.Token, nil
}

// TokenStatus is GET /api/premium-features/token/status (contract §3). Features are kebab-case here.
type TokenStatus struct {
	Valid     bool     `json:"valid"`
	Status    string   `json:"status"`
	Features  []string `json:"features"`
	Trial     bool     `json:"trial"`
	ValidThru string   `json:"valid-thru"`
}

// TokenStatus reads the license's status; 404 (no token) is an *APIError.
func (c *Client) TokenStatus(ctx context.Context) (TokenStatus, error) {
	var t TokenStatus
	if err := c.do(ctx, http.MethodGet, "/api/premium-features/token/status", nil, nil, &t); err != nil {
		return TokenStatus{}, fmt.Errorf("read license status: %w", err)
	}
	return t, nil
}
