package session

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// HostApp is the host app being served.
type HostApp struct {
	URL string // its origin, e.g. http://localhost:8080
	// Done yields once when the server stops: nil after its context ended, else why it stopped.
	Done <-chan error
}

// Analytics is the page that embeds the dashboard.
func (h HostApp) Analytics() string { return strings.TrimRight(h.URL, "/") + "/analytics" }

// HostConfig maps what the plan made (State) to the host app: the Metabase it embeds, the shared key, the
// dashboard and the tenants with their demo users. demo turns on the demo conveniences.
func HostConfig(st *plan.State, demo bool, logger *slog.Logger) hostapp.Config {
	c := hostapp.Config{
		MetabaseSiteURL: st.Config.MetabaseURL,
		JWTSecret:       st.JWTSecret,
		DashboardPath:   st.DashboardPath,
		UIOptions:       st.Config.UIOptions,
		HostAppURL:      st.Config.HostAppURL,
		Demo:            demo,
		Logger:          logger,
	}
	if c.UIOptions == nil {
		c.UIOptions = plan.DefaultUIOptions()
	}
	for _, t := range st.Tenants {
		u := t.DemoUser
		c.Tenants = append(c.Tenants, hostapp.Tenant{Name: t.Name, AccountID: t.AccountID,
			Users: []hostapp.User{{Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Password: u.Password}}})
	}
	return c
}

// Serve starts the host app for the session's state on its port at 127.0.0.1 and returns once it listens;
// it serves until ctx ends. HostUp is emitted then, and HostDown when the server stops, with why.
func (s *Session) Serve(ctx context.Context, emit func(Event)) (HostApp, error) {
	emit = orNop(emit)
	st := s.cfg.State
	logw := s.opts.HostLog
	if logw == nil {
		f, err := os.OpenFile(filepath.Join(s.cfg.StateDir, HostAppLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return HostApp{}, fmt.Errorf("host app log: %w", err)
		}
		context.AfterFunc(ctx, func() { f.Close() })
		logw = f
	}
	cfg := HostConfig(st, s.cfg.Demo, slog.New(slog.NewTextHandler(logw, nil)))
	switch {
	case s.cfg.Rehearsal:
		cfg.Unverified, cfg.UnverifiedDetail = true, "a rehearsal against embedwizard's built-in emulator, not Metabase"
	case s.cfg.Unverified != "":
		cfg.Unverified, cfg.UnverifiedDetail = true, s.cfg.Unverified
	}
	port, err := PortOf(st.Config.HostAppURL)
	if err != nil {
		return HostApp{}, Kind(ErrUsage, fmt.Errorf("host app: URL %q: %w", st.Config.HostAppURL, err))
	}
	h, err := ServeHostApp(ctx, cfg, port)
	if err != nil {
		return HostApp{}, err
	}
	h.URL = st.Config.HostAppURL
	emit(Event{Kind: HostUp, URL: h.URL})
	done, served := make(chan error, 1), h.Done
	go func() {
		err := <-served
		emit(Event{Kind: HostDown, Err: err})
		done <- err
	}()
	h.Done = done
	return h, nil
}

// ServeHostApp serves a host app configured by cfg on 127.0.0.1:port until ctx ends, then shuts down
// gracefully (5 s for requests in flight). `host` from the guide's variables calls it directly.
func ServeHostApp(ctx context.Context, cfg hostapp.Config, port int) (HostApp, error) {
	app, err := hostapp.New(cfg)
	if err != nil {
		return HostApp{}, Kind(ErrUsage, fmt.Errorf("host app: %w", err))
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return HostApp{}, Kind(ErrPrereq, &Failure{Err: fmt.Errorf("host app: listen on port %d: %w", port, err),
			Hint: Hint{What: "host app port", Why: fmt.Sprintf("port %d is in use", port), Do: "free the port or choose another for the host app, then run again"}})
	}
	// The host app's own server: timeouts, connection limits, graceful shutdown when ctx ends.
	done := make(chan error, 1)
	go func() { done <- classify(app.Serve(ctx, ln)) }()
	return HostApp{URL: "http://localhost:" + strconv.Itoa(port), Done: done}, nil
}

// secretEnv are the variables a browser must not inherit: the license, the passwords, the API key, the JWT
// key. Names that merely look secret are dropped too (scrubbed).
var secretEnv = []string{EnvLicense, EnvAdminPassword, EnvAPIKey, EnvDemoPassword, EnvJWTSecret, "MB_JWT_SHARED_SECRET"}

// ScrubbedEnv is environ without secrets: the variables embedwizard reads its secrets from, and any whose
// name says it holds one (PASSWORD, SECRET, TOKEN, API_KEY, PRIVATE_KEY, CREDENTIAL).
func ScrubbedEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if scrubbed(name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func scrubbed(name string) bool {
	for _, s := range secretEnv {
		if name == s {
			return true
		}
	}
	up := strings.ToUpper(name)
	for _, word := range []string{"PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY", "CREDENTIAL"} {
		if strings.Contains(up, word) {
			return true
		}
	}
	return false
}

// OpenBrowser asks the desktop to open url, with a scrubbed environment; it does not wait for the browser.
func OpenBrowser(url string) error {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	cmd := exec.Command(name, url)
	cmd.Env = ScrubbedEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// ServeFromEnv is `host` without a state: the host app configured by the guide's variables alone
// (hostapp.ConfigFromEnv), without demo conveniences, on 127.0.0.1:port.
func ServeFromEnv(ctx context.Context, getenv func(string) string, port int, log io.Writer) (HostApp, hostapp.Config, error) {
	cfg, err := hostapp.ConfigFromEnv(getenv)
	if err != nil {
		return HostApp{}, cfg, Kind(ErrUsage, err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
	h, err := ServeHostApp(ctx, cfg, port)
	return h, cfg, err
}
