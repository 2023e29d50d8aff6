package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/x/term"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard"
	"github.com/embedwizard/embedwizard/wizard/plan"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// setupFlags are the flags of up, the wizard, rehearse and reset --full.
type setupFlags struct {
	session.Flags
	rehearse, dryRun bool
	fs               *flag.FlagSet
}

func (f *setupFlags) register(fs *flag.FlagSet, e env) {
	f.fs = fs
	fs.StringVar(&f.MetabaseURL, "metabase-url", "", "use the Metabase running at `URL` instead of running one in Docker")
	fs.StringVar(&f.Image, "image", stack.DefaultImage, "Metabase Enterprise `image` to run in Docker")
	fs.IntVar(&f.MetabasePort, "metabase-port", stack.DefaultPort, "`port` Metabase is published on at localhost")
	fs.IntVar(&f.HostPort, "host-port", session.DefaultHostPort, "`port` the host app listens on at localhost")
	fs.StringVar(&f.StateDir, "state-dir", session.DefaultStateDir(e.Getenv), "`directory` holding the state (secrets, mode 0600)")
	fs.StringVar(&f.AdminEmail, "admin-email", "", "Metabase admin `email` (default "+plan.DefaultAdminEmail+", or the saved one)")
	fs.StringVar(&f.LicenseFile, "license-file", "", "read the license token from `file` instead of $"+session.EnvLicense)
	fs.Func("tenant", "a tenant as `NAME=ACCOUNT_ID` (repeatable; default Customer-Acme=28)", func(s string) error {
		t, err := plan.ParseTenant(s)
		f.Tenants = append(f.Tenants, t)
		return err
	})
	fs.BoolVar(&f.NoBrowser, "no-browser", false, "do not open the browser (the URL is printed)")
	fs.BoolVar(&f.ConfigureOnly, "configure-only", false, "configure Metabase and stop, without serving the host app")
	fs.BoolVar(&f.Yes, "yes", false, "run every step without asking")
	fs.BoolVar(&f.Accessible, "accessible", false, "wizard: plain prompts and lines instead of redrawn screens, for screen readers (also ACCESSIBLE=1)")
	fs.BoolVar(&f.Recreate, "recreate", false, "recreate the Metabase container when --image changed (the data volume is kept)")
	fs.StringVar(&f.Pull, "pull", "", "when to pull the image: `missing`, always or never (default: when absent, or when the registry has a newer one for the tag)")
	fs.StringVar(&f.Memory, "memory", "", "the container's memory `limit`, e.g. 3g (default 2g; the JVM heap gets half)")
	fs.BoolVar(&f.FastReset, "fast-reset", false, "let reset restore Metabase's own snapshot in seconds, without a restart: turns on Metabase's unauthenticated testing endpoints on localhost (README)")
	f.Overrides.Register(fs)
	fs.BoolVar(&f.dryRun, "dry-run", false, "check every step and print the writes it would make, making none; exit 0 nothing to change, 2 changes pending, 1 error")
	fs.BoolVar(&f.rehearse, "rehearse", false, "rehearse against the built-in emulator in this process: no Docker, no license (like `embedwizard rehearse`)")
}

// resolve turns the parsed flags into the session's configuration.
func (f *setupFlags) resolve(e env) (session.Config, error) {
	f.Given = map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { f.Given[fl.Name] = true })
	return session.Resolve(f.Flags, e.Getenv)
}

const setupAbout = "Runs Metabase (or uses --metabase-url), configures the interactive embedding quick start step by step,\n" +
	"verifies its checkpoints and serves the host app. Secrets come from the environment: " + session.EnvLicense + ",\n" +
	session.EnvAdminPassword + ", " + session.EnvAPIKey + ", " + session.EnvDemoPassword + "."

func wizardCmd(e env) command {
	return command{Name: "wizard", Summary: "the interactive wizard (what runs without a command)", Usage: "[wizard] [flags]",
		About: "The interactive wizard: checks, a form with a default for everything, Metabase's start, the quick start's\n" +
			"steps one by one (Enter) or all at once (a), then the host app. Without a terminal, use `embedwizard up --yes`.",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			var f setupFlags
			f.register(fs, e)
			return func(ctx context.Context, _ []string) error {
				if f.ConfigureOnly && !f.Yes {
					return session.Kind(session.ErrUsage, errors.New("the wizard ends by serving the host app; to configure only, run `embedwizard up --yes --configure-only`"))
				}
				return setup(ctx, e, "wizard", &f, f.Yes)
			}
		}}
}

func upCmd(e env) command {
	return command{Name: "up", Summary: "run Metabase, configure the quick start, serve the host app", Usage: "up [--yes] [flags]   (on a terminal, without --yes: the wizard)",
		About: setupAbout, Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			var f setupFlags
			f.register(fs, e)
			return func(ctx context.Context, _ []string) error {
				// On a terminal, `up` without --yes is the wizard; elsewhere it asks once on standard input, so
				// `echo y | embedwizard up` works in scripts.
				return setup(ctx, e, "up", &f, f.Yes || f.ConfigureOnly || noTerminal(e) != "")
			}
		}}
}

func rehearseCmd(e env) command {
	return command{Name: "rehearse", Summary: "the whole guide against the built-in emulator: no Docker, no license", Usage: "rehearse [--yes] [flags]",
		About: "Runs every step of the quick start against embedwizard's built-in emulator of Metabase's API, started in this\n" +
			"process, then serves the host app. No Docker and no license are needed; nothing is a real Metabase, and every\n" +
			"screen says so. The state is temporary and removed at the end.",
		Flags: func(fs *flag.FlagSet) func(context.Context, []string) error {
			var f setupFlags
			f.register(fs, e)
			return func(ctx context.Context, _ []string) error {
				f.rehearse = true
				return setup(ctx, e, "rehearse", &f, f.Yes || noTerminal(e) != "")
			}
		}}
}

// setup is up, the wizard and rehearse: resolve, then the lines (lines true) or the interactive wizard.
func setup(ctx context.Context, e env, name string, f *setupFlags, lines bool) error {
	cfg, err := f.resolve(e)
	if err != nil {
		return err
	}
	opts := session.Options{Interactive: !lines}
	if f.dryRun {
		return dryRun(ctx, e, session.New(cfg, opts))
	}
	var s *session.Session
	if !f.rehearse { // one run per state directory: a second one says who holds it (exit 1)
		lock, err := session.Lock(cfg.StateDir, name)
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	if f.rehearse {
		if s, err = session.Rehearse(cfg, opts); err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout, session.RehearsalBanner)
	} else {
		s = session.New(cfg, opts)
	}
	defer s.Close()
	cfg = s.Config()
	if lines {
		return upLines(ctx, e, s, f.Yes || f.rehearse)
	}
	if why := noTerminal(e); why != "" {
		return session.Kind(session.ErrPrereq, fmt.Errorf("the wizard needs a terminal, and %s: run `embedwizard up --yes` instead (same steps, one line each)", why))
	}
	err = wizard.Run(ctx, wizard.Options{
		Input: e.Stdin, Output: e.Stdout, Accessible: cfg.Accessible, NoBrowser: cfg.NoBrowser, Engine: wizard.NewEngine(s),
		LicenseFrom: cfg.LicenseFrom, Choices: cfg.Choices, Rehearsal: cfg.Rehearsal,
		StateFile: filepath.Join(cfg.StateDir, plan.StateFile), HostLog: filepath.Join(cfg.StateDir, session.HostAppLog),
	})
	switch {
	case err == nil:
		fmt.Fprintln(e.Stdout, "\nHost app stopped; Metabase keeps running. Next: embedwizard "+strings.Join(session.NextCommands(s.Managed()), ", "))
	case errors.Is(err, wizard.ErrInterrupted):
		err = session.Kind(session.ErrInterrupted, err)
	}
	return err
}

// upLines is `up --yes`: the session's events as lines, a question first unless yes.
func upLines(ctx context.Context, e env, s *session.Session, yes bool) error {
	var confirm func([]plan.StepInfo) bool
	if !yes {
		confirm = func(steps []plan.StepInfo) bool { return wizard.AskGoAhead(e.Stdin, e.Stdout, s.Config(), steps) }
	}
	err := s.Run(ctx, hostLines(e, s), confirm)
	switch {
	case err == nil && s.Config().ConfigureOnly && s.Config().Rehearsal:
		// The emulator and the rehearsal's state end with this process: `host` would find neither.
		fmt.Fprintf(e.Stdout, "The rehearsal configured the emulator; dashboard %s. Run `embedwizard rehearse` without --configure-only to open /analytics.\n", s.State().DashboardPath)
	case err == nil && s.Config().ConfigureOnly:
		fmt.Fprintf(e.Stdout, "Metabase is configured; dashboard %s. Serve the host app with `embedwizard host`.\n", s.State().DashboardPath)
	case errors.Is(err, session.ErrUsage) && strings.Contains(err.Error(), "not confirmed"):
		fmt.Fprintln(e.Stdout, "Nothing was changed. Run `embedwizard up --yes` to go ahead without this question.")
		return errReported
	case err != nil && !errors.Is(err, session.ErrInterrupted) && !strings.HasPrefix(err.Error(), "preflight"):
		fmt.Fprintln(e.Stdout, "Stopped. Finished steps are saved: run the same command again to resume.")
	}
	return err
}

// hostLines is the --yes lines, and how to sign in once the host app is up.
func hostLines(e env, s *session.Session) func(session.Event) {
	show := wizard.Lines(e.Stdout)
	return func(ev session.Event) {
		show(ev)
		if ev.Kind == session.HostUp {
			wizard.PrintHostApp(e.Stdout, s.State(), s.Config().StateDir, ev.URL)
		}
	}
}

// noTerminal says why there is no terminal to draw on, or "" when there is one.
func noTerminal(e env) string {
	if e.Getenv("CI") != "" {
		return "CI is set"
	}
	for _, f := range []any{e.Stdin, e.Stdout} {
		if file, ok := f.(*os.File); !ok || !term.IsTerminal(file.Fd()) {
			return "standard input or output is not one (a pipe or a file)"
		}
	}
	return ""
}

// errChangesPending is the dry run's "something would change": exit 2, as terraform plan -detailed-exitcode.
var errChangesPending = errors.New("changes pending")

// dryRun prints, step by step, what up would write, and writes nothing.
func dryRun(ctx context.Context, e env, s *session.Session) error {
	defer s.Close()
	r, err := s.DryRun(ctx)
	if err != nil {
		return err
	}
	wizard.PrintDryRun(e.Stdout, r)
	if !r.Pending() {
		fmt.Fprintln(e.Stdout, "Nothing to change: Metabase is configured as the guide says.")
		return nil
	}
	fmt.Fprintln(e.Stdout, "Nothing was written. `embedwizard up` would make the changes above.")
	return errChangesPending
}
