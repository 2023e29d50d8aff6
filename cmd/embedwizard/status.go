package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

func init() {
	register(command{Name: "status", Summary: "what runs: container, Metabase version, steps done, URLs, demo logins", Run: runStatus})
}

// hidden stands for a password on screen: not even its length or last characters show.
const hidden = "••••••••"

// probeTimeout bounds each look at Docker or Metabase made by status and doctor.
const probeTimeout = 10 * time.Second

// newFlags makes the flag set of an everyday command, with its usage text.
func newFlags(e env, name, usage, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("embedwizard "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Usage: embedwizard %s\n\n%s\n\nFlags:\n", usage, about)
		fs.PrintDefaults()
	}
	return fs
}

// stateDirFlag adds --state-dir, defaulting like every command's.
func stateDirFlag(fs *flag.FlagSet, e env) *string {
	return fs.String("state-dir", defaultStateDir(e.Getenv), "`directory` holding the state")
}

// parseFlags parses args; done is true when the command should return code right away (--help, bad flags).
func parseFlags(fs *flag.FlagSet, e env, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "%s: unexpected argument %q (flags start with --)\n", fs.Name(), fs.Arg(0))
		return exitUsage, true
	}
	return exitOK, false
}

// loadState reads the state a command needs; a state directory without one is an error saying what to do.
func loadState(dir string) (*plan.State, error) {
	if _, err := os.Stat(filepath.Join(dir, plan.StateFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no state in %s: run `embedwizard` (or `embedwizard up`) first, or point --state-dir at the right directory", dir)
	}
	return plan.LoadState(dir)
}

// managed reports whether embedwizard runs this Metabase in Docker (rather than --metabase-url).
func managed(st *plan.State) bool { return st.Stack.Port != 0 }

// metabaseURL is where the state's Metabase answers.
func metabaseURL(st *plan.State) string {
	if st.Config.MetabaseURL != "" || !managed(st) {
		return st.Config.MetabaseURL
	}
	return "http://localhost:" + strconv.Itoa(st.Stack.Port)
}

// openStack opens the Docker stack of a state directory.
func openStack(dir string, st *plan.State) (*stack.Stack, error) {
	return stack.New(stack.Config{StateDir: dir, Image: st.Stack.Image, Port: st.Stack.Port})
}

// adminClient signs in to the state's Metabase as its admin (API key or password).
func adminClient(ctx context.Context, st *plan.State) (*metabase.Client, error) {
	mb, err := metabase.New(metabaseURL(st))
	if err != nil {
		return nil, err
	}
	if st.Config.APIKey != "" {
		mb.UseAPIKey(st.Config.APIKey)
		return mb, nil
	}
	if err := mb.Login(ctx, st.Config.AdminEmail, st.Config.AdminPassword); err != nil {
		return nil, err
	}
	return mb, nil
}

// stepOrder lists the state's steps in the plan's order; without a plan (a broken config) in id order.
func stepOrder(st *plan.State) []plan.StepInfo {
	cp := *st
	if p, err := plan.New(st.Config, &cp, plan.Options{}); err == nil {
		return p.Steps()
	}
	ids := make([]string, 0, len(st.Steps))
	for id := range st.Steps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]plan.StepInfo, len(ids))
	for i, id := range ids {
		out[i] = plan.StepInfo{ID: id, Title: id}
	}
	return out
}

// statusReport is `status --json`. Passwords are never in it; each tenant's demo user is, by email.
type statusReport struct {
	StateDir string `json:"state_dir"`
	Metabase struct {
		URL     string `json:"url"`
		Managed bool   `json:"managed"` // run by embedwizard in Docker
		Version string `json:"version,omitempty"`
		Health  string `json:"health"`
		Admin   string `json:"admin,omitempty"`
	} `json:"metabase"`
	Container *containerReport `json:"container,omitempty"`
	HostApp   struct {
		URL       string `json:"url"`
		Analytics string `json:"analytics"`
	} `json:"host_app"`
	DashboardPath string         `json:"dashboard_path,omitempty"`
	Snapshot      string         `json:"snapshot,omitempty"`
	Steps         []stepReport   `json:"steps"`
	StepsDone     int            `json:"steps_done"`
	AllDone       bool           `json:"all_done"`
	Tenants       []tenantReport `json:"tenants"`
}

type containerReport struct {
	Exists  bool   `json:"exists"`
	Running bool   `json:"running"`
	State   string `json:"state,omitempty"`
	Image   string `json:"image,omitempty"`
	Port    int    `json:"port,omitempty"`
	Uptime  string `json:"uptime,omitempty"`
	Error   string `json:"error,omitempty"`
}

type stepReport struct {
	ID    string     `json:"id"`
	Title string     `json:"title"`
	Done  bool       `json:"done"`
	At    *time.Time `json:"at,omitempty"`
}

type tenantReport struct {
	Name      string `json:"name"`
	AccountID int    `json:"account_id"`
	GroupID   int    `json:"group_id,omitempty"`
	DemoEmail string `json:"demo_user_email"`
}

func runStatus(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "status", "status [--json] [--state-dir DIR]",
		"Shows what runs: the container, Metabase's version and health, the steps done, the URLs and the demo logins\n(passwords masked; they are in the state file, mode 0600).")
	dir := stateDirFlag(fs, e)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	st, err := loadState(*dir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard status: %v\n", err)
		return exitFailed
	}
	r := buildStatus(ctx, *dir, st)
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(e.Stderr, "embedwizard status: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	printStatus(e.Stdout, r, st)
	return exitOK
}

// buildStatus looks at the container (when embedwizard runs one) and at Metabase, within probeTimeout.
func buildStatus(ctx context.Context, dir string, st *plan.State) statusReport {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var r statusReport
	r.StateDir = dir
	r.Metabase.URL, r.Metabase.Managed, r.Metabase.Admin = metabaseURL(st), managed(st), st.Config.AdminEmail
	r.Metabase.Version, r.Metabase.Health = st.MetabaseVersion, "unknown"
	r.HostApp.URL = st.Config.HostAppURL
	r.HostApp.Analytics = strings.TrimRight(st.Config.HostAppURL, "/") + "/analytics"
	r.DashboardPath, r.Snapshot = st.DashboardPath, st.Stack.Snapshot

	if managed(st) {
		r.Container = &containerReport{}
		if stk, err := openStack(dir, st); err != nil {
			r.Container.Error = err.Error()
		} else {
			s, err := stk.Status(ctx)
			stk.Close()
			if err != nil {
				r.Container.Error = err.Error()
			}
			*r.Container = containerReport{Exists: s.Exists, Running: s.Running, State: s.State, Image: s.Image, Port: s.Port, Error: r.Container.Error}
			if s.Running {
				r.Container.Uptime = s.Uptime.String()
			}
			if s.Health != "" {
				r.Metabase.Health = s.Health
			}
			if s.Version != "" {
				r.Metabase.Version = s.Version
			}
		}
	}
	if !managed(st) || (r.Container.Running && r.Metabase.Health == "unknown") {
		if mb, err := metabase.New(r.Metabase.URL); err == nil {
			if h, err := mb.Health(ctx); err != nil {
				r.Metabase.Health = "no answer: " + err.Error()
			} else {
				r.Metabase.Health = h.Status
				if p, err := mb.SessionProperties(ctx); err == nil && p.Version.Tag != "" {
					r.Metabase.Version = p.Version.Tag
				}
			}
		}
	}

	for _, s := range stepOrder(st) {
		rec, ok := st.Steps[s.ID]
		sr := stepReport{ID: s.ID, Title: s.Title, Done: ok && rec.Done}
		if ok && !rec.At.IsZero() {
			at := rec.At
			sr.At = &at
		}
		if sr.Done {
			r.StepsDone++
		}
		r.Steps = append(r.Steps, sr)
	}
	r.AllDone = len(r.Steps) > 0 && r.StepsDone == len(r.Steps)
	for _, t := range st.Tenants {
		r.Tenants = append(r.Tenants, tenantReport{Name: t.Name, AccountID: t.AccountID, GroupID: t.GroupID, DemoEmail: t.DemoUser.Email})
	}
	return r
}

func printStatus(w io.Writer, r statusReport, st *plan.State) {
	row := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-10s %s\n", label, fmt.Sprintf(format, args...))
	}
	row("State", "%s", filepath.Join(r.StateDir, plan.StateFile))
	version := r.Metabase.Version
	if version == "" {
		version = "version unknown"
	}
	row("Metabase", "%s  %s  health: %s", r.Metabase.URL, version, r.Metabase.Health)
	switch c := r.Container; {
	case c == nil:
		row("Container", "none: Metabase runs elsewhere (--metabase-url)")
	case c.Error != "":
		row("Container", "unknown: %s", c.Error)
	case !c.Exists:
		row("Container", "none: `embedwizard up` starts it again")
	case c.Running:
		row("Container", "running for %s (%s, port %d)", c.Uptime, c.Image, c.Port)
	default:
		row("Container", "%s: `embedwizard up` starts it again", c.State)
	}
	row("Host app", "%s  (serve it with `embedwizard host`)", r.HostApp.Analytics)
	if r.DashboardPath != "" {
		row("Dashboard", "%s%s", strings.TrimRight(r.Metabase.URL, "/"), r.DashboardPath)
	}
	row("Steps", "%d of %d done", r.StepsDone, len(r.Steps))
	for _, s := range r.Steps {
		mark := "·"
		if s.Done {
			mark = "✓"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, s.Title)
	}
	if len(st.Tenants) > 0 {
		fmt.Fprintln(w, "Demo logins of the host app (passwords in the state file):")
		for _, t := range st.Tenants {
			fmt.Fprintf(w, "  %-30s %s  %s, account %d\n", t.DemoUser.Email, hidden, t.Name, t.AccountID)
		}
	}
	if r.Metabase.Admin != "" {
		row("Admin", "%s  %s", r.Metabase.Admin, hidden)
	}
	if r.Snapshot != "" {
		row("Snapshot", "%s  (`embedwizard reset` restores it)", r.Snapshot)
	}
}
