package session

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// The environment variables embedwizard reads. Secrets come only from here, a file or a masked prompt: a flag
// value would show in `ps` and in shell history. README.md lists them with what each does.
const (
	EnvStateDir      = "EMBEDWIZARD_STATE_DIR"
	EnvAdminPassword = "EMBEDWIZARD_ADMIN_PASSWORD"
	EnvAPIKey        = "EMBEDWIZARD_API_KEY"
	EnvDemoPassword  = hostapp.EnvDemoPassword
	EnvLicense       = "MB_PREMIUM_EMBEDDING_TOKEN"
	EnvJWTSecret     = hostapp.EnvJWTSecret
	EnvAccessible    = "ACCESSIBLE"
)

// DefaultHostPort is where the host app listens unless told otherwise; it is the port of plan.DefaultHostAppURL.
const DefaultHostPort = 8080

// maxLicenseFile bounds --license-file: a token is under 100 bytes, and /dev/zero must not fill the memory.
const maxLicenseFile = 64 << 10

// DefaultStateDir is where the state lives unless --state-dir says otherwise: $EMBEDWIZARD_STATE_DIR, else
// $XDG_STATE_HOME/embedwizard, else ~/.local/state/embedwizard. Every command uses it.
func DefaultStateDir(getenv func(string) string) string {
	if d := getenv(EnvStateDir); d != "" {
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

// Choices are what the wizard's form may change. Every field has a default (WithDefaults), so pressing Enter
// through the form works.
type Choices struct {
	// Config holds the license token, admin email, tenants, UI options and host app origin. A non-empty
	// Config.MetabaseURL means an existing Metabase: no stack, no Metabase port.
	Config plan.Config
	// MetabasePort is where the stack publishes Metabase on this machine.
	MetabasePort int
	// Image is the Metabase image the stack runs.
	Image string
}

// External reports whether Metabase runs elsewhere (--metabase-url, a rehearsal) rather than in the stack.
func (c Choices) External() bool { return c.Config.MetabaseURL != "" }

// WithDefaults fills what is empty with the guide's defaults (plan) and the stack's.
func (c Choices) WithDefaults() Choices {
	if c.Config.AdminEmail == "" {
		c.Config.AdminEmail = plan.DefaultAdminEmail
	}
	if c.Config.HostAppURL == "" {
		c.Config.HostAppURL = plan.DefaultHostAppURL
	}
	if len(c.Config.Tenants) == 0 {
		c.Config.Tenants = []plan.Tenant{plan.DefaultTenant}
	}
	if c.Config.UIOptions == nil {
		c.Config.UIOptions = plan.DefaultUIOptions()
	}
	if c.MetabasePort == 0 {
		c.MetabasePort = stack.DefaultPort
	}
	if c.Image == "" {
		c.Image = stack.DefaultImage
	}
	return c
}

// Flags are the command line as cmd parsed it. Given names the flags that were set explicitly: only those win
// over the saved state.
type Flags struct {
	MetabaseURL   string
	Image         string
	MetabasePort  int
	HostPort      int
	StateDir      string
	AdminEmail    string
	LicenseFile   string
	Tenants       []plan.Tenant
	NoBrowser     bool
	ConfigureOnly bool
	Yes           bool
	Recreate      bool
	Accessible    bool
	FastReset     bool
	// Pull and Memory are --pull and --memory as typed; Resolve parses them (stack.ParsePullPolicy, ParseMemory).
	Pull, Memory string
	Overrides    Overrides
	Given        map[string]bool
}

// Config is one run's every choice, resolved. Resolve documents the precedence.
type Config struct {
	Choices
	StateDir string
	State    *plan.State // loaded from StateDir; the plan updates and saves it
	Stack    stack.Config
	HostPort int
	// Where the secrets came from, for messages (never the values): an environment variable's name,
	// "the saved state", "generated", "--license-file FILE", "" (none).
	AdminPasswordFrom, LicenseFrom string
	ConfigureOnly, NoBrowser, Yes  bool
	Accessible                     bool
	Recreate                       bool
	// Rehearsal: Metabase is the built-in emulator, in this process. Every screen says so.
	Rehearsal bool
	// FastReset runs Metabase with its testing endpoints, so that reset restores its own snapshot without a
	// restart (seconds instead of a JVM boot); the endpoints have no authentication (README).
	FastReset bool
	// Overrides are the version floor's refusals the user overrode (--allow-vulnerable and the others).
	Overrides Overrides
	// Unverified serves the host app although Verify failed, under a banner on every page saying this.
	Unverified string
	// Demo turns on the host app's demo conveniences (passwords on /login, the tenant switcher): the default
	// for `up` on a loopback address.
	Demo bool
}

// Resolve turns flags, environment and saved state into one Config. For each setting the first of these
// that has a value wins:
//
//  1. what the user typed in the wizard's form (the form is prefilled with what follows; see Apply);
//  2. a flag given on the command line;
//  3. the environment (secrets and the state directory only);
//  4. the saved state of an earlier run;
//  5. the default (the guide's, in package plan, and the stack's).
//
// Every bad value is reported, together, as an ErrUsage.
func Resolve(f Flags, getenv func(string) string) (Config, error) {
	given := f.Given
	if given == nil {
		given = map[string]bool{}
	}
	st, err := plan.LoadState(f.StateDir)
	if err != nil {
		return Config{}, fmt.Errorf("read the state: %w", err)
	}
	saved := st.Config
	cfg := Config{StateDir: f.StateDir, State: st, ConfigureOnly: f.ConfigureOnly, NoBrowser: f.NoBrowser, Yes: f.Yes,
		Accessible: f.Accessible || getenv(EnvAccessible) != "", Recreate: f.Recreate}
	c := plan.Config{Tenants: saved.Tenants, UIOptions: saved.UIOptions, AdminEmail: saved.AdminEmail, HostAppURL: saved.HostAppURL}

	var errs []error
	for _, p := range []struct {
		name string
		v    int
	}{{"metabase-port", f.MetabasePort}, {"host-port", f.HostPort}} {
		if p.v < 1 || p.v > 65535 {
			errs = append(errs, fmt.Errorf("--%s %d: choose a port between 1 and 65535", p.name, p.v))
		}
	}

	cfg.HostPort = f.HostPort
	if !given["host-port"] && saved.HostAppURL != "" {
		if port, err := PortOf(saved.HostAppURL); err == nil {
			cfg.HostPort = port
		}
	}
	if given["host-port"] || c.HostAppURL == "" {
		c.HostAppURL = "http://" + hostAppHost(f.MetabaseURL) + ":" + strconv.Itoa(cfg.HostPort)
	}

	cfg.MetabasePort = f.MetabasePort
	if !given["metabase-port"] && st.Stack.Port != 0 {
		cfg.MetabasePort = st.Stack.Port
	}
	switch {
	case given["metabase-url"]:
		if err := plan.ValidateMetabaseURL(f.MetabaseURL); err != nil {
			errs = append(errs, fmt.Errorf("--metabase-url: %w", err))
		}
		c.MetabaseURL = strings.TrimRight(strings.TrimSpace(f.MetabaseURL), "/")
	case saved.MetabaseURL != "" && st.Stack.Port == 0:
		c.MetabaseURL = saved.MetabaseURL
	}

	if given["admin-email"] || c.AdminEmail == "" {
		c.AdminEmail = f.AdminEmail
	}
	if len(f.Tenants) > 0 {
		c.Tenants = f.Tenants
	}

	c.APIKey = strings.TrimSpace(getenv(EnvAPIKey))
	switch {
	case getenv(EnvAdminPassword) != "":
		c.AdminPassword, cfg.AdminPasswordFrom = getenv(EnvAdminPassword), EnvAdminPassword
	case saved.AdminPassword != "":
		c.AdminPassword, cfg.AdminPasswordFrom = saved.AdminPassword, "the saved state"
	case c.APIKey == "":
		pw, err := plan.GeneratePassword()
		if err != nil {
			return Config{}, err
		}
		c.AdminPassword, cfg.AdminPasswordFrom = pw, "generated"
	}

	switch {
	case getenv(EnvLicense) != "":
		c.LicenseToken, cfg.LicenseFrom = strings.TrimSpace(getenv(EnvLicense)), EnvLicense
	case f.LicenseFile != "":
		tok, err := readLicenseFile(f.LicenseFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("--license-file: %w", err))
		}
		c.LicenseToken, cfg.LicenseFrom = tok, "--license-file "+f.LicenseFile
	case saved.LicenseToken != "":
		c.LicenseToken, cfg.LicenseFrom = saved.LicenseToken, "the saved state"
	}
	c.DemoPassword = getenv(EnvDemoPassword)
	if k := strings.TrimSpace(getenv(EnvJWTSecret)); k != "" {
		if err := plan.ValidateJWTKey(k); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvJWTSecret, err))
		}
		st.JWTSecret = k // a key the host app already uses: the jwt step puts it in Metabase
	}

	cfg.Stack = stack.Config{StateDir: f.StateDir, Image: f.Image, Port: cfg.MetabasePort, Recreate: f.Recreate}
	if !given["image"] && st.Stack.Image != "" {
		cfg.Stack.Image = st.Stack.Image
	}
	cfg.Image = cfg.Stack.Image
	if cfg.Stack.Pull, err = stack.ParsePullPolicy(f.Pull); err != nil {
		errs = append(errs, fmt.Errorf("--pull: %w", err))
	}
	if f.Memory != "" {
		if cfg.Stack.Memory, err = stack.ParseMemory(f.Memory); err != nil {
			errs = append(errs, fmt.Errorf("--memory: %w", err))
		}
	}
	cfg.Overrides = f.Overrides
	cfg.applyFastReset(given["fast-reset"], f.FastReset)
	cfg.Config = c
	cfg.Demo = isLoopback(c.HostAppURL)
	if len(errs) > 0 {
		return Config{}, usage(errs...)
	}
	cfg.Apply(cfg.Choices)
	return cfg, nil
}

// Apply folds what the form returned into the configuration: the form's answers come first.
func (c *Config) Apply(ch Choices) {
	c.Choices = ch
	c.Stack.Port = ch.MetabasePort
	c.Stack.SiteURL = "http://localhost:" + strconv.Itoa(ch.MetabasePort)
	c.Stack.LicenseToken = ch.Config.LicenseToken
	if ch.Image != "" {
		c.Stack.Image = ch.Image
	}
	if port, err := PortOf(ch.Config.HostAppURL); err == nil {
		c.HostPort = port
	}
	c.Demo = isLoopback(ch.Config.HostAppURL)
}

// planConfig is the plan's configuration once Metabase's URL is known (from the stack or --metabase-url).
func (c Config) planConfig(metabaseURL string) plan.Config {
	pc := c.Config
	if pc.MetabaseURL == "" {
		pc.MetabaseURL = metabaseURL
	}
	return pc
}

// readLicenseFile reads a token from a file, refusing anything larger than a token could be.
func readLicenseFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLicenseFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxLicenseFile {
		return "", fmt.Errorf("%s is over %d KiB: a license token is one line of about 64 characters", path, maxLicenseFile>>10)
	}
	return strings.TrimSpace(string(b)), nil
}

// hostAppHost is the host name of the host app's origin: localhost, or 127.0.0.1 when Metabase is reached
// that way, so that the two stay the same site and the session cookie can stay SameSite=Lax.
func hostAppHost(metabaseURL string) string {
	if u, err := url.Parse(metabaseURL); err == nil && u.Hostname() == "127.0.0.1" {
		return "127.0.0.1"
	}
	return "localhost"
}

// isLoopback reports whether a URL's host is this machine only: demo conveniences are for such URLs.
func isLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// PortOf is the port of an http(s) URL, explicit or implied by the scheme.
func PortOf(raw string) (int, error) {
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
