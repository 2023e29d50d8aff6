package metabasetest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// JWT single sign-on (contract §11).

// errCorrupt is buddy-sign's answer for a bad signature, a foreign algorithm or a malformed token.
var errCorrupt = textErr(http.StatusUnauthorized, "Message seems corrupt or manipulated.")

// maxAge is the max-age Metabase passes to buddy's unsign (contract §11).
const maxAge = 180

// ssoErr is an ex-info thrown with {:status <status> :status-code n}: Metabase's exception middleware answers
// JSON carrying the message, the status and the ex-data. Shape from jwt_test.clj deftest sso-prereqs-test
// (newest, commit of file id 2418340274): {:cause msg, :data {:status s, :status-code n}, :message msg, :status s}.
func ssoErr(code int, msg, status string) *apiError {
	return jsonErr(code, msg, map[string]any{"cause": msg, "status": status,
		"data": map[string]any{"status": status, "status-code": code}})
}

// errSSODisabled is the dispatch's :default answer (sso/api/interface.clj). jwt_test.clj deftest
// sso-prereqs-test: 400 JSON error-sso-disabled when JWT is off, not configured, or when JWT is configured but
// the token lacks sso-jwt ("SSO requests fail if they don't have a valid premium-features token": jwt-enabled
// is a :feature :sso-jwt setting, so it reads false and dispatch falls to :default). Not 402.
var errSSODisabled = ssoErr(http.StatusBadRequest, "SSO has not been enabled and/or configured", "error-sso-disabled")

func (s *Server) ssoGet(c *call) (int, any, error) {
	// Dispatch (sso/api/interface.clj): the JWT handler only when jwt-enabled reads true, which needs the
	// sso-jwt feature, the enabled flag and the configuration (jwt_test.clj deftest sso-prereqs-test).
	if !s.jwtConfigured() || !s.features()["sso_jwt"] {
		return 0, nil, errSSODisabled
	}
	q := c.r.URL.Query()
	token := q.Get("jwt")
	returnTo := q.Get("return_to")
	if returnTo == "" {
		returnTo = "/"
	}
	// integrations/jwt.clj session-data runs check-sso-redirect on return_to before the token is read; the
	// newest (auth-identity) version calls session-data even without a token, so a bad return_to is refused
	// there too. jwt_test.clj deftest no-open-redirect-test: 400, the test reads (:message body), so JSON.
	if (token != "" || s.gen() >= Gen64) && !s.safeRedirect(returnTo) {
		return 0, nil, jsonErr(http.StatusBadRequest, "Invalid redirect URL", nil)
	}
	if token == "" {
		// integrations/jwt.clj redirect-to-idp (every version read): (str idp "?return_to=" redirect), with
		// "&" when the IdP URI has a "?" (jwt_test.clj deftest redirect-test, #13078). The value is the
		// *redirect* parameter, concatenated as it arrived: not re-encoded, and absent when there is none.
		idp := s.rawString("jwt-identity-provider-uri")
		loc := idp
		if redirect, ok := rawQueryParam(c.r.URL.RawQuery, "redirect"); ok {
			sep := "?return_to="
			if strings.Contains(idp, "?") {
				sep = "&return_to="
			}
			loc = idp + sep + redirect
		}
		c.w.Header().Set("Location", loc)
		return http.StatusFound, nil, nil
	}
	claims, err := s.verifyJWT(token)
	if err != nil {
		return 0, nil, err
	}
	u, err := s.jwtUser(claims)
	if err != nil {
		return 0, nil, err
	}
	c.newSession(u)
	c.w.Header().Set("Location", returnTo)
	return http.StatusFound, nil, nil
}

// rawQueryParam is the decoded value of key in a raw query, as ring's params middleware hands it to the
// handler: decoded once, so "%2F" arrives as "/" and a nested "?a=b" stays in the value only when encoded.
func rawQueryParam(raw, key string) (string, bool) {
	for part := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil && dk == key {
			dv, err := url.QueryUnescape(v)
			if err != nil {
				return v, true
			}
			return dv, true
		}
	}
	return "", false
}

func (s *Server) ssoPost(c *call) (int, any, error) {
	if !s.jwtConfigured() || !s.features()["sso_jwt"] {
		return 0, nil, errSSODisabled
	}
	// integrations/jwt.clj defmethod sso-post :jwt: no version read accepts a JWT by POST. The older one
	// (metabase.public-settings era) throws {:status-code 400}: plain text; later ones add
	// {:status "error-post-jwt-not-valid" :status-code 501}: JSON. Generation boundary UNVERIFIED (Gen55+ here).
	if s.gen() < Gen55 {
		return 0, nil, textErr(http.StatusBadRequest, "POST not valid for JWT SSO requests")
	}
	return 0, nil, ssoErr(http.StatusNotImplemented, "POST not valid for JWT SSO requests", "error-post-jwt-not-valid")
}

// safeRedirect is sso_utils.clj check-sso-redirect (newest read, ids 2582408625 / 9462937939): the value
// is parsed as a java.net.URI (a syntax error is a refusal) and accepted when it is relative (no scheme and
// no host) or its host equals site-url's host. Java's URI refuses characters such as a backslash, a space, a
// control character or a bad %-escape; it does not decode, so "%2F%2Fevil" is a relative path there, which
// the browser resolves under Metabase's own origin. Options.Strict also refuses encoded and
// scheme-relative tricks once decoded (the emulator's older, stricter rule).
func (s *Server) safeRedirect(target string) bool {
	if !javaURISyntax(target) {
		return false
	}
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	site, _ := url.Parse(s.rawString("site-url"))
	relative := u.Scheme == "" && u.Host == ""
	if !relative && (site == nil || u.Hostname() == "" || u.Hostname() != site.Hostname()) {
		return false
	}
	if s.opts.Strict {
		return s.strictRedirect(target)
	}
	return true
}

// javaURISyntax approximates what java.net.URI accepts: RFC 2396 characters, %HH escapes, and non-ASCII
// "other" characters; no spaces, controls, backslashes or the other excluded ASCII characters.
func javaURISyntax(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c < 0x20 || c == 0x7f || strings.IndexByte(" \"<>\\^`{|}", c) >= 0:
			return false
		case c == '%':
			if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// strictRedirect is the emulator's stricter rule (Options.Strict): relative values must start with one "/",
// and what browsers treat as another host ("//evil", "/\evil", "https:evil") is refused also behind
// percent-encoding.
func (s *Server) strictRedirect(target string) bool {
	site, err := url.Parse(s.rawString("site-url"))
	if err != nil {
		return false
	}
	for range 3 {
		if strings.ContainsAny(target, "\\\t\r\n\x00") || strings.HasPrefix(target, "//") {
			return false
		}
		u, err := url.Parse(target)
		if err != nil {
			return false
		}
		if u.Scheme != "" || u.Host != "" || u.Opaque != "" {
			if (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" ||
				!strings.EqualFold(u.Hostname(), site.Hostname()) {
				return false
			}
		} else if !strings.HasPrefix(target, "/") {
			return false
		}
		dec, err := url.PathUnescape(target)
		if err != nil {
			return false
		}
		if dec == target {
			return true
		}
		target = dec
	}
	return false
}

// verifyJWT is buddy-sign's jwt/unsign with {:alg :hs256, :max-age 180} (contract §11).
func (s *Server) verifyJWT(token string) (map[string]any, error) {
	secret := s.rawString("jwt-shared-secret")
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation(), jwt.WithJSONNumber())
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return []byte(secret), nil })
	if err != nil {
		return nil, errCorrupt
	}
	now := s.opts.Now().Unix()
	num := func(k string) (int64, bool, error) {
		v, ok := claims[k]
		if !ok || v == nil {
			return 0, false, nil
		}
		n, ok := v.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil {
			return 0, false, errCorrupt
		}
		return int64(math.Floor(f)), true, nil
	}
	// buddy validate-claims order: exp, nbf, then max-age against iat.
	if exp, ok, err := num("exp"); err != nil {
		return nil, err
	} else if ok && exp <= now {
		return nil, textErr(http.StatusUnauthorized, "Token is expired (%d)", exp)
	}
	if nbf, ok, err := num("nbf"); err != nil {
		return nil, err
	} else if ok && nbf > now {
		return nil, textErr(http.StatusUnauthorized, "Token is not yet valid (%d)", nbf)
	}
	if iat, ok, err := num("iat"); err != nil {
		return nil, err
	} else if ok && now-iat > maxAge {
		return nil, textErr(http.StatusUnauthorized, "Token is older than max-age (%d)", maxAge)
	}
	return claims, nil
}

// registeredClaims never become attributes: integrations/jwt.clj and providers/jwt.clj registered-claims
// (every version read); jwt_test.clj deftest happy-path-test ("registered claims should not be synced").
var registeredClaims = []string{"iss", "iat", "sub", "aud", "exp", "nbf", "jti"}

// jwtUser finds or creates the user named by the token, refreshes names and attributes and syncs groups.
func (s *Server) jwtUser(claims map[string]any) (*user, error) {
	emailKey := s.settingString("jwt-attribute-email")
	firstKey := s.settingString("jwt-attribute-firstname")
	lastKey := s.settingString("jwt-attribute-lastname")
	groupsKey := s.settingString("jwt-attribute-groups")
	email, _ := claims[emailKey].(string)
	if strings.TrimSpace(email) == "" {
		// providers/jwt.clj authenticate: "JWT token missing email claim", surfaced by session-data as 401.
		return nil, textErr(http.StatusUnauthorized, "JWT token missing email claim")
	}
	str := func(k string) *string {
		if v, ok := claims[k].(string); ok {
			return &v
		}
		return nil
	}
	if s.gen() >= Gen64 {
		if err := tenantClaim(claims["@tenant"]); err != nil {
			return nil, err
		}
	}
	u := s.st.userByEmail(email)
	if u == nil {
		// jwt_test.clj deftest create-new-jwt-user-no-user-provisioning-test: 401 plain text.
		if on, _ := s.setting("jwt-user-provisioning-enabled?").(bool); !on {
			return nil, textErr(http.StatusUnauthorized,
				"Sorry, but you'll need a %s account to view this page. Please contact your administrator.", s.settingString("site-name"))
		}
		u = s.addUser(email, str(firstKey), str(lastKey), false)
		u.SSOSource = ptr("jwt")
	}
	// jwt_test.clj deftest update-account-test: names are updated on every login; a missing name claim
	// leaves the stored one (deftest name-does-not-get-overwritten-on-new-login).
	if f := str(firstKey); f != nil {
		u.FirstName = f
	}
	if l := str(lastKey); l != nil {
		u.LastName = l
	}
	if s.gen() < Gen57 {
		// Gen52/Gen55: integrations/jwt.clj jwt-data->login-attributes (metabase.public-settings era, file id
		// 3917093540) dissocs only email/first/last and the registered claims, so the groups claim stays, and
		// values are kept as they are (no stringification): they go to login_attributes (jwt_test.clj of
		// that era, deftest happy-path-test reads :login_attributes).
		u.LoginAttrs, u.LoginAttrsJSON = map[string]string{}, map[string]json.RawMessage{}
		for k, v := range claims {
			if slices.Contains(registeredClaims, k) || k == emailKey || k == firstKey || k == lastKey {
				continue
			}
			u.LoginAttrsJSON[k] = mustJSON(v)
			if sv, ok := stringify(v); ok {
				u.LoginAttrs[k] = sv
			}
		}
	} else {
		// Gen57+: providers/jwt.clj jwt-data->user-attributes drops the groups claim too, then
		// stringify-valid-attributes: strings kept, numbers and booleans stringified, arrays/maps/null and
		// "@" keys dropped; stored in jwt_attributes (jwt_test.clj deftest non-string-jwt-claims-dropped-test,
		// deftest create-new-account-test). login_attributes stay as they were (deftest
		// login-as-existing-user-test: nil after JWT logins).
		attrs := map[string]string{}
		for k, v := range claims {
			if slices.Contains(registeredClaims, k) || k == emailKey || k == firstKey || k == lastKey || k == groupsKey ||
				strings.HasPrefix(k, "@") {
				continue
			}
			if sv, ok := stringify(v); ok {
				attrs[k] = sv
			}
		}
		u.JWTAttrs = attrs
	}
	// providers/jwt.clj login! :after / integrations/jwt.clj sync-groups!: only with jwt-group-sync on, and
	// only when the token carries the groups claim: absent, memberships are left as they are.
	if sync, _ := s.setting("jwt-group-sync").(bool); sync {
		if raw, ok := claims[groupsKey]; ok && raw != nil {
			s.syncGroups(u, raw)
		}
	}
	return u, nil
}

// tenantClaim is the tenants generation's check of the "@tenant" claim (jwt-attribute-tenant's default)
// with use-tenants off, the emulator's only state: providers/jwt.clj authenticate refuses a value that is
// not a string or an integer (401, jwt_test.clj deftest non-string-tenant-slugs-are-handled-correctly), and
// tenants/auth_provider.clj validate-with-tenants-disabled! refuses any non-empty slug with 403 "Tenants and
// tenant users are disabled." (jwt_test.clj deftest new-users-are-not-assigned-a-tenant-if-tenants-is-not-enabled).
func tenantClaim(v any) error {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if v == "" {
			return nil
		}
	case json.Number:
		if _, err := v.Int64(); err != nil {
			return textErr(http.StatusUnauthorized, "Value of `@tenant` must be a string")
		}
	default:
		return textErr(http.StatusUnauthorized, "Value of `@tenant` must be a string")
	}
	return textErr(http.StatusForbidden, "Tenants and tenant users are disabled.")
}

// lastAdmin reports whether u is the only active superuser (permissions-group-membership's pre-delete
// hook refuses to remove the last admin).
func (s *Server) lastAdmin(u *user) bool {
	for _, o := range s.st.Users {
		if o.ID != u.ID && o.Superuser && o.Type == "personal" {
			return false
		}
	}
	return u.Superuser
}

// stringify is sso_utils stringify-valid-attributes for one value.
func stringify(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// syncGroups is integrations.common / sso sync-group-memberships! as the JWT provider calls it.
//   - With jwt-group-mappings: the claim's mapped groups are added and every other mapped group removed;
//     unmapped groups and All Users are untouched (3-arity; jwt_test.clj deftest login-sync-group-memberships-test).
//   - Without mappings, Gen57+: groups are matched by name (providers/jwt.clj group-names->ids selects
//     PermissionsGroup by :name) and the 2-arity sync makes them the user's only groups besides the magic
//     ones (jwt_test.clj deftest tenant-user-group-sync-on-subsequent-login-test: Group A is left for Group B).
//   - Without mappings, Gen55: name matching, adding only (UNVERIFIED: the reading, no source read).
//   - Without mappings, Gen52: integrations/jwt.clj of that era maps names only through the mappings, so
//     nothing changes.
func (s *Server) syncGroups(u *user, raw any) {
	var names []string
	if arr, ok := raw.([]any); ok {
		for _, v := range arr {
			if n, ok := v.(string); ok {
				names = append(names, n)
			}
		}
	}
	mappings, _ := s.setting("jwt-group-mappings").(map[string]any)
	want, managed := map[int]bool{}, map[int]bool{}
	if len(mappings) == 0 {
		if s.gen() == Gen52 {
			return
		}
		for _, g := range s.st.Groups {
			if slices.Contains(names, g.Name) && g.ID != allUsersID {
				want[g.ID] = true
			}
		}
		if s.gen() >= Gen57 {
			// 2-arity (sso/common.clj, id 2668224212): every current group but the excluded ones (All Users,
			// All tenant users) is managed, Administrators included.
			for _, g := range u.Groups {
				managed[g] = true
			}
		}
		for id := range want {
			managed[id] = true
		}
	}
	for name, ids := range mappings {
		arr, _ := ids.([]any)
		for _, raw := range arr {
			id, err := strconv.Atoi(fmt.Sprint(raw))
			if err != nil || s.st.Groups[id] == nil || id == allUsersID {
				continue
			}
			managed[id] = true
			if slices.Contains(names, name) {
				want[id] = true
			}
		}
	}
	kept := []int{}
	for _, g := range u.Groups {
		// sync-group-memberships*! catches the "last admin" refusal and keeps the membership (with a warning).
		if !managed[g] || want[g] || g == adminsID && s.lastAdmin(u) {
			kept = append(kept, g)
		}
	}
	for id := range want {
		if !slices.Contains(kept, id) {
			kept = append(kept, id)
		}
	}
	slices.Sort(kept)
	u.Groups = kept
	if u.Type == "personal" && !u.Superuser && slices.Contains(kept, adminsID) {
		u.Superuser = true
	}
	if u.Superuser && !slices.Contains(kept, adminsID) {
		u.Superuser = false
	}
}
