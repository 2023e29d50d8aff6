package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard"
	"github.com/embedwizard/embedwizard/wizard/session"
)

func hostCmd(e env) command {
	return command{Name: "host", Summary: "serve the host app from the saved state (or from the guide's variables)", Usage: "host [--state-dir DIR] [--no-browser] [--host-port N] [--unverified]",
		About: "Serves the host app with the dashboard embedded at /analytics, until Ctrl+C. It uses the saved state; without one\n" +
			"it runs on its own from the guide's variables " + hostapp.EnvJWTSecret + " and " + hostapp.EnvSiteURL +
			"\n(plus " + hostapp.EnvDemoPassword + ", and " + hostapp.EnvDashboardPath + " defaulting to " + hostapp.DefaultDashboardPath + "), without demo conveniences.",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			dir := stateDirFlag(fs, e)
			noBrowser := fs.Bool("no-browser", false, "do not open the browser (the URL is printed)")
			port := fs.Int("host-port", session.DefaultHostPort, "`port` to listen on when running from the environment (with a state: its origin's port)")
			unverified := fs.Bool("unverified", false, "serve even when Metabase is not configured as the guide says, under a banner on every page")
			return func(ctx context.Context, _ []string) error {
				portGiven := false
				fs.Visit(func(f *flag.Flag) { portGiven = portGiven || f.Name == "host-port" })
				st, err := session.LoadState(*dir)
				switch {
				case err == nil && st.JWTSecret != "" && st.DashboardPath != "":
					if portGiven {
						if p, _ := session.PortOf(st.Config.HostAppURL); p != *port {
							return session.Kind(session.ErrUsage, fmt.Errorf("--host-port %d: the state's host app is %s, which Metabase authorizes as an origin; "+
								"run `embedwizard up --host-port %d` to move it", *port, st.Config.HostAppURL, *port))
						}
					}
					// Metabase is checked now, before any tenant is served: the state file may be older than Metabase.
					cfg := session.Config{StateDir: *dir, State: st, NoBrowser: *noBrowser}
					if err := session.Verify(ctx, st); err != nil {
						if !*unverified || !errors.Is(err, session.ErrUnverified) {
							return fmt.Errorf("%w (serve anyway, under a banner, with --unverified)", err)
						}
						cfg.Unverified = err.Error()
						fmt.Fprintf(e.Stderr, "embedwizard host: serving UNVERIFIED: %v\n", err)
					}
					cfg.Config = st.Config
					cfg.Apply(session.Choices{Config: st.Config, MetabasePort: st.Stack.Port, Image: st.Stack.Image})
					s := session.New(cfg, session.Options{HostLog: e.Stderr})
					defer s.Close()
					return s.ServeUntilDone(ctx, hostLines(e, s))
				case e.Getenv(hostapp.EnvJWTSecret) == "" && e.Getenv(hostapp.EnvSiteURL) == "":
					why := "its state has no JWT key or dashboard yet"
					if err != nil {
						why = err.Error()
					}
					return fmt.Errorf("nothing to serve: %s.\nRun `embedwizard` first, or set %s and %s as the guide does", why, hostapp.EnvJWTSecret, hostapp.EnvSiteURL)
				}
				h, cfg, err := session.ServeFromEnv(ctx, e.Getenv, *port, e.Stderr)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "The host app is serving Metabase at %s — sign in as %s (password: $%s).\nOpen %s — press Ctrl+C to stop.\n",
					cfg.MetabaseSiteURL, cfg.Tenants[0].Users[0].Email, hostapp.EnvDemoPassword, h.Analytics())
				if !*noBrowser {
					session.OpenBrowser(h.Analytics())
				}
				return <-h.Done
			}
		}}
}

func statusCmd(e env) command {
	return command{Name: "status", Summary: "what runs: container, Metabase version, steps done, URLs, demo logins", Usage: "status [--json] [--show-secrets] [--state-dir DIR]",
		About: "Shows what runs: the container, Metabase's version and health, the steps done, the URLs and the demo logins\n(passwords masked unless --show-secrets; they are in the state file, mode 0600).",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			dir := stateDirFlag(fs, e)
			asJSON := fs.Bool("json", false, "print the status as JSON")
			secrets := fs.Bool("show-secrets", false, "show the admin's and the demo users' passwords")
			return func(ctx context.Context, _ []string) error {
				st, err := session.LoadOrFind(ctx, *dir)
				if err != nil {
					return err
				}
				r := session.Status(ctx, *dir, st, *secrets)
				if !*asJSON {
					wizard.PrintStatus(e.Stdout, r)
					return nil
				}
				enc := json.NewEncoder(e.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
		}}
}

func doctorCmd(e env) command {
	return command{Name: "doctor", Summary: "diagnose Docker, ports, license, origins, cookies, clock skew, JWT, dashboard", Usage: "doctor [--state-dir DIR]",
		About: "Diagnoses what interactive embedding depends on, each line ✓ or ✗ with the fix: Docker, ports, the license's\n" +
			"features, authorized origins against the host app's origin, the session cookie's SameSite against the two sites,\n" +
			"the clock skew against Metabase's Date header, JWT sign-in, and the dashboard.",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			dir := stateDirFlag(fs, e)
			return func(ctx context.Context, _ []string) error {
				st, err := session.LoadState(*dir)
				if err != nil {
					fmt.Fprintf(e.Stdout, "! %v\n", err)
					st = nil
				}
				var failed, prereq bool
				for _, d := range session.Diagnose(ctx, *dir, st) {
					wizard.PrintCheck(e.Stdout, d.Check)
					failed = failed || !d.OK
					prereq = prereq || (!d.OK && d.Prereq)
				}
				switch {
				case prereq:
					return session.Kind(session.ErrPrereq, errors.New("a prerequisite is missing (marked ✗ above)"))
				case failed:
					return errors.New("something interactive embedding needs is not in place (marked ✗ above)")
				}
				fmt.Fprintln(e.Stdout, "Everything interactive embedding needs is in place.")
				return nil
			}
		}}
}

func logsCmd(e env) command {
	return command{Name: "logs", Summary: "Metabase's container log", Usage: "logs [-f] [--tail N] [--state-dir DIR]",
		About: "Prints the log of the Metabase container embedwizard runs; -f keeps following it until Ctrl+C.",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			dir := stateDirFlag(fs, e)
			follow := fs.Bool("f", false, "follow: keep printing new lines until Ctrl+C")
			tail := fs.Int("tail", 200, "print the last `N` lines (0: all)")
			return func(ctx context.Context, _ []string) error {
				if *tail < 0 {
					return session.Kind(session.ErrUsage, fmt.Errorf("--tail %d: give a number of lines, 0 for all", *tail))
				}
				st, err := session.LoadOrFind(ctx, *dir)
				if err != nil {
					return err
				}
				if !session.Managed(st) {
					return fmt.Errorf("Metabase at %s is not run by embedwizard (--metabase-url): read its log where it runs", session.MetabaseURL(st))
				}
				stk, err := session.OpenStack(*dir, st)
				if err != nil {
					return err
				}
				defer stk.Close()
				return stk.Logs(ctx, *follow, *tail, e.Stdout)
			}
		}}
}

func downCmd(e env) command {
	return command{Name: "down", Summary: "stop Metabase; --volumes also deletes its data", Usage: "down [--volumes] [--state-dir DIR]",
		About: "Stops and removes the Metabase container embedwizard runs. Its data stays in a Docker volume unless --volumes,\n" +
			"which deletes it too; the state directory (your choices, secrets and the reset snapshot) is kept either way.",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			dir := stateDirFlag(fs, e)
			volumes := fs.Bool("volumes", false, "also delete Metabase's data volume")
			return func(ctx context.Context, _ []string) error {
				st, err := session.LoadOrFind(ctx, *dir)
				if err != nil {
					return err
				}
				err = withLock(*dir, "down", func() error { return session.Down(ctx, *dir, st, *volumes) })
				switch {
				case errors.Is(err, session.ErrNotManaged):
					fmt.Fprintf(e.Stdout, "Nothing to stop: Metabase at %s is not run by embedwizard.\n", session.MetabaseURL(st))
					return nil
				case err != nil:
					return err
				case *volumes:
					fmt.Fprintf(e.Stdout, "Metabase and its data are gone. Kept in %s: your choices, secrets and the snapshot;\n"+
						"`embedwizard reset` restores the snapshot, `embedwizard up` configures a fresh Metabase.\n", *dir)
				default:
					fmt.Fprintf(e.Stdout, "Metabase stopped; its data is kept in volume %s. `embedwizard up` starts it again.\n", st.Stack.Volume)
				}
				return nil
			}
		}}
}

func resetCmd(e env) command {
	return command{Name: "reset", Summary: "back to the freshly configured state (snapshot); --full rebuilds", Usage: "reset [--full] [--state-dir DIR]",
		About: "Brings Metabase back to the state it had right after embedwizard configured it: the snapshot saved then is\n" +
			"restored into a fresh container (seconds plus Metabase's boot) and the checkpoints are verified again.\n" +
			"--full deletes Metabase and its data and runs every step again; it takes up's flags.",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			var f setupFlags
			f.register(fs, e)
			full := fs.Bool("full", false, "rebuild from scratch: delete Metabase and its data, then configure it again (like up --yes)")
			return func(ctx context.Context, _ []string) error {
				if _, err := session.LoadState(f.StateDir); err != nil {
					return err
				}
				cfg, err := f.resolve(e)
				if err != nil {
					return err
				}
				s := session.New(cfg, session.Options{})
				defer s.Close()
				show := wizard.Lines(e.Stdout)
				if *full {
					if err := withLock(f.StateDir, "reset", func() error { return s.Rebuild(ctx, show) }); err != nil {
						return err
					}
					f.Yes, f.ConfigureOnly = true, true
					return setup(ctx, e, "reset", &f, true)
				}
				lock, err := session.Lock(f.StateDir, "reset")
				if err != nil {
					return err
				}
				defer lock.Release()
				took, writes, err := s.Restore(ctx, show)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "Metabase is back to its configured state in %s (%d writes needed). Serve the host app with `embedwizard host`.\n",
					took.Round(100*time.Millisecond), writes)
				return nil
			}
		}}
}

// withLock runs fn holding the state directory's lock: one writing command per state directory.
func withLock(dir, command string, fn func() error) error {
	lock, err := session.Lock(dir, command)
	if err != nil {
		return err
	}
	defer lock.Release()
	return fn()
}

// version is set at release time: go build -ldflags "-X main.version=v1.2.3".
var version = ""

func versionCmd(e env) command {
	return command{Name: "version", Summary: "print embedwizard's version", Usage: "version", About: "Prints embedwizard's version, the Go it was built with, and the Metabase image it runs by default.",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			return func(context.Context, []string) error {
				v := cmp.Or(version, "devel")
				if bi, ok := debug.ReadBuildInfo(); version == "" && ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
				_, err := fmt.Fprintf(e.Stdout, "embedwizard %s (%s %s/%s; default image %s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, stack.DefaultImage)
				return err
			}
		}}
}
