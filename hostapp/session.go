package hostapp

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Cookie names. Cookies are not scoped by port, so on localhost Metabase (its own metabase.SESSION) and the
// host app see each other's cookies: the names must not collide.
const (
	SessionCookie = "hostapp_session"
	loginCookie   = "hostapp_login" // binds the login form's CSRF token before there is a session
)

// SessionTTL is how long a host-app sign-in lasts; after it the user signs in again.
const SessionTTL = 8 * time.Hour

// session is one signed-in browser. Its identity never changes: switching user makes a new session.
type session struct {
	id      string
	user    *member
	expires time.Time

	analytics atomic.Pointer[[]byte] // the rendered /analytics page, once asked for
}

// csrfBinding is what the CSRF tokens of a signed-in user's forms are bound to.
func (s *session) csrfBinding() string { return "session:" + s.id }

// MaxSessions caps the session store. A demo has a handful of signed-in browsers; 2,048 is far more than
// a room of people, and keeps the store under about 10 MB even when every session has rendered its
// /analytics page (about 3 KB). Past the cap the oldest session is signed out: a sign-in flood (60,000
// sign-ins once grew the process to 556 MB) costs old sessions, never memory.
const MaxSessions = 2048

// sessions is the in-memory session store: a demo host app restarts with its users signed out. Sessions
// are kept in creation order, which is also expiry order (every session lives SessionTTL), so eviction and
// expiry both take from the front.
type sessions struct {
	now func() time.Time
	max int

	mu   sync.RWMutex
	byID map[string]*list.Element // values are *session
	age  list.List                // oldest first
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, max: MaxSessions, byID: map[string]*list.Element{}}
}

// create starts a session for u with a fresh random id; replaced is the id it rotates out (may be empty), so
// a session id seen before sign-in is never valid after it.
func (s *sessions) create(u *member, replaced string) *session {
	now := s.now()
	sess := &session{id: randomID(), user: u, expires: now.Add(SessionTTL)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(replaced)
	// Expired sessions leave on the next sign-in (no background goroutine); then the oldest, past the cap.
	for e := s.age.Front(); e != nil && (!now.Before(e.Value.(*session).expires) || s.age.Len() >= s.max); e = s.age.Front() {
		s.remove(e.Value.(*session).id)
	}
	s.byID[sess.id] = s.age.PushBack(sess)
	return sess
}

// remove deletes id; the caller holds mu.
func (s *sessions) remove(id string) {
	if e, ok := s.byID[id]; ok {
		s.age.Remove(e)
		delete(s.byID, id)
	}
}

// get returns the live session named by r's cookie.
func (s *sessions) get(r *http.Request) (*session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, false
	}
	s.mu.RLock()
	e, ok := s.byID[c.Value]
	var sess *session
	if ok {
		sess = e.Value.(*session)
	}
	s.mu.RUnlock()
	if !ok || !s.now().Before(sess.expires) {
		return nil, false
	}
	return sess, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	s.remove(id)
	s.mu.Unlock()
}

func (s *sessions) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}

// randomID is 128 random bits, hex-encoded.
func randomID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program rather than return an error
	return hex.EncodeToString(b[:])
}

// cookie makes one of the host app's cookies; maxAge < 0 deletes it.
func (s *settings) cookie(name, value string, maxAge time.Duration, sameSite http.SameSite) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/",
		HttpOnly: true, Secure: s.secureCookie, SameSite: sameSite,
		MaxAge: int(maxAge / time.Second),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.Expires = s.now().Add(maxAge)
	}
	return c
}

// csrf signs and checks form tokens. A token is an HMAC of what it is bound to (the session id, or the login
// cookie before sign-in) under a key that lives only in this process: a page from another site can neither
// read nor compute it.
type csrf struct{ key []byte }

func newCSRF() csrf {
	key := make([]byte, 32)
	rand.Read(key)
	return csrf{key: key}
}

func (c csrf) token(binding string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c csrf) valid(binding, got string) bool {
	return binding != "" && hmac.Equal([]byte(c.token(binding)), []byte(got))
}
