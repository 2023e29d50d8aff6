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

func (s *Server) ssoGet(c *call) (int, any, error) {
	// contract §11: the JWT handler is chosen only when JWT is enabled and configured; then the feature
	// is asserted (402), then the redirect checked, then the token.
	if !s.jwtConfigured() {
		return 0, nil, textErr(http.StatusBadRequest, "SSO has not been enabled and/or configured")
	}
	if !s.features()["sso_jwt"] {
		return 0, nil, premiumErr("JWT-based authentication")
	}
	q := c.r.URL.Query()
	token := q.Get("jwt")
	if token == "" {
		// contract §11: no token: send the browser to the IdP with the redirect param as return_to.
		idp := s.rawString("jwt-identity-provider-uri")
		sep := "?"
		if strings.Contains(idp, "?") {
			sep = "&"
		}
		redirect := q.Get("redirect")
		if redirect == "" {
			redirect = q.Get("return_to")
		}
		c.w.Header().Set("Location", idp+sep+"return_to="+url.QueryEscape(redirect))
		return http.StatusFound, nil, nil
	}
	returnTo := q.Get("return_to")
	if returnTo == "" {
		returnTo = q.Get("redirect")
	}
	if returnTo == "" {
		returnTo = "/"
	}
	if !s.safeRedirect(returnTo) {
		return 0, nil, textErr(http.StatusBadRequest, "Invalid redirect URL")
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

func (s *Server) ssoPost(c *call) (int, any, error) {
	if !s.jwtConfigured() {
		return 0, nil, textErr(http.StatusBadRequest, "SSO has not been enabled and/or configured")
	}
	// contract §11: POST is not valid for JWT (newest: 501 error-post-jwt-not-valid).
	return 0, nil, jsonErr(http.StatusNotImplemented, "POST not valid for JWT SSO requests",
		map[string]any{"status": "error-post-jwt-not-valid"})
}

// safeRedirect is sso_utils check-sso-redirect (contract §11): relative, or absolute on site-url's host.
// It also refuses what browsers treat as another host: "//evil", "/\evil", "https:evil", and any of these
// hidden behind percent-encoding.
func (s *Server) safeRedirect(target string) bool {
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

// registeredClaims never become attributes (contract §11).
var registeredClaims = []string{"iss", "iat", "sub", "aud", "exp", "nbf", "jti"}

// jwtUser finds or creates the user named by the token, refreshes names and attributes and syncs groups.
func (s *Server) jwtUser(claims map[string]any) (*user, error) {
	emailKey := s.settingString("jwt-attribute-email")
	firstKey := s.settingString("jwt-attribute-firstname")
	lastKey := s.settingString("jwt-attribute-lastname")
	groupsKey := s.settingString("jwt-attribute-groups")
	email, _ := claims[emailKey].(string)
	if strings.TrimSpace(email) == "" {
		return nil, textErr(http.StatusUnauthorized, "JWT token missing email claim")
	}
	str := func(k string) *string {
		if v, ok := claims[k].(string); ok {
			return &v
		}
		return nil
	}
	u := s.st.userByEmail(email)
	if u == nil {
		if on, _ := s.setting("jwt-user-provisioning-enabled?").(bool); !on {
			return nil, textErr(http.StatusUnauthorized,
				"Sorry, but you'll need a %s account to view this page. Please contact your administrator.", s.settingString("site-name"))
		}
		u = s.addUser(email, str(firstKey), str(lastKey), false)
		u.SSOSource = ptr("jwt")
	}
	if f := str(firstKey); f != nil {
		u.FirstName = f
	}
	if l := str(lastKey); l != nil {
		u.LastName = l
	}
	// contract §11: other claims are stringified; arrays, maps, null and "@" keys are dropped.
	attrs := map[string]string{}
	for k, v := range claims {
		if slices.Contains(registeredClaims, k) || k == emailKey || k == firstKey || k == lastKey || k == groupsKey ||
			strings.HasPrefix(k, "@") {
			continue
		}
		switch v := v.(type) {
		case string:
			attrs[k] = v
		case json.Number:
			attrs[k] = v.String()
		case bool:
			attrs[k] = strconv.FormatBool(v)
		}
	}
	u.JWTAttrs = attrs
	if sync, _ := s.setting("jwt-group-sync").(bool); sync {
		s.syncGroups(u, claims[groupsKey])
	}
	return u, nil
}

// syncGroups follows contract §11 group sync: mapped groups of the claim are added, other mapped groups
// removed, unmapped groups untouched; with no mappings, names match group names (newest), add only.
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
		for _, g := range s.st.Groups {
			if g.MagicType == nil && slices.Contains(names, g.Name) {
				want[g.ID], managed[g.ID] = true, true
			}
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
		if !managed[g] || want[g] {
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
