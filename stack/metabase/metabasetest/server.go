// Package metabasetest is an in-memory emulator of the parts of Metabase's HTTP API that the interactive
// embedding quick start uses, in the style of net/http/httptest: NewServer starts it on a loopback port.
//
// Its rules follow docs/metabase-api.md ("the contract", "contract §N" in comments), which gives each fact its
// source in Metabase's code and tests; the emulator answers as the generation of Options.Version does (version.go).
package metabasetest

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// TestLicenseToken is a well-formed premium token the emulator accepts with all features (contract §3 format:
// 64 lower-case hex characters).
const TestLicenseToken = "e2e0000000000000000000000000000000000000000000000000000000e2e028"

// Options configures a Server. The zero value is a fresh, unlicensed Metabase that is ready at once.
type Options struct {
	// Version is the version tag, default DefaultVersion (the newest generation's tag). It selects the
	// Generation the emulator answers as (GenerationOf); a tag between generations takes the nearest below.
	Version string
	// Strict refuses what Metabase allows but the guide never does: a sandbox on a table whose view-data is
	// not already "sandboxed" in the graph. Off by default: the default is Metabase's own behaviour.
	Strict bool
	// MFA makes password logins (POST /api/session) answer with an MFA challenge instead of a session, on
	// generations that have MFA (Gen60 and newer). Requests with X-API-Key are not subject to it.
	MFA bool
	// BootDuration is how long /api/health answers 503 "initializing" after Start (contract §2).
	BootDuration time.Duration
	// SyncDuration is how long, once booted, the Sample Database's first sync runs: until then it is listed
	// with initial_sync_status "incomplete" and no tables, as a fresh Metabase shows it (contract §6 "Sync
	// may lag right after boot").
	SyncDuration time.Duration
	// LicenseToken is a preset premium-embedding-token, like env MB_PREMIUM_EMBEDDING_TOKEN.
	LicenseToken string
	// Features are the token-features (snake_case) a valid token unlocks; nil means all of DefaultFeatures.
	Features []string
	// InvalidTokens are well-formed tokens the "online" token check refuses.
	InvalidTokens []string
	// SetupToken is the setup token, like MB_SETUP_TOKEN; default a random UUID.
	SetupToken string
	// SiteURL is the site-url setting; default the server's own URL.
	SiteURL string
	// Env holds other MB_* settings as the real image reads them from the environment
	// (e.g. "MB_ENABLE_EMBEDDING_INTERACTIVE": "true"); env values win over the API and are not saved.
	Env map[string]string
	// DBFile is like MB_DB_FILE: when set, state is loaded from DBFile+".mv.db" at start and saved after
	// every write (atomically, mode 0600).
	DBFile string
	// Now is the clock, default time.Now.
	Now func() time.Time
	// Logger receives one line per request, without secrets; default discards.
	Logger *slog.Logger
}

// DefaultFeatures are the token features a valid token unlocks when Options.Features is nil.
var DefaultFeatures = []string{
	"embedding", "embedding_sdk", "embedding_simple", "sso_jwt", "sandboxes", "advanced_permissions",
	"whitelabel", "audit_app", "content_verification", "official_collections", "snippet_collections",
	"cache_granular_controls", "session_timeout_config", "email_allow_list", "serialization", "scim",
}

// Request is one request the server received, for tests that assert which calls were made.
type Request struct {
	Method string
	Path   string
	Status int
	// Auth is how the request authenticated: "session", "api-key" or "".
	Auth string
}

// Fault makes the server answer Status and Body instead of handling matching requests.
type Fault struct {
	Method string // "" matches any method
	Path   string // exact path, or a prefix ending in "*"
	Status int
	Body   string // sent as JSON when it starts with '{', else as plain text
	Times  int    // how many requests to fault; 0 = until ClearFaults
}

// Server is a running emulator. URL is its base URL, like httptest.Server.URL.
type Server struct {
	URL string

	opts     Options
	listener net.Listener
	http     *http.Server
	handler  http.Handler

	mu       sync.Mutex
	st       *state
	started  time.Time
	requests []Request
	faults   []*Fault
	saveErr  error
}

// NewServer starts a Server on 127.0.0.1 with a random port.
func NewServer(opts Options) *Server {
	s := NewUnstartedServer(opts)
	s.Start()
	return s
}

// NewUnstartedServer returns a Server listening on 127.0.0.1 with a random port but not yet serving;
// Start serves. For cmd/fakemetabase, Handler serves on another listener.
func NewUnstartedServer(opts Options) *Server {
	if opts.Version == "" {
		opts.Version = DefaultVersion
	}
	if opts.Features == nil {
		opts.Features = DefaultFeatures
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SetupToken == "" {
		opts.SetupToken = newUUID()
	}
	s := &Server{opts: opts}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		// Same contract as httptest.NewUnstartedServer: no loopback port is a broken test machine.
		panic("metabasetest: listen on 127.0.0.1:0: " + err.Error())
	}
	s.listener = l
	s.URL = "http://" + l.Addr().String()
	s.st = s.loadState()
	s.handler = s.routes()
	s.started = opts.Now()
	return s
}

// Start serves on the listener made by NewUnstartedServer; boot progress counts from here.
func (s *Server) Start() {
	s.mu.Lock()
	s.started = s.opts.Now()
	s.mu.Unlock()
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go s.http.Serve(s.listener)
}

// Close stops serving and closes all connections. State already saved to DBFile stays there.
func (s *Server) Close() {
	if s.http != nil {
		s.http.Close()
		return
	}
	s.listener.Close()
}

// Handler returns the emulator as an http.Handler, for serving on a listener of one's own.
// Boot progress counts from the last Start, or from NewUnstartedServer when Start is never called.
func (s *Server) Handler() http.Handler { return s.handler }

// SetupToken returns the setup token POST /api/setup expects.
func (s *Server) SetupToken() string { return s.opts.SetupToken }

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// InjectFault makes matching requests fail with f.Status and f.Body until it is used up or cleared.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults removes all injected faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// SaveError reports the last failure to write DBFile, if any; cmd/fakemetabase logs it.
func (s *Server) SaveError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveErr
}

// takeFault returns the fault matching r, using one of its Times. Caller holds s.mu.
func (s *Server) takeFault(r *http.Request) *Fault {
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if p, ok := strings.CutSuffix(f.Path, "*"); ok && !strings.HasPrefix(r.URL.Path, p) ||
			!ok && f.Path != r.URL.Path {
			continue
		}
		hit := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &hit
	}
	return nil
}

// recorder captures the status for the request log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// serve wraps every request: security headers, boot gate, faults, request log.
func (s *Server) serve(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		auth := ""
		switch {
		case r.Header.Get("X-API-Key") != "":
			auth = "api-key"
		case r.Header.Get("X-Metabase-Session") != "":
			auth = "session"
		default:
			if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
				auth = "session"
			}
		}
		defer func() {
			s.mu.Lock()
			s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rec.status, Auth: auth})
			s.mu.Unlock()
			// Only method, path and status: query strings carry JWTs and must not reach logs.
			s.opts.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status)
		}()

		s.mu.Lock()
		s.securityHeaders(rec.Header())
		progress := s.bootProgress()
		fault := s.takeFault(r)
		s.mu.Unlock()

		if progress < 1 {
			// contract §2: health reports progress, every other call is refused in plain text while booting.
			if r.URL.Path == "/api/health" {
				writeJSON(rec, http.StatusServiceUnavailable, map[string]any{"status": "initializing", "progress": progress})
				return
			}
			writeText(rec, http.StatusServiceUnavailable, "Metabase is still initializing. Please sit tight...")
			return
		}
		if fault != nil {
			if strings.HasPrefix(fault.Body, "{") {
				rec.Header().Set("Content-Type", "application/json;charset=utf-8")
				rec.WriteHeader(fault.Status)
				io.WriteString(rec, fault.Body)
				return
			}
			writeText(rec, fault.Status, fault.Body)
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

// synced reports whether the Sample Database's first sync is over. Caller holds s.mu.
func (s *Server) synced() bool {
	return !s.opts.Now().Before(s.started.Add(s.opts.BootDuration + s.opts.SyncDuration))
}

// bootProgress is 0..1 while booting and 1 when ready. Caller holds s.mu.
func (s *Server) bootProgress() float64 {
	if s.opts.BootDuration <= 0 {
		return 1
	}
	p := float64(s.opts.Now().Sub(s.started)) / float64(s.opts.BootDuration)
	switch {
	case p >= 1:
		return 1
	case p < 0:
		return 0
	}
	return float64(int(p*100)) / 100
}

// BootProgress reports boot progress, 0..1, as /api/health does; cmd/fakemetabase logs it.
func (s *Server) BootProgress() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bootProgress()
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
