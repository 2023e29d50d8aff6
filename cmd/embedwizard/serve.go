package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// hostAppConfig maps what the plan made (State) to the host app: the Metabase it embeds, the shared key,
// the dashboard and the tenants with their demo users.
func hostAppConfig(st *plan.State, logger *slog.Logger) hostapp.Config {
	c := hostapp.Config{
		MetabaseSiteURL: st.Config.MetabaseURL,
		JWTSecret:       st.JWTSecret,
		DashboardPath:   st.DashboardPath,
		UIOptions:       st.Config.UIOptions,
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

// listenHostApp binds the host app's port (from its URL) on 127.0.0.1.
func listenHostApp(st *plan.State) (net.Listener, error) {
	port, err := portOf(st.Config.HostAppURL)
	if err != nil {
		return nil, fmt.Errorf("host app: URL %q: %w", st.Config.HostAppURL, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("host app: listen on port %d: %w (free the port or choose another with --host-port, then run again)", port, err)
	}
	return ln, nil
}

// startHostApp serves the host app for st on ln until ctx ends. The returned channel yields the server's
// end: nil after ctx ended, or why it stopped.
func startHostApp(ctx context.Context, st *plan.State, ln net.Listener, logger *slog.Logger) (<-chan error, error) {
	app, err := hostapp.New(hostAppConfig(st, logger))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("host app: %w", err)
	}
	return serveHandler(ctx, app, ln), nil
}

// serveHandler serves h on ln until ctx ends, then shuts down gracefully (5 s for requests in flight). The
// channel yields nil after ctx ended, or why the server stopped.
func serveHandler(ctx context.Context, h http.Handler, ln net.Listener) <-chan error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	context.AfterFunc(ctx, func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	})
	return done
}

// openAnalytics opens url in the browser unless noBrowser; the URL has been printed either way.
func openAnalytics(e env, url string, noBrowser bool) {
	if noBrowser {
		return
	}
	if err := openBrowser(url); err != nil {
		fmt.Fprintf(e.Stderr, "could not open a browser (%v): open %s yourself\n", err, url)
	}
}

// serveHostApp is how `up` ends: serve the host app, print its URL, open /analytics in the browser unless
// noBrowser, and serve until ctx ends (Ctrl+C).
func serveHostApp(ctx context.Context, e env, st *plan.State, stateDir string, noBrowser bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ln, err := listenHostApp(st)
	if err != nil {
		return err
	}
	done, err := startHostApp(ctx, st, ln, logger)
	if err != nil {
		return err
	}
	base := st.Config.HostAppURL
	analytics := base + "/analytics"
	fmt.Fprintf(e.Stdout, "\nThe host app is serving at %s — sign in as:\n", base)
	for _, t := range st.Tenants {
		// Passwords are masked whole (tokens show their last characters to tell them apart; a password's
		// tail only helps guessing). The host app's login page reveals them on a click.
		fmt.Fprintf(e.Stdout, "  %-28s password: ••••••••  (%s, account %d)\n", t.DemoUser.Email, t.Name, t.AccountID)
	}
	fmt.Fprintf(e.Stdout, "The passwords are in %s (tenants[].demo_user.password, mode 0600); set %s to choose one.\n",
		filepath.Join(stateDir, plan.StateFile), envDemoPassword)
	fmt.Fprintf(e.Stdout, "Open %s — press Ctrl+C to stop.\n", analytics)
	openAnalytics(e, analytics, noBrowser)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		<-done
		return nil
	}
}

// openBrowser asks the desktop to open url; it does not wait for the browser.
func openBrowser(url string) error {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	cmd := exec.Command(name, url)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
