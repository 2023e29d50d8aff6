package session

import (
	"context"
	"errors"
	"fmt"
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

// probeTimeout bounds each look at Docker or Metabase made by Status and Diagnose.
const probeTimeout = 10 * time.Second

// LoadState reads the state a command needs; a directory without one is an ErrNoState saying what to do.
func LoadState(dir string) (*plan.State, error) {
	if _, err := os.Stat(filepath.Join(dir, plan.StateFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, Kind(ErrNoState, fmt.Errorf("no state in %s: run `embedwizard` (or `embedwizard up`) first, or point it at the right state directory", dir))
	}
	return plan.LoadState(dir)
}

// LoadOrFind is LoadState, and without a state file the stack of dir found by its Docker labels: a container
// made for dir (an earlier run whose state was lost) is still stopped, shown and logged by down, status and logs.
func LoadOrFind(ctx context.Context, dir string) (*plan.State, error) {
	st, err := LoadState(dir)
	if !errors.Is(err, ErrNoState) {
		return st, err
	}
	f, ok, ferr := stack.Find(ctx, dir)
	if ferr != nil || !ok {
		return nil, err
	}
	st = &plan.State{}
	st.Stack.ContainerID, st.Stack.Image, st.Stack.Port, st.Stack.Volume = f.ContainerID, f.Image, f.Port, f.Volume
	if st.Stack.Port == 0 {
		st.Stack.Port = stack.DefaultPort
	}
	return st, nil
}

// Managed reports whether embedwizard runs the state's Metabase in Docker (rather than at a URL given).
func Managed(st *plan.State) bool { return st.Stack.Port != 0 }

// MetabaseURL is where the state's Metabase answers.
func MetabaseURL(st *plan.State) string {
	if st.Config.MetabaseURL != "" || !Managed(st) {
		return st.Config.MetabaseURL
	}
	return "http://localhost:" + strconv.Itoa(st.Stack.Port)
}

// OpenStack opens the Docker stack of a state directory; it finds the container by the directory's label.
func OpenStack(dir string, st *plan.State) (*stack.Stack, error) {
	stk, err := stack.New(stack.Config{StateDir: dir, Image: st.Stack.Image, Port: st.Stack.Port})
	if err != nil {
		return nil, Kind(ErrPrereq, fmt.Errorf("open the Docker client: %w", err))
	}
	return stk, nil
}

// AdminClient signs in to the state's Metabase as its admin (API key or password).
func AdminClient(ctx context.Context, st *plan.State) (*metabase.Client, error) {
	mb, err := metabase.New(MetabaseURL(st))
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

// Report is `status`, and `status --json` as is. Passwords are in it only when asked for (ShowSecrets).
type Report struct {
	StateDir  string `json:"state_dir"`
	StateFile string `json:"state_file"`
	Metabase  struct {
		URL     string `json:"url"`
		Managed bool   `json:"managed"` // run by embedwizard in Docker
		Version string `json:"version,omitempty"`
		Health  string `json:"health"`
		Admin   string `json:"admin,omitempty"`
		// AdminPassword is set only with ShowSecrets.
		AdminPassword string `json:"admin_password,omitempty"`
	} `json:"metabase"`
	Container *ContainerReport `json:"container,omitempty"`
	HostApp   struct {
		URL       string `json:"url"`
		Analytics string `json:"analytics"`
	} `json:"host_app"`
	DashboardPath string         `json:"dashboard_path,omitempty"`
	Snapshot      string         `json:"snapshot,omitempty"`
	Steps         []StepReport   `json:"steps"`
	StepsDone     int            `json:"steps_done"`
	AllDone       bool           `json:"all_done"`
	Tenants       []TenantReport `json:"tenants"`
	// Next are the commands that work on this install: reset and down only where embedwizard runs Metabase.
	Next []string `json:"next"`
	// Running is exactly what runs: the version Metabase reports (else the one recorded), the image and its
	// digest, and the version floor's warnings for it (a vulnerable or beta version). For a Metabase at a URL
	// only the version and its warnings.
	Running *Running `json:"running,omitempty"`
	// Checklist is Metabase's own embedding checklist beside our checkpoints as verified now; nil when Metabase
	// was not asked (it does not answer, or no step has run yet).
	Checklist *ChecklistReport `json:"checklist,omitempty"`
}

// ChecklistReport is Metabase's own verdict on the embedding setup (GET /api/ee/embedding-hub/checklist,
// Metabase 58+ with the embedding feature) item by item beside ours (plan.Audit, now), from
// plan.ChecklistBeside. The final screen, `status` and `doctor` show it.
type ChecklistReport struct {
	// Available: this Metabase has the checklist. Without it, Note says so in one line.
	Available bool   `json:"available"`
	Note      string `json:"note,omitempty"`
	// Error is set when it could not be read (Metabase unreachable, the admin refused).
	Error string          `json:"error,omitempty"`
	Items []ChecklistItem `json:"items,omitempty"`
	// Done counts the items Metabase counts done; Shared those both verdicts cover; Disagreements those
	// where the two differ.
	Done          int `json:"done"`
	Shared        int `json:"shared"`
	Disagreements int `json:"disagreements"`
}

// ChecklistItem is one item of Metabase's checklist and, when the quick start covers it, ours.
type ChecklistItem struct {
	Key          string `json:"key"`
	Label        string `json:"label"`
	MetabaseDone bool   `json:"metabase_done"`
	// Ours names the steps and checkpoints that verify the same thing; OursOK is their verdict, nil when
	// not compared (not part of the quick start, or the audit stopped before).
	Ours     string `json:"ours,omitempty"`
	OursOK   *bool  `json:"ours_ok,omitempty"`
	Disagree bool   `json:"disagree,omitempty"`
	// Note says why the two differ (always for a disagreement), or why the item is not compared.
	Note string `json:"note,omitempty"`
}

// NewChecklistReport is the report of a comparison (plan.ChecklistBeside, (*plan.Plan).Checklist).
func NewChecklistReport(c plan.ChecklistComparison) *ChecklistReport {
	r := &ChecklistReport{Available: len(c.Rows) > 0, Note: c.Note}
	for _, row := range c.Rows {
		it := ChecklistItem{Key: row.Item.Name, Label: row.Item.Label, MetabaseDone: row.Item.Done, Ours: row.Ours,
			Disagree: row.Disagree, Note: row.Note}
		if row.Checked {
			ok := row.OursOK
			it.OursOK = &ok
			r.Shared++
		}
		if it.MetabaseDone {
			r.Done++
		}
		if it.Disagree {
			r.Disagreements++
		}
		r.Items = append(r.Items, it)
	}
	return r
}

// ReadChecklist verifies the state's Metabase now (plan.Audit) and reads Metabase's own checklist beside
// it. It only reads. A Metabase that cannot be asked gives a report with Error set.
func ReadChecklist(ctx context.Context, st *plan.State) *ChecklistReport {
	p, err := auditPlan(st)
	if err != nil {
		return &ChecklistReport{Error: err.Error()}
	}
	a, err := p.Audit(ctx)
	if err != nil {
		return &ChecklistReport{Error: err.Error()}
	}
	c, err := p.Checklist(ctx, a)
	if err != nil {
		return &ChecklistReport{Error: err.Error()}
	}
	return NewChecklistReport(c)
}

// ContainerReport is the Docker container of a managed Metabase.
type ContainerReport struct {
	Exists  bool   `json:"exists"`
	Running bool   `json:"running"`
	State   string `json:"state,omitempty"`
	Image   string `json:"image,omitempty"`
	Port    int    `json:"port,omitempty"`
	Uptime  string `json:"uptime,omitempty"`
	// ImageDigest is the registry digest of the image the container runs ("sha256:…"), "" when built
	// locally; ImageVersion its version label (Metabase's own, e.g. "v1.64.1"), when it has one. With
	// Metabase.Version (what Metabase itself reports) they say exactly what runs.
	ImageDigest  string `json:"image_digest,omitempty"`
	ImageVersion string `json:"image_version,omitempty"`
	Error        string `json:"error,omitempty"`
}

// StepReport is one step of the plan as the state records it.
type StepReport struct {
	ID    string     `json:"id"`
	Title string     `json:"title"`
	Done  bool       `json:"done"`
	At    *time.Time `json:"at,omitempty"`
}

// TenantReport is one tenant and its demo user; Password only with ShowSecrets.
type TenantReport struct {
	Name      string `json:"name"`
	AccountID int    `json:"account_id"`
	GroupID   int    `json:"group_id,omitempty"`
	DemoEmail string `json:"demo_user_email"`
	Password  string `json:"demo_user_password,omitempty"`
}

// NextCommands are what a user can run next on this install. reset and down refuse on a Metabase that
// embedwizard does not run, so they are offered only where it does.
func NextCommands(managed bool) []string {
	if managed {
		return []string{"status", "host", "reset", "down"}
	}
	return []string{"status", "host", "doctor"}
}

// Status looks at the container (when embedwizard runs one) and at Metabase, within probeTimeout.
func Status(ctx context.Context, dir string, st *plan.State, showSecrets bool) Report {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var r Report
	r.StateDir, r.StateFile = dir, filepath.Join(dir, plan.StateFile)
	r.Metabase.URL, r.Metabase.Managed, r.Metabase.Admin = MetabaseURL(st), Managed(st), st.Config.AdminEmail
	if showSecrets {
		r.Metabase.AdminPassword = st.Config.AdminPassword
	}
	r.Metabase.Version, r.Metabase.Health = st.MetabaseVersion, "unknown"
	r.HostApp.URL = st.Config.HostAppURL
	r.HostApp.Analytics = strings.TrimRight(st.Config.HostAppURL, "/") + "/analytics"
	r.DashboardPath, r.Snapshot = st.DashboardPath, st.Stack.Snapshot
	r.Next = NextCommands(Managed(st))

	if Managed(st) {
		r.Container = &ContainerReport{}
		if stk, err := OpenStack(dir, st); err != nil {
			r.Container.Error = err.Error()
		} else {
			s, err := stk.Status(ctx)
			stk.Close()
			if err != nil {
				r.Container.Error = err.Error()
			}
			*r.Container = ContainerReport{Exists: s.Exists, Running: s.Running, State: s.State, Image: s.Image, Port: s.Port,
				ImageDigest: s.ImageDigest, ImageVersion: s.ImageVersion, Error: r.Container.Error}
			if s.Running {
				r.Container.Uptime = s.Uptime.String()
			}
			if s.Health != "" {
				r.Metabase.Health = s.Health
			}
			if s.Version != "" {
				r.Metabase.Version = s.Version
			}
			if s.Exists {
				run := RunningOf(s, st.MetabaseVersion)
				r.Running = &run
			}
		}
	}
	if !Managed(st) || (r.Container.Running && r.Metabase.Health == "unknown") {
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
	if !Managed(st) && r.Metabase.Version != "" {
		r.Running = &Running{Version: r.Metabase.Version, Warnings: FloorWarnings(r.Metabase.Version)}
	}
	if r.Metabase.Health == "ok" && len(st.Steps) > 0 && (st.Config.AdminPassword != "" || st.Config.APIKey != "") {
		r.Checklist = ReadChecklist(ctx, st)
	}
	for _, s := range stepOrder(st) {
		rec, ok := st.Steps[s.ID]
		sr := StepReport{ID: s.ID, Title: s.Title, Done: ok && rec.Done}
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
		tr := TenantReport{Name: t.Name, AccountID: t.AccountID, GroupID: t.GroupID, DemoEmail: t.DemoUser.Email}
		if showSecrets {
			tr.Password = t.DemoUser.Password
		}
		r.Tenants = append(r.Tenants, tr)
	}
	return r
}
