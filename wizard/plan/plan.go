// Package plan is Metabase's "Interactive embedding quick start" as an ordered list of idempotent steps on top
// of stack/metabase. Each step reads before it writes, so a second run of the whole plan on a configured
// Metabase makes no writes, and a run stopped half way resumes from the saved State. The guide's CHECKPOINTs
// are steps too: they sign in as each tenant's demo user through the real JWT SSO path and prove the result.
//
// The plan knows nothing about terminals: it reports through Events, which the TUI and `up --yes` render.
package plan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// Options are how the plan runs, as opposed to what it configures (Config).
type Options struct {
	// StateDir is where State is saved after every step; "" keeps it in memory only (tests).
	StateDir string
	// HTTPClient talks to Metabase; nil means one with a 30 s timeout per request.
	HTTPClient *http.Client
	// Now is the clock for JWTs and step records; nil means time.Now.
	Now func() time.Time
	// ReadyTimeout bounds the wait for a booting Metabase to answer /api/health; 0 means 5 minutes.
	ReadyTimeout time.Duration
	// PollInterval is how often a booting Metabase or a lagging sync is asked again; 0 means 1 s.
	PollInterval time.Duration
}

// Plan runs the quick start against one Metabase. It is not safe for concurrent use: one front end drives it.
type Plan struct {
	cfg    Config
	st     *State
	opts   Options
	mb     *metabase.Client
	steps  []Step
	calls  atomic.Int64
	writes atomic.Int64

	// Read once per run and shared by the steps; see lookup.go.
	cache cache
}

// New checks cfg and prepares the plan; it makes no call. st is the saved state (LoadState) or nil for a
// fresh one; the plan updates it in place and saves it after every step.
func New(cfg Config, st *State, opts Options) (*Plan, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if st == nil {
		st = &State{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 5 * time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		hc = &c
	}
	p := &Plan{cfg: cfg, st: st, opts: opts}
	hc.Transport = countingTransport{next: hc.Transport, p: p}
	mb, err := metabase.New(cfg.MetabaseURL, metabase.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	p.mb = mb
	if err := st.adopt(cfg); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	p.steps = p.buildSteps()
	return p, nil
}

// Steps lists the steps in order, checkpoints included.
func (p *Plan) Steps() []StepInfo {
	out := make([]StepInfo, len(p.steps))
	for i, s := range p.steps {
		out[i] = s.StepInfo
	}
	return out
}

// State is the state the plan keeps up to date.
func (p *Plan) State() *State { return p.st }

// Config is the validated configuration, defaults filled in.
func (p *Plan) Config() Config { return p.cfg }

// APICalls counts the HTTP calls made to Metabase so far, and among them the writes (POST, PUT, DELETE other
// than logging in, SSO sign-ins and read-only queries).
func (p *Plan) APICalls() (calls, writes int) { return int(p.calls.Load()), int(p.writes.Load()) }

// Survey runs the Checks only (and logs in) and reports the steps already in place as StepAlreadyDone, so a
// front end can show them before anything is written. A step whose Check depends on an earlier step that
// has not run is simply not done: Survey goes on to the next one, so a run stopped between any two steps
// surveys cleanly. It stops quietly at the first step every later Check depends on (the admin account, the
// license) when that one is not in place; checkpoints are not run.
func (p *Plan) Survey(ctx context.Context, emit func(Event)) error {
	emit = orNop(emit)
	p.cache = cache{}
	for _, s := range p.steps {
		if s.Checkpoint {
			continue
		}
		done, err := s.Check(ctx)
		if isNotYet(err) {
			continue
		}
		if err != nil {
			return p.fail(emit, s, err)
		}
		if done {
			p.record(s.ID)
			emit(Event{Kind: StepAlreadyDone, Step: s.StepInfo})
			continue
		}
		if s.ID == StepSetup || s.ID == StepLicense {
			return p.save()
		}
	}
	return p.save()
}

// Run runs every step in order and stops at the first failure, which it returns after emitting StepFailed.
func (p *Plan) Run(ctx context.Context, emit func(Event)) error {
	p.cache = cache{} // read Metabase afresh: it may have changed by hand since the last run
	for _, s := range p.steps {
		if err := p.RunStep(ctx, s.ID, emit); err != nil {
			return err
		}
	}
	return nil
}

// RunStep runs one step: Check; if not done, Apply and Check again; a checkpoint Verifies. The state is saved
// afterwards, also when the step failed, so the next run resumes.
func (p *Plan) RunStep(ctx context.Context, id string, emit func(Event)) error {
	emit = orNop(emit)
	s, ok := p.step(id)
	if !ok {
		return fmt.Errorf("run step %q: no such step (the steps are %s)", id, strings.Join(p.stepIDs(), ", "))
	}
	seen := map[string]bool{} // a Check runs twice around an Apply; say each thing once
	p.cache.emit = func(msg string) {
		if !seen[msg] {
			seen[msg] = true
			if w, ok := strings.CutPrefix(msg, "warning: "); ok {
				emit(Event{Kind: StepWarning, Step: s.StepInfo, Message: w})
				return
			}
			emit(Event{Kind: StepProgress, Step: s.StepInfo, Message: msg})
		}
	}
	defer func() { p.cache.emit = nil }()
	emit(Event{Kind: StepStarted, Step: s.StepInfo})
	if err := ctx.Err(); err != nil {
		return p.fail(emit, s, err)
	}
	if s.Checkpoint {
		checks, err := s.Verify(ctx)
		if err != nil {
			return p.fail(emit, s, err)
		}
		p.record(s.ID)
		if err := p.save(); err != nil {
			return p.fail(emit, s, err)
		}
		emit(Event{Kind: StepVerified, Step: s.StepInfo, Checks: checks})
		return nil
	}
	done, err := s.Check(ctx)
	if isNotYet(err) {
		// An earlier step has not run: Apply would fail the same way, so say so now.
		return p.fail(emit, s, err)
	}
	if err != nil {
		return p.fail(emit, s, err)
	}
	kind := StepAlreadyDone
	if !done {
		kind = StepDone
		if err := s.Apply(ctx); err != nil {
			return p.fail(emit, s, err)
		}
		done, err = s.Check(ctx)
		if err != nil {
			return p.fail(emit, s, err)
		}
		if !done {
			return p.fail(emit, s, withHint(
				errors.New("Metabase accepted the changes but reading them back shows the step is still not in place"),
				"Another process may be changing Metabase at the same time, or an environment variable overrides the setting; look at "+s.AdminUI+", then run again."))
		}
	}
	p.record(s.ID)
	if err := p.save(); err != nil {
		return p.fail(emit, s, err)
	}
	emit(Event{Kind: kind, Step: s.StepInfo})
	return nil
}

func (p *Plan) step(id string) (Step, bool) {
	for _, s := range p.steps {
		if s.ID == id {
			return s, true
		}
	}
	return Step{}, false
}

func (p *Plan) stepIDs() []string {
	ids := make([]string, len(p.steps))
	for i, s := range p.steps {
		ids[i] = s.ID
	}
	return ids
}

// fail saves what is known (so a rerun resumes), emits StepFailed with a hint and returns the error.
func (p *Plan) fail(emit func(Event), s Step, err error) error {
	if r, ok := p.st.Steps[s.ID]; ok {
		r.Done = false
		p.st.Steps[s.ID] = r
	}
	if saveErr := p.save(); saveErr != nil {
		err = errors.Join(err, saveErr)
	}
	emit(Event{Kind: StepFailed, Step: s.StepInfo, Err: err, Hint: hintFor(err, p.cfg.MetabaseURL)})
	return fmt.Errorf("%s: %w", strings.ToLower(s.Title), err)
}

func (p *Plan) record(id string) {
	if p.st.Steps == nil {
		p.st.Steps = map[string]StepRecord{}
	}
	p.st.Steps[id] = StepRecord{Done: true, At: p.opts.Now().UTC()}
}

// save writes the state when a state directory is set.
func (p *Plan) save() error {
	if p.opts.StateDir == "" {
		return nil
	}
	return p.st.Save(p.opts.StateDir)
}

// progress tells the front end what the running step is doing.
func (p *Plan) progress(format string, args ...any) {
	if p.cache.emit != nil {
		p.cache.emit(fmt.Sprintf(format, args...))
	}
}

func orNop(emit func(Event)) func(Event) {
	if emit == nil {
		return func(Event) {}
	}
	return emit
}

// countingTransport counts the calls to Metabase, and the writes among them, for the summary line and for
// the promise that a second run writes nothing.
type countingTransport struct {
	next http.RoundTripper
	p    *Plan
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.p.calls.Add(1)
	if IsWrite(r.Method, r.URL.Path) {
		t.p.writes.Add(1)
	}
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// IsWrite reports whether a call changes Metabase. Logging in (POST /api/session), SSO sign-ins (GET
// /auth/sso) and queries do not count: Metabase runs queries only through POST, at /api/dataset, a card's
// /api/card/:id/query and a dashboard card's /api/dashboard/:id/dashcard/:dc/card/:card/query.
func IsWrite(method, path string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	if method == http.MethodPost {
		p := strings.TrimSuffix(path, "/")
		if strings.HasSuffix(p, "/api/session") || strings.HasSuffix(p, "/api/dataset") {
			return false
		}
		if strings.HasSuffix(p, "/query") && (strings.Contains(p, "/api/card/") || strings.Contains(p, "/api/dashboard/")) {
			return false
		}
	}
	return true
}

// siteOf is the scheme and host of a URL, for comparing origins.
func siteOf(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s)://host[:port] URL", raw)
	}
	return u, nil
}
