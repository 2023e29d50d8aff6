package metabasetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// settingDef is one registered setting (contract §4).
type settingDef struct {
	typ        string // string | boolean | keyword | json
	def        any    // default value
	feature    string // token feature (snake_case) the setting needs; "" for none
	sensitive  bool   // obfuscated on read
	visibility access // public settings show in unauthenticated session properties
	// check validates and normalises a non-null value; nil means by type only.
	check func(s *Server, v any) (any, error)
}

// settingDefs is the emulator's registry. Keys not in it are "Unknown setting" (contract §4).
var settingDefs = map[string]settingDef{
	"site-name":             {typ: "string", def: "Metabase", visibility: public},
	"site-url":              {typ: "string", visibility: public, check: checkSiteURL},
	"site-locale":           {typ: "string", def: "en", visibility: public},
	"admin-email":           {typ: "string", visibility: adminOnly},
	"anon-tracking-enabled": {typ: "boolean", def: false, visibility: public},
	"premium-embedding-token": {typ: "string", sensitive: true, visibility: adminOnly,
		check: checkLicenseToken},
	// contract §4: the 0.51+ keys drive interactive embedding; the legacy pair is stored but drives nothing.
	"enable-embedding-interactive":      {typ: "boolean", def: false, visibility: authenticated},
	"embedding-app-origins-interactive": {typ: "string", feature: "embedding", visibility: adminOnly},
	"enable-embedding":                  {typ: "boolean", def: false, visibility: authenticated},
	"embedding-app-origin":              {typ: "string", visibility: adminOnly},
	"enable-embedding-sdk":              {typ: "boolean", def: false, visibility: authenticated},
	"embedding-app-origins-sdk":         {typ: "string", def: "localhost:*", visibility: adminOnly},
	"enable-embedding-static":           {typ: "boolean", def: false, visibility: authenticated},
	"enable-embedding-simple":           {typ: "boolean", def: false, visibility: authenticated},
	"embedding-homepage":                {typ: "string", visibility: adminOnly},
	"setup-license-active-at-setup":     {typ: "boolean", def: false, visibility: adminOnly},
	"setup-embedding-autoenabled":       {typ: "boolean", def: false, visibility: adminOnly},
	"session-cookie-samesite":           {typ: "keyword", def: "lax", visibility: adminOnly, check: checkSameSite},
	// contract §4: JWT settings are gated by :sso-jwt.
	// jwt-enabled is admin-only in Metabase; the public signal is the read-only other-sso-enabled?
	// (contract §16 "The host app"; src/metabase/sso/settings.clj, frontend public settings list).
	"jwt-enabled":                    {typ: "boolean", def: false, feature: "sso_jwt", visibility: adminOnly},
	"jwt-identity-provider-uri":      {typ: "string", feature: "sso_jwt", visibility: adminOnly},
	"jwt-shared-secret":              {typ: "string", feature: "sso_jwt", sensitive: true, visibility: adminOnly},
	"jwt-attribute-email":            {typ: "string", def: "email", feature: "sso_jwt", visibility: adminOnly},
	"jwt-attribute-firstname":        {typ: "string", def: "first_name", feature: "sso_jwt", visibility: adminOnly},
	"jwt-attribute-lastname":         {typ: "string", def: "last_name", feature: "sso_jwt", visibility: adminOnly},
	"jwt-attribute-groups":           {typ: "string", def: "groups", feature: "sso_jwt", visibility: adminOnly},
	"jwt-group-sync":                 {typ: "boolean", def: false, feature: "sso_jwt", visibility: adminOnly},
	"jwt-group-mappings":             {typ: "json", def: map[string]any{}, feature: "sso_jwt", visibility: adminOnly, check: checkGroupMappings},
	"jwt-user-provisioning-enabled?": {typ: "boolean", def: true, feature: "sso_jwt", visibility: adminOnly},
}

// envName is the environment variable of a setting: MB_ + upper snake case (contract §1).
func envName(key string) string {
	return "MB_" + strings.ToUpper(strings.ReplaceAll(strings.TrimSuffix(key, "?"), "-", "_"))
}

// envValue is the setting's value from the environment, if set.
func (s *Server) envValue(key string) (string, bool) {
	if key == "premium-embedding-token" && s.opts.LicenseToken != "" {
		return s.opts.LicenseToken, true
	}
	if key == "site-url" && s.opts.SiteURL != "" {
		return s.opts.SiteURL, true
	}
	v, ok := s.opts.Env[envName(key)]
	return v, ok && v != ""
}

// rawSetting is the setting's value ignoring feature gates: env first, then the app DB, then the default
// (contract §1: env wins and is never written to the app DB).
func (s *Server) rawSetting(key string) any {
	def := settingDefs[key]
	if v, ok := s.envValue(key); ok {
		switch def.typ {
		case "boolean":
			return strings.EqualFold(v, "true")
		case "json":
			var out any
			if json.Unmarshal([]byte(v), &out) == nil {
				return out
			}
			return def.def
		case "keyword":
			return strings.ToLower(v)
		}
		return v
	}
	if b, ok := s.st.Settings[key]; ok {
		var v any
		json.Unmarshal(b, &v)
		return v
	}
	if key == "site-url" {
		return s.URL
	}
	return def.def
}

// setting is the value code acts on: a gated setting reads as its default without the feature (contract §3),
// and jwt-enabled reads false until the secret and the IdP URI are both set (contract §4).
func (s *Server) setting(key string) any {
	def := settingDefs[key]
	if def.feature != "" && !s.features()[def.feature] {
		return def.def
	}
	if key == "jwt-enabled" {
		return s.jwtConfigured()
	}
	return s.rawSetting(key)
}

// jwtConfigured is jwt-enabled as the SSO dispatch sees it, ignoring the feature gate so that a missing
// sso_jwt feature answers 402 rather than "not configured" (contract §3).
func (s *Server) jwtConfigured() bool {
	on, _ := s.rawSetting("jwt-enabled").(bool)
	return on && s.rawString("jwt-shared-secret") != "" && s.rawString("jwt-identity-provider-uri") != ""
}

func (s *Server) rawString(key string) string {
	v, _ := s.rawSetting(key).(string)
	return v
}

func (s *Server) settingString(key string) string {
	v, _ := s.setting(key).(string)
	return v
}

func (s *Server) settingBool(key string) bool {
	v, _ := s.setting(key).(bool)
	return v
}

// tokenFormat is the server-side license format check (contract §3: lower-case hex only).
var tokenFormat = regexp.MustCompile(`^(mb_dev_[0-9a-f]{57}|[0-9a-f]{64})$|^airgap_.+`)

// features are the token-features unlocked by the current license, if it is valid.
func (s *Server) features() map[string]bool {
	tok := s.rawString("premium-embedding-token")
	if tok == "" || !tokenFormat.MatchString(tok) || slices.Contains(s.opts.InvalidTokens, tok) {
		return map[string]bool{}
	}
	out := map[string]bool{}
	for _, f := range s.opts.Features {
		out[f] = true
	}
	return out
}

func checkLicenseToken(s *Server, v any) (any, error) {
	tok, ok := v.(string)
	if !ok || !tokenFormat.MatchString(tok) {
		// contract §3: format check first, 400 with error-details.
		return nil, jsonErr(http.StatusBadRequest, "Token format is invalid.",
			map[string]any{"error-details": "Token should be 64 hexadecimal characters."})
	}
	if slices.Contains(s.opts.InvalidTokens, tok) {
		// contract §3: then the online check.
		return nil, jsonErr(http.StatusBadRequest, "Invalid token", map[string]any{"error-details": "Token does not exist."})
	}
	return tok, nil
}

func checkSameSite(_ *Server, v any) (any, error) {
	str, _ := v.(string)
	low := strings.ToLower(str)
	// contract §4: lax, strict or none, case-insensitive; anything else is 400.
	if low != "lax" && low != "strict" && low != "none" {
		return nil, jsonErr(http.StatusBadRequest, "Invalid value for session cookie samesite",
			map[string]any{"possible-values": []string{"lax", "none", "strict"}, "session-cookie-samesite": v})
	}
	return low, nil
}

func checkGroupMappings(_ *Server, v any) (any, error) {
	bad := jsonErr(http.StatusBadRequest, "jwt-group-mappings must map group names to arrays of positive integer group ids",
		map[string]any{"errors": map[string]string{"jwt-group-mappings": "map from string to sequence of integers greater than zero"}})
	m, ok := v.(map[string]any)
	if !ok {
		return nil, bad
	}
	// contract §4: values must be arrays of positive ints.
	for _, ids := range m {
		arr, ok := ids.([]any)
		if !ok {
			return nil, bad
		}
		for _, id := range arr {
			n, ok := id.(json.Number)
			if i, err := n.Int64(); !ok || err != nil || i <= 0 {
				return nil, bad
			}
		}
	}
	return m, nil
}

func checkSiteURL(_ *Server, v any) (any, error) {
	str, _ := v.(string)
	if !strings.Contains(str, "://") {
		str = "http://" + str
	}
	u, err := url.Parse(strings.TrimRight(str, "/"))
	if err != nil || u.Host == "" {
		return nil, jsonErr(http.StatusBadRequest, fmt.Sprintf("%q is not a valid URL", v), nil)
	}
	return u.String(), nil
}

// normalise validates value for key and returns what is stored; nil clears the setting.
func (s *Server) normalise(key string, v any) (any, error) {
	def, ok := settingDefs[key]
	if !ok {
		// Metabase's resolve-setting throws an ex-info without :status-code: 500 (contract §16).
		return nil, jsonErr(http.StatusInternalServerError, "Unknown setting: :"+key, nil)
	}
	if def.feature != "" && !s.features()[def.feature] {
		// contract §3: writing a gated setting without its feature is a 500 naming the kebab-case feature.
		return nil, textErr(http.StatusInternalServerError, "Setting %s is not enabled because feature :%s is not available",
			key, strings.ReplaceAll(def.feature, "_", "-"))
	}
	if v == nil {
		return nil, nil
	}
	switch def.typ {
	case "boolean":
		switch b := v.(type) {
		case bool:
			v = b
		case string:
			if !strings.EqualFold(b, "true") && !strings.EqualFold(b, "false") {
				return nil, textErr(http.StatusInternalServerError,
					"Invalid value for string: must be either \"true\" or \"false\" (case-insensitive).")
			}
			v = strings.EqualFold(b, "true")
		default:
			return nil, textErr(http.StatusInternalServerError, "Invalid value for setting %s: expected a boolean", key)
		}
	case "string", "keyword":
		if _, ok := v.(string); !ok {
			return nil, textErr(http.StatusInternalServerError, "Invalid value for setting %s: expected a string", key)
		}
	}
	if def.check != nil {
		return def.check(s, v)
	}
	return v, nil
}

// store writes normalised values to the app DB; nil removes.
func (s *Server) store(values map[string]any) {
	for k, v := range values {
		if v == nil {
			delete(s.st.Settings, k)
			continue
		}
		s.st.Settings[k] = mustJSON(v)
	}
}

// userFacing is GET /api/setting/:key's value: null when env-set or unset, obfuscated when sensitive
// (contract §4).
func (s *Server) userFacing(key string) any {
	if _, env := s.envValue(key); env {
		return nil
	}
	if _, ok := s.st.Settings[key]; !ok {
		return nil
	}
	if settingDefs[key].sensitive {
		str := s.rawString(key)
		if len(str) > 2 {
			return "**********" + str[len(str)-2:]
		}
		return "**********"
	}
	v := s.setting(key)
	// settings/models/setting.clj user-facing-value: a value equal to the default reads null too
	// (value-is-default?), so a stored default cannot be told from an unset setting.
	if d := settingDefs[key].def; d != nil && reflect.DeepEqual(normalJSON(v), normalJSON(d)) {
		return nil
	}
	return v
}

// normalJSON is v as JSON would give it back, for comparing a stored value with a Go default.
func normalJSON(v any) any {
	var out any
	json.Unmarshal(mustJSON(v), &out)
	return out
}

func (s *Server) getSetting(c *call) (int, any, error) {
	key := c.r.PathValue("key")
	if _, ok := settingDefs[key]; !ok {
		return 0, nil, jsonErr(http.StatusInternalServerError, "Unknown setting: :"+key, nil)
	}
	return http.StatusOK, s.userFacing(key), nil
}

func (s *Server) listSettings(c *call) (int, any, error) {
	keys := make([]string, 0, len(settingDefs))
	for k := range settingDefs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []map[string]any{}
	for _, k := range keys {
		_, env := s.envValue(k)
		def := settingDefs[k]
		// settings/models/setting.clj user-facing-info: an env-set setting reads value null (never leaked),
		// is_env_setting true, and its default is the sentence naming the variable (setting_test.clj
		// deftest user-facing-info-test).
		var dflt any = def.def
		if env {
			dflt = "Using value of env var $" + envName(k)
		}
		out = append(out, map[string]any{"key": k, "value": s.userFacing(k), "is_env_setting": env,
			"env_name": envName(k), "default": dflt, "description": nil, "type": def.typ})
	}
	return http.StatusOK, out, nil
}

func (s *Server) putSetting(c *call) (int, any, error) {
	key := c.r.PathValue("key")
	var body map[string]any
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	// contract §4: the body is exactly {"value": …}; any other key is a 400 from the closed schema.
	errs := map[string]string{}
	for k := range body {
		if k != "value" {
			errs[k] = "disallowed key"
		}
	}
	if _, ok := body["value"]; !ok {
		errs["value"] = "missing required key"
	}
	if len(errs) > 0 {
		return 0, nil, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": errs})
	}
	v, err := s.normalise(key, body["value"])
	if err != nil {
		return 0, nil, err
	}
	s.store(map[string]any{key: v})
	return http.StatusNoContent, nil, nil
}

func (s *Server) putSettings(c *call) (int, any, error) {
	var body map[string]any
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	// contract §4: keys may be snake_case; all setters run in one transaction, so one failure saves nothing.
	values := map[string]any{}
	for k, v := range body {
		key := strings.ReplaceAll(k, "_", "-")
		n, err := s.normalise(key, v)
		if err != nil {
			return 0, nil, err
		}
		values[key] = n
	}
	s.store(values)
	return http.StatusNoContent, nil, nil
}

func (s *Server) randomToken(c *call) (int, any, error) {
	// contract §4: 32 random bytes as 64 lower-case hex characters.
	return http.StatusOK, map[string]any{"token": randomHex(32)}, nil
}

func (s *Server) tokenStatus(c *call) (int, any, error) {
	tok := s.rawString("premium-embedding-token")
	if tok == "" {
		// contract §3: 404 without a token.
		return 0, nil, textErr(http.StatusNotFound, "Not found.")
	}
	var feats []string
	for f := range s.features() {
		feats = append(feats, strings.ReplaceAll(f, "_", "-"))
	}
	sort.Strings(feats)
	valid := len(s.features()) > 0
	status := "Token is valid."
	if !valid {
		status = "Token does not exist."
		feats = []string{}
	}
	return http.StatusOK, map[string]any{"valid": valid, "status": status, "features": feats, "trial": false,
		"valid-thru": "2099-12-31T23:59:59Z", "plan-alias": "pro-self-hosted"}, nil
}

// allFeatureKeys are the token-features keys session properties always list (contract §2).
var allFeatureKeys = []string{"advanced_permissions", "audit_app", "cache_granular_controls", "content_verification",
	"embedding", "embedding_sdk", "embedding_simple", "email_allow_list", "hosting", "official_collections",
	"sandboxes", "scim", "serialization", "session_timeout_config", "snippet_collections", "sso_google",
	"sso_jwt", "sso_ldap", "sso_saml", "tenants", "whitelabel"}

func (s *Server) sessionProperties(c *call) (int, any, error) {
	feats := s.features()
	tf := map[string]bool{}
	for _, k := range allFeatureKeys {
		// The tenants feature exists from Gen64 only (jwt_test.clj tenant deftests, newest), and is off
		// unless the license carries it.
		if k == "tenants" && s.gen() < Gen64 {
			continue
		}
		tf[k] = feats[k]
	}
	for k := range feats {
		tf[k] = true
	}
	hasUser := false
	for _, u := range s.st.Users {
		hasUser = hasUser || u.Type == "personal"
	}
	var setupToken any = s.opts.SetupToken
	if hasUser {
		// contract §2: newest code clears the setup token once a user exists.
		setupToken = nil
	}
	out := map[string]any{
		"setup-token": setupToken, "has-user-setup": hasUser, "token-features": tf,
		"version": map[string]any{"tag": s.opts.Version, "date": "2025-06-01", "hash": "fa4e1b2",
			"branch": "release-x." + fmt.Sprint(versionMajor(s.opts.Version)) + ".x"},
		"engines":             map[string]any{"h2": map[string]any{"driver-name": "H2"}, "postgres": map[string]any{"driver-name": "PostgreSQL"}},
		"available-locales":   [][]string{{"en", "English"}, {"es", "Spanish"}},
		"password-complexity": map[string]any{"total": 6, "digit": 1},
		// Read-only and public: JWT (or SAML) is enabled and configured, and the license allows it.
		"other-sso-enabled?": s.setting("jwt-enabled"),
	}
	who := public
	if c.u != nil {
		who = authenticated
		if c.u.Superuser {
			who = adminOnly
		}
	}
	for k, def := range settingDefs {
		if def.visibility <= who && !def.sensitive {
			out[k] = s.setting(k)
		}
	}
	return http.StatusOK, out, nil
}

// securityHeaders follows Metabase's security middleware (contract §16: server/middleware/security.clj):
// frame-ancestors lists embedding-app-origins-interactive only when enable-embedding-interactive is on,
// else 'none'; X-Frame-Options is ALLOW-FROM the first origin, or DENY. Caller holds s.mu.
func (s *Server) securityHeaders(h http.Header) {
	ancestors := "'none'"
	xfo := "DENY"
	if origins := strings.TrimSpace(s.settingString("embedding-app-origins-interactive")); origins != "" &&
		s.settingBool("enable-embedding-interactive") {
		ancestors = origins
		xfo = "ALLOW-FROM " + strings.Fields(origins)[0]
	}
	var csp bytes.Buffer
	csp.WriteString("default-src 'none'; script-src 'self'; child-src 'self'; style-src 'self' 'unsafe-inline'; ")
	csp.WriteString("img-src * 'self' data:; connect-src 'self'; manifest-src 'self'; ")
	csp.WriteString("frame-ancestors " + ancestors + ";")
	h.Set("Content-Security-Policy", csp.String())
	h.Set("X-Frame-Options", xfo)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Permitted-Cross-Domain-Policies", "none")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cache-Control", "max-age=0, no-cache, must-revalidate, proxy-revalidate")
}
