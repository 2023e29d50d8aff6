package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// Environment variables embedwizard reads. Secrets come only from here, a file or a masked prompt: a flag
// value would show in `ps` and in shell history.
const (
	envAdminPassword = "EMBEDWIZARD_ADMIN_PASSWORD"
	envAPIKey        = "EMBEDWIZARD_API_KEY"
	envDemoPassword  = "EMBEDWIZARD_DEMO_PASSWORD"
	envLicense       = "MB_PREMIUM_EMBEDDING_TOKEN"
	envJWTSecret     = "METABASE_JWT_SHARED_SECRET"
	envStateDir      = "EMBEDWIZARD_STATE_DIR"
)

// Defaults of the flags.
const (
	defaultMetabasePort = 3000
	defaultHostPort     = 8080
)

// defaultStateDir is where the state lives unless --state-dir says otherwise: $EMBEDWIZARD_STATE_DIR, else
// $XDG_STATE_HOME/embedwizard, else ~/.local/state/embedwizard. Every command uses it.
func defaultStateDir(getenv func(string) string) string {
	if d := getenv(envStateDir); d != "" {
		return d
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "embedwizard")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".local", "state", "embedwizard")
}

// setupFlags are the flags of `up` (and of the wizard, which asks the rest in its form).
type setupFlags struct {
	metabaseURL   string
	image         string
	metabasePort  int
	hostPort      int
	stateDir      string
	adminEmail    string
	licenseFile   string
	tenants       tenantFlag
	noBrowser     bool
	configureOnly bool
	yes           bool
	recreate      bool
	accessible    bool
}

// register adds the flags to fs; getenv gives the default state directory.
func (f *setupFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&f.metabaseURL, "metabase-url", "", "use the Metabase running at `URL` instead of running one in Docker")
	fs.StringVar(&f.image, "image", stack.DefaultImage, "Metabase Enterprise `image` to run in Docker")
	fs.IntVar(&f.metabasePort, "metabase-port", defaultMetabasePort, "`port` Metabase is published on at localhost")
	fs.IntVar(&f.hostPort, "host-port", defaultHostPort, "`port` the host app listens on at localhost")
	fs.StringVar(&f.stateDir, "state-dir", defaultStateDir(getenv), "`directory` holding the state (secrets, mode 0600)")
	fs.StringVar(&f.adminEmail, "admin-email", "", "Metabase admin `email` (default "+plan.DefaultAdminEmail+", or the saved one)")
	fs.StringVar(&f.licenseFile, "license-file", "", "read the license token from `file` instead of $"+envLicense)
	fs.Var(&f.tenants, "tenant", "a tenant as `NAME=ACCOUNT_ID` (repeatable; default Customer-Acme=28)")
	fs.BoolVar(&f.noBrowser, "no-browser", false, "do not open the browser (the URL is printed)")
	fs.BoolVar(&f.configureOnly, "configure-only", false, "configure Metabase and stop, without serving the host app")
	fs.BoolVar(&f.yes, "yes", false, "run every step without asking")
	fs.BoolVar(&f.accessible, "accessible", false, "wizard: plain prompts and lines instead of redrawn screens, for screen readers (also ACCESSIBLE=1)")
	fs.BoolVar(&f.recreate, "recreate", false, "recreate the Metabase container when --image changed (the data volume is kept)")
}

// tenantFlag collects --tenant NAME=ACCOUNT_ID.
type tenantFlag []plan.Tenant

func (t *tenantFlag) String() string {
	parts := make([]string, len(*t))
	for i, x := range *t {
		parts[i] = x.Name + "=" + strconv.Itoa(x.AccountID)
	}
	return strings.Join(parts, ",")
}

func (t *tenantFlag) Set(s string) error {
	x, err := plan.ParseTenant(s)
	if err != nil {
		return err
	}
	*t = append(*t, x)
	return nil
}

// setup is flags, environment and saved state resolved into what each part needs.
type setup struct {
	StateDir string
	State    *plan.State // loaded from StateDir; the plan updates and saves it
	Plan     plan.Config // Plan.MetabaseURL is "" until the stack has run, unless External
	Stack    stack.Config
	// External is true when Metabase runs elsewhere: --metabase-url now, or a saved URL of a run without
	// the stack. The stack is then left alone.
	External     bool
	MetabasePort int
	HostPort     int
	// Where the secrets came from, for messages (never the values): "EMBEDWIZARD_ADMIN_PASSWORD",
	// "the saved state", "generated", "--license-file FILE", "" (none).
	AdminPasswordFrom, LicenseFrom string
	ConfigureOnly, NoBrowser, Yes  bool
	// Accessible is huh's accessible mode for the wizard (--accessible or ACCESSIBLE set).
	Accessible bool
}

// resolveSetup merges, for each setting, the flag given on the command line, else the environment (for
// secrets), else the saved state, else the default. The wizard uses the result to prefill its form.
// fs must be parsed already: it tells which flags were given.
func resolveSetup(getenv func(string) string, f *setupFlags, fs *flag.FlagSet) (setup, error) {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })

	st, err := plan.LoadState(f.stateDir)
	if err != nil {
		return setup{}, err
	}
	saved := st.Config
	s := setup{StateDir: f.stateDir, State: st, ConfigureOnly: f.configureOnly, NoBrowser: f.noBrowser, Yes: f.yes,
		Accessible: f.accessible || getenv("ACCESSIBLE") != ""}
	c := plan.Config{Tenants: saved.Tenants, UIOptions: saved.UIOptions, AdminEmail: saved.AdminEmail, HostAppURL: saved.HostAppURL}

	var errs []error
	for _, p := range []struct {
		name string
		v    int
	}{{"metabase-port", f.metabasePort}, {"host-port", f.hostPort}} {
		if p.v < 1 || p.v > 65535 {
			errs = append(errs, fmt.Errorf("--%s %d: choose a port between 1 and 65535", p.name, p.v))
		}
	}

	s.HostPort = f.hostPort
	if !given["host-port"] && saved.HostAppURL != "" {
		if port, err := portOf(saved.HostAppURL); err == nil {
			s.HostPort = port
		}
	}
	if given["host-port"] || c.HostAppURL == "" {
		c.HostAppURL = "http://" + hostAppHost(f.metabaseURL) + ":" + strconv.Itoa(s.HostPort)
	}

	s.MetabasePort = f.metabasePort
	if !given["metabase-port"] && st.Stack.Port != 0 {
		s.MetabasePort = st.Stack.Port
	}
	switch {
	case given["metabase-url"]:
		if _, err := url.Parse(f.metabaseURL); err != nil || !strings.HasPrefix(f.metabaseURL, "http") {
			errs = append(errs, fmt.Errorf("--metabase-url %q: want http(s)://host:port, e.g. http://localhost:3000", f.metabaseURL))
		}
		c.MetabaseURL, s.External = strings.TrimRight(f.metabaseURL, "/"), true
	case saved.MetabaseURL != "" && st.Stack.Port == 0:
		c.MetabaseURL, s.External = saved.MetabaseURL, true
	}

	if given["admin-email"] || c.AdminEmail == "" {
		c.AdminEmail = f.adminEmail
	}
	if len(f.tenants) > 0 {
		c.Tenants = f.tenants
	}

	c.APIKey = strings.TrimSpace(getenv(envAPIKey))
	switch {
	case getenv(envAdminPassword) != "":
		c.AdminPassword, s.AdminPasswordFrom = getenv(envAdminPassword), envAdminPassword
	case saved.AdminPassword != "":
		c.AdminPassword, s.AdminPasswordFrom = saved.AdminPassword, "the saved state"
	case c.APIKey == "":
		pw, err := plan.GeneratePassword()
		if err != nil {
			return setup{}, err
		}
		c.AdminPassword, s.AdminPasswordFrom = pw, "generated"
	}

	switch {
	case getenv(envLicense) != "":
		c.LicenseToken, s.LicenseFrom = strings.TrimSpace(getenv(envLicense)), envLicense
	case f.licenseFile != "":
		b, err := os.ReadFile(f.licenseFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("--license-file: %w", err))
		}
		c.LicenseToken, s.LicenseFrom = strings.TrimSpace(string(b)), "--license-file "+f.licenseFile
	case saved.LicenseToken != "":
		c.LicenseToken, s.LicenseFrom = saved.LicenseToken, "the saved state"
	}
	c.DemoPassword = getenv(envDemoPassword)
	if k := strings.TrimSpace(getenv(envJWTSecret)); k != "" {
		st.JWTSecret = k // a key the host app already uses: the jwt step puts it in Metabase
	}

	s.Stack = stack.Config{
		StateDir: f.stateDir, Image: f.image, Port: s.MetabasePort,
		SiteURL: "http://localhost:" + strconv.Itoa(s.MetabasePort), LicenseToken: c.LicenseToken,
		Recreate: f.recreate,
	}
	if !given["image"] && st.Stack.Image != "" {
		s.Stack.Image = st.Stack.Image
	}
	s.Plan = c
	if len(errs) > 0 {
		return setup{}, errors.Join(errs...)
	}
	return s, nil
}

// planConfig is the plan's configuration once Metabase's URL is known (from the stack or --metabase-url).
func (s setup) planConfig(metabaseURL string) plan.Config {
	c := s.Plan
	if c.MetabaseURL == "" {
		c.MetabaseURL = metabaseURL
	}
	return c
}

// hostAppHost is the host name of the host app's origin: localhost, or 127.0.0.1 when Metabase is reached
// that way, so that the two stay the same site and the session cookie can stay SameSite=Lax (contract §15).
func hostAppHost(metabaseURL string) string {
	if u, err := url.Parse(metabaseURL); err == nil && u.Hostname() == "127.0.0.1" {
		return "127.0.0.1"
	}
	return "localhost"
}

// portOf is the port of an http(s) URL, explicit or implied by the scheme.
func portOf(raw string) (int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, err
	}
	if p := u.Port(); p != "" {
		return strconv.Atoi(p)
	}
	if u.Scheme == "https" {
		return 443, nil
	}
	return 80, nil
}
