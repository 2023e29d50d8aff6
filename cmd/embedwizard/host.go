package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/embedwizard/embedwizard/hostapp"
)

func init() {
	register(command{Name: "host", Summary: "serve the host app from the saved state (or from the guide's variables)", Run: runHost})
}

func runHost(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "host", "host [--state-dir DIR] [--no-browser] [--host-port N]",
		"Serves the host app with the dashboard embedded at /analytics, until Ctrl+C. It uses the saved state; without one\n"+
			"it runs on its own from the guide's variables "+hostapp.EnvJWTSecret+" and "+hostapp.EnvSiteURL+
			"\n(plus "+hostapp.EnvDemoPassword+", and "+hostapp.EnvDashboardPath+" defaulting to "+hostapp.DefaultDashboardPath+").")
	dir := stateDirFlag(fs, e)
	noBrowser := fs.Bool("no-browser", false, "do not open the browser (the URL is printed)")
	port := fs.Int("host-port", defaultHostPort, "`port` to listen on when running from the environment (with a state, its origin's port)")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	st, err := loadState(*dir)
	switch {
	case err == nil && st.JWTSecret != "" && st.DashboardPath != "":
		if err := serveHostApp(ctx, e, st, *dir, *noBrowser); err != nil {
			fmt.Fprintf(e.Stderr, "embedwizard host: %v\n", err)
			return exitFailed
		}
		return exitOK
	case e.Getenv(hostapp.EnvJWTSecret) == "" && e.Getenv(hostapp.EnvSiteURL) == "":
		why := "its state has no JWT key or dashboard yet"
		if err != nil {
			why = err.Error()
		}
		fmt.Fprintf(e.Stderr, "embedwizard host: nothing to serve: %s.\nRun `embedwizard` first, or set %s and %s as the guide does.\n",
			why, hostapp.EnvJWTSecret, hostapp.EnvSiteURL)
		return exitFailed
	}
	cfg, err := hostapp.ConfigFromEnv(e.Getenv)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard host: %v\n", err)
		return exitUsage
	}
	if err := serveFromEnv(ctx, e, cfg, *port, *noBrowser); err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard host: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// serveFromEnv serves a host app configured by the environment on 127.0.0.1:port until ctx ends.
func serveFromEnv(ctx context.Context, e env, cfg hostapp.Config, port int, noBrowser bool) error {
	cfg.Logger = slog.New(slog.NewTextHandler(e.Stderr, nil))
	app, err := hostapp.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w (free it or choose another with --host-port)", port, err)
	}
	done := serveHandler(ctx, app, ln)
	analytics := "http://localhost:" + strconv.Itoa(port) + "/analytics"
	fmt.Fprintf(e.Stdout, "The host app is serving Metabase at %s — sign in as %s (password: $%s).\nOpen %s — press Ctrl+C to stop.\n",
		cfg.MetabaseSiteURL, cfg.Tenants[0].Users[0].Email, hostapp.EnvDemoPassword, analytics)
	openAnalytics(e, analytics, noBrowser)
	return <-done
}
