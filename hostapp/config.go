package hostapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/internal/sso"
)

// Config is what the host app needs: where Metabase is, the key it shares with Metabase, and who may sign in.
type Config struct {
	// MetabaseSiteURL is Metabase as the browser reaches it, e.g. http://localhost:3000 (the guide's
	// METABASE_SITE_URL). A path prefix is kept: Metabase served under /metabase has /metabase/auth/sso.
	MetabaseSiteURL string
	// JWTSecret is Metabase's jwt-shared-secret (the guide's METABASE_JWT_SHARED_SECRET); the HMAC key is
	// its UTF-8 bytes, as Metabase reads it.
	JWTSecret string
	// DashboardPath is where /analytics opens, e.g. "/dashboard/1": the default return_to.
	DashboardPath string
	// UIOptions are the interactive-embedding UI parameters added inside return_to. Nil means the guide's
	// {"logo":"false","top_nav":"false"}; an empty map adds none.
	UIOptions map[string]string
	// Tenants are the host app's customers, each with its demo users.
	Tenants []Tenant
	// Probe reports whether Metabase is ready for the iframe. Nil means the built-in probe of
	// MetabaseSiteURL (see ErrJWTNotEnabled).
	Probe func(ctx context.Context) error
	// Now is the clock for tokens, sessions and rate limits; nil means time.Now.
	Now func() time.Time
	// Logger receives sign-ins and refusals; nil discards. Secrets, tokens, passwords and cookies are never logged.
	Logger *slog.Logger
	// SecureCookies marks the session cookie Secure; set it when the host app is served over HTTPS.
	SecureCookies bool

	// Demo turns on the demo conveniences: the login page lists every demo user with its password, and
	// the tenant switcher (POST /switch) lets a signed-in user become another tenant's user. Both are for
	// a sales engineer showing tenants in turn on their own machine; anyone who can open /login could read
	// every password. `embedwizard up` on a loopback address sets it; `embedwizard host` from the guide's
	// environment variables leaves it off. Serve refuses it on a listener that is not loopback.
	Demo bool
	// HostAppURL is the host app as the browser reaches it, e.g. http://localhost:8080. Its host name is
	// one of the names the app answers to (see AllowedHosts); empty adds none.
	HostAppURL string
	// AllowedHosts are more host names (without port) the app answers to, besides localhost, 127.0.0.1,
	// ::1 and HostAppURL's host. A request with any other Host header gets 421 Misdirected Request: a web
	// page whose name an attacker re-points at 127.0.0.1 (DNS rebinding) cannot read the host app.
	AllowedHosts []string
	// Unverified serves every page under a banner saying Metabase's setup was not verified (`host
	// --unverified`); UnverifiedDetail, when set, says what failed or was skipped.
	Unverified       bool
	UnverifiedDetail string
}

// Tenant is one customer of the host app.
type Tenant struct {
	Name      string // the JWT groups claim, e.g. "Customer-Acme"
	AccountID int    // the account_id claim Metabase sandboxes on, e.g. 28
	Users     []User
}

// User is a demo user of a tenant: a host-app login whose identity the host app signs for Metabase.
type User struct {
	Email, FirstName, LastName, Password string
}

// Environment variables read by ConfigFromEnv. The first two are the guide's names.
const (
	EnvJWTSecret     = "METABASE_JWT_SHARED_SECRET"
	EnvSiteURL       = "METABASE_SITE_URL"
	EnvDashboardPath = "METABASE_DASHBOARD_PATH"
	EnvDemoPassword  = "EMBEDWIZARD_DEMO_PASSWORD"
)

// DefaultDashboardPath is the guide's METABASE_DASHBOARD_PATH.
const DefaultDashboardPath = "/dashboard/1"

// ConfigFromEnv builds the configuration `embedwizard host` uses when it runs without a saved state: the
// guide's variables, plus the dashboard path and the demo user's password, and the guide's single tenant
// Customer-Acme (account 28) with one demo user. Demo stays false: a host app started from the guide's
// variables shows no passwords on /login and has no tenant switcher.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var errs []error
	need := func(name, why string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is not set: %s", name, why))
		}
		return v
	}
	cfg := Config{
		JWTSecret:       need(EnvJWTSecret, "set it to the JWT signing key from Metabase's Admin > Authentication > JWT"),
		MetabaseSiteURL: need(EnvSiteURL, "set it to Metabase's address as the browser reaches it, e.g. http://localhost:3000"),
		DashboardPath:   strings.TrimSpace(getenv(EnvDashboardPath)),
	}
	password := need(EnvDemoPassword, "set it to the password the demo user signs in to the host app with")
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("host app configuration from the environment: %w", errors.Join(errs...))
	}
	if cfg.DashboardPath == "" {
		cfg.DashboardPath = DefaultDashboardPath
	}
	cfg.Tenants = []Tenant{{
		Name:      "Customer-Acme",
		AccountID: 28,
		Users:     []User{{Email: "demo.acme@example.com", FirstName: "Demo", LastName: "Acme", Password: password}},
	}}
	return cfg, nil
}

// member is a user together with what the host app signs for it; built once in New.
type member struct {
	User
	Tenant    string
	AccountID string // a string, as Metabase's sandboxing compares attributes as strings (contract §11)
	groups    []string
}

// settings is a validated Config in the shape the handlers use.
type settings struct {
	site         string // MetabaseSiteURL without a trailing slash
	origin       string // scheme://host of site, for the CSP's frame-src
	ssoPrefix    string // <site>/auth/sso?jwt=
	key          []byte
	dashboard    string
	options      sso.UIOptions
	defaultRT    string // url.QueryEscape(dashboard + options): the common case, computed once
	tenants      []Tenant
	members      map[string]*member // by lower-case email
	probe        func(ctx context.Context) error
	now          func() time.Time
	log          *slog.Logger
	secureCookie bool
	demo         bool
	hosts        []string // lower-case host names the app answers to
	banner       string   // shown on every page when not empty
}

// validate checks cfg and fills in the defaults; every problem is reported, each with what to do.
func validate(cfg Config) (*settings, error) {
	var errs []error
	s := &settings{
		key:          []byte(cfg.JWTSecret),
		now:          cfg.Now,
		log:          cfg.Logger,
		probe:        cfg.Probe,
		tenants:      cfg.Tenants,
		members:      map[string]*member{},
		secureCookie: cfg.SecureCookies,
		demo:         cfg.Demo,
	}
	hosts, err := allowedHosts(cfg.HostAppURL, cfg.AllowedHosts)
	if err != nil {
		errs = append(errs, err)
	}
	s.hosts = hosts
	if u, err := url.Parse(cfg.HostAppURL); cfg.Demo && err == nil {
		if ip := net.ParseIP(u.Hostname()); ip != nil && !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("HostAppURL %q with Demo: %w; demo mode shows every demo user's password, so serve it on 127.0.0.1 or turn demo mode off", cfg.HostAppURL, ErrDemoNotLoopback))
		}
	}
	if cfg.Unverified {
		s.banner = "Unverified: Metabase's setup was not checked before serving, so a tenant may see more than its own rows."
		if d := strings.TrimSpace(cfg.UnverifiedDetail); d != "" {
			s.banner += " " + d
		}
	}
	if cfg.JWTSecret == "" {
		errs = append(errs, errors.New("JWTSecret is empty: set it to Metabase's jwt-shared-secret"))
	}
	site, origin, err := siteURL(cfg.MetabaseSiteURL)
	if err != nil {
		errs = append(errs, err)
	}
	s.site, s.origin, s.ssoPrefix = site, origin, site+"/auth/sso?jwt="

	s.dashboard = cfg.DashboardPath
	if err := localPath(cfg.DashboardPath); err != nil {
		errs = append(errs, fmt.Errorf("DashboardPath %q: %w; use the dashboard's path in Metabase, e.g. %s", cfg.DashboardPath, err, DefaultDashboardPath))
	}

	opts := cfg.UIOptions
	if opts == nil {
		opts = map[string]string{"logo": "false", "top_nav": "false"}
	}
	plain := make(map[string]string, len(opts))
	for k, v := range opts {
		if !isToken(k) || !isToken(v) {
			errs = append(errs, fmt.Errorf("UIOptions %q=%q: keys and values are plain words such as top_nav=false (contract §12)", k, v))
			continue
		}
		plain[k] = v
	}
	s.options = sso.NewUIOptions(plain)

	if len(cfg.Tenants) == 0 {
		errs = append(errs, errors.New("no tenants: add at least one tenant with a demo user (e.g. Customer-Acme, account 28)"))
	}
	for i, t := range cfg.Tenants {
		if strings.TrimSpace(t.Name) == "" {
			errs = append(errs, fmt.Errorf("tenant %d has no name: set it to the JWT group, e.g. Customer-Acme", i+1))
		}
		if t.AccountID <= 0 {
			errs = append(errs, fmt.Errorf("tenant %q: account id %d is not a positive number", t.Name, t.AccountID))
		}
		if len(t.Users) == 0 {
			errs = append(errs, fmt.Errorf("tenant %q has no users: add a demo user", t.Name))
		}
		for _, u := range t.Users {
			email := strings.ToLower(strings.TrimSpace(u.Email))
			switch {
			case !strings.Contains(email, "@"):
				errs = append(errs, fmt.Errorf("tenant %q: user email %q is not an email address", t.Name, u.Email))
				continue
			case u.Password == "":
				errs = append(errs, fmt.Errorf("tenant %q: user %s has no password: set one (EMBEDWIZARD_DEMO_PASSWORD or the state file)", t.Name, u.Email))
			case s.members[email] != nil:
				errs = append(errs, fmt.Errorf("user %s is listed twice (tenants %q and %q): emails must be unique", u.Email, s.members[email].Tenant, t.Name))
			}
			s.members[email] = &member{User: u, Tenant: t.Name, AccountID: strconv.Itoa(t.AccountID), groups: []string{t.Name}}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("host app configuration: %w", errors.Join(errs...))
	}

	s.defaultRT = url.QueryEscape(s.options.Apply(s.dashboard))
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.probe == nil {
		s.probe = newMetabaseProbe(s.site)
	}
	return s, nil
}

// siteURL checks Metabase's address and returns it without a trailing slash, and its origin.
func siteURL(raw string) (site, origin string, err error) {
	if raw == "" {
		return "", "", errors.New("MetabaseSiteURL is empty: set it to Metabase's address as the browser reaches it, e.g. http://localhost:3000")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("MetabaseSiteURL %q is not a URL: %w; use e.g. http://localhost:3000", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("MetabaseSiteURL %q: the scheme must be http or https, e.g. http://localhost:3000", raw)
	case u.Host == "":
		return "", "", fmt.Errorf("MetabaseSiteURL %q has no host: use e.g. http://localhost:3000", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", "", fmt.Errorf("MetabaseSiteURL %q: give only scheme, host, port and an optional path, e.g. http://localhost:3000", raw)
	}
	origin = u.Scheme + "://" + u.Host
	return origin + strings.TrimRight(u.EscapedPath(), "/"), origin, nil
}

// isToken reports whether s is a plain word that needs no escaping thought: letters, digits, _ - . ,
func isToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ',') {
			return false
		}
	}
	return true
}
