package metabasetest

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
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

// commonPasswords is a small stand-in for Metabase's common-password list.
var commonPasswords = []string{"password1", "passw0rd", "12345678", "123456", "1234567", "123456789",
	"1234567890", "qwerty1", "abc123", "letmein1", "welcome1", "admin1", "metabase1", "iloveyou1", "monkey1"}

// passwordProblem applies Metabase's default "normal" complexity (contract §2): at least 6 characters with
// a digit, and not a common password. Metabase reports every failure as "password is too common.".
func passwordProblem(p string) string {
	hasDigit := strings.IndexFunc(p, unicode.IsDigit) >= 0
	if len([]rune(p)) < 6 || !hasDigit || slices.Contains(commonPasswords, strings.ToLower(p)) {
		return "password is too common."
	}
	return ""
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
	// contract §2: schema failures are reported together under "errors".
	errs := map[string]string{}
	switch {
	case b.Token == nil || strings.TrimSpace(*b.Token) == "":
		errs["token"] = "value must be a non-blank string."
	case subtle.ConstantTimeCompare([]byte(*b.Token), []byte(s.opts.SetupToken)) != 1:
		errs["token"] = "Token does not match the setup token."
	}
	if b.User.Email == nil || !emailRE.MatchString(*b.User.Email) {
		errs["email"] = "value must be a valid email address."
	}
	if b.User.Password == nil {
		errs["password"] = "password is too common."
	} else if p := passwordProblem(*b.User.Password); p != "" {
		errs["password"] = p
	}
	if b.Prefs.SiteName == nil || strings.TrimSpace(*b.Prefs.SiteName) == "" {
		errs["site_name"] = "value must be a non-blank string."
	}
	if len(errs) > 0 {
		return 0, nil, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": errs})
	}
	u := s.addUser(*b.User.Email, b.User.FirstName, b.User.LastName, true)
	u.PasswordHash = hashPassword(*b.User.Password)
	s.st.Settings["site-name"] = mustJSON(*b.Prefs.SiteName)
	if b.Prefs.SiteLocale != nil {
		s.st.Settings["site-locale"] = mustJSON(*b.Prefs.SiteLocale)
	}
	// contract §2: newest ignores prefs.allow_tracking and turns tracking on.
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

// userJSON is the user as GET /api/user/current shows it (contract §13).
func (s *Server) userJSON(u *user) map[string]any {
	var memberships []map[string]any
	for _, g := range u.groupIDs() {
		memberships = append(memberships, map[string]any{"id": g, "is_group_manager": false})
	}
	return map[string]any{
		"id": u.ID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"common_name": commonName(u), "is_superuser": u.Superuser, "is_active": true, "is_qbnewb": true,
		"sso_source": u.SSOSource, "login_attributes": u.LoginAttrs, "jwt_attributes": u.JWTAttrs,
		"user_group_memberships": memberships, "group_ids": u.groupIDs(), "personal_collection_id": u.PersonalCollID,
		"date_joined": u.DateJoined, "last_login": u.LastLogin, "locale": nil, "type": u.Type,
	}
}

func (s *Server) listUsers(c *call) (int, any, error) {
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Users) {
		if u := s.st.Users[id]; u.Type != "api-key" {
			out = append(out, s.userJSON(u))
		}
	}
	return http.StatusOK, map[string]any{"data": out, "total": len(out), "limit": nil, "offset": nil}, nil
}

func (s *Server) currentUser(c *call) (int, any, error) {
	return http.StatusOK, s.userJSON(c.u), nil
}

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
	return http.StatusOK, s.userJSON(u), nil
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
