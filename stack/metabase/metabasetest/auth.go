package metabasetest

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

const (
	sessionCookie = "metabase.SESSION"
	timeoutCookie = "metabase.TIMEOUT"
	// maxSessionAge is MAX_SESSION_AGE's default, 20160 minutes (contract §1).
	maxSessionAge = 20160 * 60
)

func (s *Server) health(c *call) (int, any, error) {
	// contract §2: ready is 200 {"status":"ok"}; the booting answer is given by the boot gate in serve.
	return http.StatusOK, map[string]any{"status": "ok"}, nil
}

// newSession makes a session for u and sets the session cookies the way Metabase does (contract §0):
// HttpOnly, Path=/, SameSite from session-cookie-samesite, Secure only over HTTPS.
func (c *call) newSession(u *user) string {
	key := newUUID()
	c.s.st.Sessions[hashKey(key)] = u.ID
	now := c.s.opts.Now()
	u.LastLogin = &now
	same := map[string]http.SameSite{"lax": http.SameSiteLaxMode, "strict": http.SameSiteStrictMode,
		"none": http.SameSiteNoneMode}[c.s.settingString("session-cookie-samesite")]
	secure := c.r.TLS != nil || strings.EqualFold(c.r.Header.Get("X-Forwarded-Proto"), "https")
	http.SetCookie(c.w, &http.Cookie{Name: sessionCookie, Value: key, Path: "/", HttpOnly: true,
		SameSite: same, Secure: secure, MaxAge: maxSessionAge})
	http.SetCookie(c.w, &http.Cookie{Name: timeoutCookie, Value: "alive", Path: "/", SameSite: same,
		Secure: secure, MaxAge: maxSessionAge})
	return key
}

type setupBody struct {
	Token *string `json:"token"`
	User  struct {
		Email     *string `json:"email"`
		Password  *string `json:"password"`
		FirstName *string `json:"first_name"`
		LastName  *string `json:"last_name"`
	} `json:"user"`
	Prefs struct {
		SiteName   *string `json:"site_name"`
		SiteLocale *string `json:"site_locale"`
	} `json:"prefs"`
}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// commonPasswords stands in for the common-password list Metabase checks (util/password.clj is-common?);
// the real list is much longer, these entries are UNVERIFIED samples of it.
var commonPasswords = []string{"password1", "passw0rd", "12345678", "123456", "1234567", "123456789",
	"1234567890", "qwerty1", "abc123", "letmein1", "welcome1", "admin1", "metabase1", "iloveyou1", "monkey1"}

// complexityMin is util/password.clj complexity->char-type->min (several versions read, same values):
// minimum counts per character class for each password-complexity level; "normal" is the default.
var complexityMin = map[string]map[string]int{
	"weak":   {"total": 6},
	"normal": {"total": 6, "digit": 1},
	"strong": {"total": 8, "lower": 2, "upper": 2, "digit": 1, "special": 1},
}

// validPassword is ms/ValidPassword: the char counts of the password-complexity level (env
// MB_PASSWORD_COMPLEXITY, default normal; MB_PASSWORD_LENGTH raises the total, UNVERIFIED) and not a common
// password. util/password.clj count-occurrences: lower/upper by Character case, digits, the rest special.
func (s *Server) validPassword(p string) bool {
	mins, ok := complexityMin[strings.ToLower(s.opts.Env["MB_PASSWORD_COMPLEXITY"])]
	if !ok {
		mins = complexityMin["normal"]
	}
	counts := map[string]int{}
	for _, r := range p {
		counts["total"]++
		switch {
		case unicode.IsLower(r):
			counts["lower"]++
		case unicode.IsUpper(r):
			counts["upper"]++
		case unicode.IsDigit(r):
			counts["digit"]++
		default:
			counts["special"]++
		}
	}
	for class, min := range mins {
		if n, err := strconv.Atoi(s.opts.Env["MB_PASSWORD_LENGTH"]); class == "total" && err == nil && n > min {
			min = n
		}
		if counts[class] < min {
			return false
		}
	}
	return !slices.Contains(commonPasswords, strings.ToLower(p))
}

// setupErrors collects defendpoint's schema answer for POST /api/setup: 400 with "errors" (one humanized
// message per key, nested like the body) and "specific-errors" (malli's explanations). Shapes from
// test/metabase/setup_rest/api_test.clj deftest setup-validation-test / -2 (newest, file id 3144990437):
// missing email {:errors {:user {:email "value must be a valid email address."}} :specific-errors {:user
// {:email ["missing required key, received: nil"]}}}; bad password "valid password that is not too common,
// received: \"…\""; missing site_name {:errors {:prefs "map where {:site_name -> <value must be a non-blank
// string.>…"} :specific-errors {:prefs ["missing required key, received: nil"]}}.
type setupErrors struct {
	errs, specific map[string]any
}

func (e *setupErrors) add(section, field, humanized, specific string) {
	if e.errs == nil {
		e.errs, e.specific = map[string]any{}, map[string]any{}
	}
	if field == "" {
		e.errs[section], e.specific[section] = humanized, []string{specific}
		return
	}
	for _, kv := range []struct {
		m map[string]any
		v any
	}{{e.errs, humanized}, {e.specific, []string{specific}}} {
		sec, _ := kv.m[section].(map[string]any)
		if sec == nil {
			sec = map[string]any{}
			kv.m[section] = sec
		}
		sec[field] = kv.v
	}
}

func (s *Server) setup(c *call) (int, any, error) {
	// contract §2: only while no user exists; then 403 plain text.
	for _, u := range s.st.Users {
		if u.Type != "api-key" {
			return 0, nil, textErr(http.StatusForbidden,
				"The /api/setup route can only be used to create the first user, however a user currently exists.")
		}
	}
	var b setupBody
	if err := decodeBody(c.r, &b); err != nil {
		return 0, nil, err
	}
	var v setupErrors
	const missing = "missing required key, received: nil"
	switch {
	case b.User.Email == nil:
		v.add("user", "email", "value must be a valid email address.", missing)
	case !emailRE.MatchString(*b.User.Email):
		v.add("user", "email", "value must be a valid email address.", fmt.Sprintf("valid email address, received: %q", *b.User.Email))
	}
	switch {
	case b.User.Password == nil:
		v.add("user", "password", "password is too common.", missing)
	case !s.validPassword(*b.User.Password):
		// Metabase echoes the refused value in specific-errors; clients must not log this body.
		v.add("user", "password", "password is too common.",
			fmt.Sprintf("valid password that is not too common, received: %q", *b.User.Password))
	}
	if b.Prefs.SiteName == nil || strings.TrimSpace(*b.Prefs.SiteName) == "" {
		// Only the prefix is in Metabase's test; the rest of the humanized map schema is UNVERIFIED.
		v.add("prefs", "", "map where {:site_name -> <value must be a non-blank string.>}", missing)
	}
	if v.errs != nil {
		return 0, nil, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": v.errs, "specific-errors": v.specific})
	}
	// setup_rest/api.clj checks the token after the schema: setup-validation-test expects exactly
	// {:errors {:token "Token does not match the setup token."}} whether the token is missing or wrong.
	if b.Token == nil || subtle.ConstantTimeCompare([]byte(*b.Token), []byte(s.opts.SetupToken)) != 1 {
		return 0, nil, fieldErr(http.StatusBadRequest, "token", "Token does not match the setup token.")
	}
	u := s.addUser(*b.User.Email, b.User.FirstName, b.User.LastName, true)
	u.PasswordHash = hashPassword(*b.User.Password)
	s.st.Settings["site-name"] = mustJSON(*b.Prefs.SiteName)
	if b.Prefs.SiteLocale != nil {
		s.st.Settings["site-locale"] = mustJSON(*b.Prefs.SiteLocale)
	}
	// setup_rest/api.clj setup-set-settings! (every version from the public-settings era on, file ids
	// 2176038220 and 3081921569): prefs.allow_tracking is ignored, anon-tracking-enabled is set true.
	s.st.Settings["anon-tracking-enabled"] = mustJSON(true)
	return http.StatusOK, map[string]any{"id": c.newSession(u)}, nil
}

// addUser creates a user with a personal collection; admins also join Administrators.
func (s *Server) addUser(email string, first, last *string, superuser bool) *user {
	u := &user{ID: s.st.nextID("user"), Email: email, FirstName: first, LastName: last, Superuser: superuser,
		Type: "personal", LoginAttrs: map[string]string{}, JWTAttrs: map[string]string{},
		DateJoined: s.opts.Now().UTC()}
	if superuser {
		u.Groups = []int{adminsID}
	}
	s.st.Users[u.ID] = u
	coll := s.addCollection(commonName(u)+"'s Personal Collection", nil, "/")
	coll.OwnerID = &u.ID
	u.PersonalCollID = coll.ID
	return u
}

func commonName(u *user) string {
	name := strings.TrimSpace(deref(u.FirstName) + " " + deref(u.LastName))
	if name == "" {
		return u.Email
	}
	return name
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

const pbkdf2Iterations = 10000

func hashPassword(p string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	k, _ := pbkdf2.Key(sha256.New, p, salt, pbkdf2Iterations, 32)
	return hex.EncodeToString(salt) + ":" + hex.EncodeToString(k)
}

func checkPassword(hash, p string) bool {
	saltHex, keyHex, ok := strings.Cut(hash, ":")
	salt, err1 := hex.DecodeString(saltHex)
	want, err2 := hex.DecodeString(keyHex)
	if !ok || err1 != nil || err2 != nil {
		return false
	}
	k, err := pbkdf2.Key(sha256.New, p, salt, pbkdf2Iterations, 32)
	return err == nil && subtle.ConstantTimeCompare(k, want) == 1
}

func (s *Server) login(c *call) (int, any, error) {
	var b struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	if err := decodeBody(c.r, &b); err != nil {
		return 0, nil, err
	}
	if b.Username == nil || strings.TrimSpace(*b.Username) == "" {
		return 0, nil, fieldErr(http.StatusBadRequest, "username", "value must be a non-blank string.")
	}
	if b.Password == nil || *b.Password == "" {
		return 0, nil, fieldErr(http.StatusBadRequest, "password", "value must be a non-blank string.")
	}
	// contract §2: unknown user and wrong password get the same 401 JSON.
	u := s.st.userByEmail(*b.Username)
	if u == nil || u.PasswordHash == "" || !checkPassword(u.PasswordHash, *b.Password) {
		return 0, nil, fieldErr(http.StatusUnauthorized, "password", "did not match stored password")
	}
	if s.opts.MFA && s.gen() >= Gen60 {
		// Options.MFA: the account has a second factor, so the password alone yields no session. The shape of
		// Metabase's challenge is UNVERIFIED (no MFA source was found); what a client can rely on is that the
		// answer carries no session "id". X-API-Key requests never pass through here.
		return http.StatusOK, map[string]any{"mfa_required": true}, nil
	}
	return http.StatusOK, map[string]any{"id": c.newSession(u)}, nil
}

func (s *Server) logout(c *call) (int, any, error) {
	key := c.r.Header.Get("X-Metabase-Session")
	if ck, err := c.r.Cookie(sessionCookie); key == "" && err == nil {
		key = ck.Value
	}
	delete(s.st.Sessions, hashKey(key))
	http.SetCookie(c.w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	return http.StatusNoContent, nil, nil
}

func (s *Server) createAPIKey(c *call) (int, any, error) {
	var b struct {
		Name    *string `json:"name"`
		GroupID *int    `json:"group_id"`
	}
	if err := decodeBody(c.r, &b); err != nil {
		return 0, nil, err
	}
	if b.Name == nil || strings.TrimSpace(*b.Name) == "" {
		return 0, nil, fieldErr(http.StatusBadRequest, "name", "value must be a non-blank string.")
	}
	if b.GroupID == nil || *b.GroupID <= 0 {
		return 0, nil, fieldErr(http.StatusBadRequest, "group_id", "value must be an integer greater than zero.")
	}
	g := s.st.Groups[*b.GroupID]
	if g == nil {
		return 0, nil, errNotFound
	}
	for _, k := range s.st.APIKeys {
		if k.Name == *b.Name {
			// contract §2: duplicate name.
			return 0, nil, fieldErr(http.StatusBadRequest, "name", "An API key with this name already exists.")
		}
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	key := "mb_" + base64.RawURLEncoding.EncodeToString(raw)
	// contract §2: the key user joins the chosen group (plus All Users); group 2 makes it an admin key.
	ku := &user{ID: s.st.nextID("user"), Email: "api-key-user-" + newUUID() + "@api-key.invalid",
		FirstName: b.Name, Type: "api-key", Superuser: g.ID == adminsID, LoginAttrs: map[string]string{},
		JWTAttrs: map[string]string{}, DateJoined: s.opts.Now().UTC()}
	if g.ID != allUsersID {
		ku.Groups = []int{g.ID}
	}
	s.st.Users[ku.ID] = ku
	k := &apiKey{ID: s.st.nextID("api-key"), Name: *b.Name, GroupID: g.ID, UserID: ku.ID, KeyHash: hashKey(key),
		Prefix: key[:7], CreatedAt: s.opts.Now().UTC()}
	s.st.APIKeys[k.ID] = k
	out := s.apiKeyJSON(k)
	out["unmasked_key"] = key
	return http.StatusOK, out, nil
}

func (s *Server) apiKeyJSON(k *apiKey) map[string]any {
	return map[string]any{"id": k.ID, "name": k.Name, "masked_key": k.Prefix + "****************************************",
		"group":      map[string]any{"id": k.GroupID, "name": s.st.Groups[k.GroupID].Name},
		"created_at": k.CreatedAt, "updated_at": k.CreatedAt, "user_id": k.UserID}
}

func (s *Server) listAPIKeys(c *call) (int, any, error) {
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.APIKeys) {
		out = append(out, s.apiKeyJSON(s.st.APIKeys[id]))
	}
	return http.StatusOK, out, nil
}

// userJSON is the user record both user endpoints share (users model default columns). Which attribute keys
// exist follows the generation: jwt_attributes only from Gen57 (core_user.jwt_attributes, written by the JWT
// provider: jwt_test.clj deftest create-new-account-test reads :jwt_attributes).
func (s *Server) userJSON(u *user) map[string]any {
	var login any = u.LoginAttrs
	if u.LoginAttrsJSON != nil {
		login = u.LoginAttrsJSON
	}
	if len(u.LoginAttrs) == 0 && u.LoginAttrsJSON == nil {
		// jwt_test.clj deftest login-as-existing-user-test: a JWT user's login_attributes are nil.
		login = nil
	}
	out := map[string]any{
		"id": u.ID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"common_name": commonName(u), "is_superuser": u.Superuser, "is_active": true, "is_qbnewb": true,
		"sso_source": u.SSOSource, "login_attributes": login,
		"date_joined": u.DateJoined, "last_login": u.LastLogin, "locale": nil,
		// frontend/src/metabase-types/api/user.ts BaseUser also requires first_login and updated_at.
		"first_login": firstLogin(u), "updated_at": u.DateJoined,
	}
	if s.gen() >= Gen57 {
		var jwtAttrs any
		if len(u.JWTAttrs) > 0 {
			jwtAttrs = u.JWTAttrs
		}
		out["jwt_attributes"] = jwtAttrs
	}
	if s.gen() >= Gen64 {
		// jwt_test.clj deftest create-new-account-test (tenants era): users carry tenant_id (nil: internal).
		out["tenant_id"] = nil
	}
	return out
}

// firstLogin is the user's first sign-in (add-first-login); the emulator keeps only the last, so before any
// sign-in it is the join date.
func firstLogin(u *user) any {
	if u.LastLogin == nil {
		return u.DateJoined
	}
	return u.LastLogin
}

// memberships is the user_group_memberships hydration: [{"id": group, "is_group_manager": false}].
func memberships(u *user) []map[string]any {
	var out []map[string]any
	for _, g := range u.groupIDs() {
		out = append(out, map[string]any{"id": g, "is_group_manager": false})
	}
	return out
}

func (s *Server) listUsers(c *call) (int, any, error) {
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Users) {
		if u := s.st.Users[id]; u.Type != "api-key" {
			// users_rest/api.clj GET "/" (id 2495253365): admins get personal_collection_id and group_ids.
			m := s.userJSON(u)
			m["group_ids"] = u.groupIDs()
			m["personal_collection_id"] = u.PersonalCollID
			out = append(out, m)
		}
	}
	return http.StatusOK, map[string]any{"data": out, "total": len(out), "limit": nil, "offset": nil}, nil
}

// currentUser is GET /api/user/current: users_rest/api.clj defendpoint :get "/current" hydrates
// :personal_collection_id :group_ids … and NOT :user_group_memberships (newest, file id 2495253365).
func (s *Server) currentUser(c *call) (int, any, error) {
	out := s.userJSON(c.u)
	out["group_ids"] = c.u.groupIDs()
	out["personal_collection_id"] = c.u.PersonalCollID
	// user.ts User: the keys GET /current adds (add-has-question-and-dashboard, add-custom-homepage-info).
	out["has_invited_second_user"] = false
	out["is_installer"] = c.u.ID == 1
	out["has_question_and_dashboard"] = len(s.st.Dashboards) > 0
	out["custom_homepage"] = nil
	return http.StatusOK, out, nil
}

// getUser is GET /api/user/:id: users_rest/api.clj defendpoint :get "/:id" checks self-or-superuser (or group
// manager) and hydrates :user_group_memberships; no group_ids (file id 2495253365).
func (s *Server) getUser(c *call) (int, any, error) {
	id, err := pathID(c.r, "id")
	if err != nil {
		return 0, nil, err
	}
	if !c.u.Superuser && c.u.ID != id {
		return 0, nil, errForbidden
	}
	u := s.st.Users[id]
	if u == nil {
		return 0, nil, errNotFound
	}
	out := s.userJSON(u)
	out["user_group_memberships"] = memberships(u)
	return http.StatusOK, out, nil
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
