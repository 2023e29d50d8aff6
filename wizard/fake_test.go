package wizard

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/plan"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

func TestMain(m *testing.M) {
	// Goldens hold plain text: no colours, whatever terminal runs the tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	code := m.Run()
	for _, srv := range servers {
		srv.Close()
	}
	os.Exit(code)
}

// testLicense is a well-formed, made-up token.
const testLicense = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// defaultChoices are what cmd would pass on a first run with the license in the environment.
func defaultChoices() Choices {
	return Choices{
		Config: plan.Config{
			HostAppURL:    "http://localhost:8080",
			AdminEmail:    "admin@example.com",
			AdminPassword: "s3cret-admin-pw",
			DemoPassword:  "s3cret-demo-pw-1",
			LicenseToken:  testLicense,
			Tenants:       []plan.Tenant{plan.DefaultTenant},
			UIOptions:     plan.DefaultUIOptions(),
		},
		MetabasePort: 3000,
		Image:        "metabase/metabase-enterprise:latest",
	}
}

// fakeEngine scripts what stack, plan and host app do.
type fakeEngine struct {
	checks      []Check
	stackEvents []stack.Event
	stackHold   chan struct{} // when set, Stack waits for it (or ctx) after its events
	stackErrs   []error       // Stack fails with these, in turn, before it succeeds
	plan        *fakePlan
	serveURL    string
	licenseFrom string
	hostDone    chan error // when set, the first Serve's Done; the test sends its end
	// preflight, when set, gives the checks for the choices checked (instead of checks).
	preflight func(Choices) []Check
	// beforeChecklist, when set, runs before the checklist is read (a test changing Metabase by hand).
	beforeChecklist func(st *plan.State)
	// banners are what Banners answers (a version floor overridden).
	banners []string

	mu         sync.Mutex
	stackCalls []Choices
	checked    []Choices // the choices each preflight checked
	planCalls  []string
	opened     []string
	serveCtx   context.Context
}

// Preflight is the scripted checks plus the session's own license line.
func (f *fakeEngine) Preflight(ctx context.Context, c Choices) []Check {
	f.mu.Lock()
	f.checked = append(f.checked, c)
	checks := append([]Check(nil), f.checks...)
	if f.preflight != nil {
		checks = f.preflight(c)
	}
	f.mu.Unlock()
	return append(checks, sess.LicenseCheck(c, f.licenseFrom, true, false))
}

func (f *fakeEngine) Banners() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.banners...)
}

// setChecks replaces the scripted checks (a test "fixing" a prerequisite).
func (f *fakeEngine) setChecks(cs []Check) {
	f.mu.Lock()
	f.checks = cs
	f.mu.Unlock()
}

func (f *fakeEngine) preflights() []Choices {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Choices(nil), f.checked...)
}

func (f *fakeEngine) Stack(ctx context.Context, c Choices, emit func(stack.Event)) (string, error) {
	f.mu.Lock()
	f.stackCalls = append(f.stackCalls, c)
	var err error
	if len(f.stackErrs) > 0 {
		err, f.stackErrs = f.stackErrs[0], f.stackErrs[1:]
	}
	f.mu.Unlock()
	for _, ev := range f.stackEvents {
		emit(ev)
	}
	if f.stackHold != nil {
		select {
		case <-f.stackHold:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if err != nil {
		return "", err
	}
	return "http://localhost:3000", nil
}

func (f *fakeEngine) Plan(ctx context.Context, c Choices, url string) (Plan, error) {
	f.mu.Lock()
	f.planCalls = append(f.planCalls, url)
	f.mu.Unlock()
	return f.plan, nil
}

func (f *fakeEngine) Serve(ctx context.Context, st *plan.State, emit func(sess.Event)) (sess.HostApp, error) {
	f.mu.Lock()
	f.serveCtx = ctx
	f.mu.Unlock()
	done := make(chan error, 1)
	f.mu.Lock()
	if f.hostDone != nil {
		done, f.hostDone = f.hostDone, nil // the first serve dies when the test says so
	}
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		select {
		case done <- nil:
		default:
		}
	})
	return sess.HostApp{URL: f.serveURL, Done: done}, nil
}

func (f *fakeEngine) Open(url string) error {
	f.mu.Lock()
	f.opened = append(f.opened, url)
	f.mu.Unlock()
	return nil
}

// Checklist is the session's: Metabase's checklist read from the plan's emulator, beside a real audit.
func (f *fakeEngine) Checklist(ctx context.Context, st *plan.State) *sess.ChecklistReport {
	if f.beforeChecklist != nil {
		f.beforeChecklist(st)
	}
	return sess.ReadChecklist(ctx, st)
}

func (f *fakeEngine) snapshot() (stackCalls []Choices, opened []string, serveCtx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Choices(nil), f.stackCalls...), append([]string(nil), f.opened...), f.serveCtx
}

// fakePlan is no fake: it is the real plan, through a real session, against a fresh emulator (metabasetest).
// What tests script is the emulator's behaviour: a step that fails once (a 500 on its first write), a step
// that runs until its context ends (a Sample Database sync that never ends), steps already done (run for real
// before the wizard starts).
type fakePlan struct {
	steps []plan.StepInfo
	st    *plan.State
	// version is the emulator's Metabase version (metabasetest.Options.Version); "" is its default.
	version string

	mu        sync.Mutex
	srv       *metabasetest.Server
	real      Plan
	failOnce  map[string]error // the step's first write gets a 500 from Metabase (the error is not used: Metabase's is)
	hold      map[string]bool  // the step waits for its context to end instead of running: the wizard's cancellation under test
	cancelled chan string      // ids of steps whose context ended while they ran
	runs      []string         // the steps the wizard ran, in order
}

// servers are the emulators the tests started; TestMain closes them.
var servers []*metabasetest.Server

func newFakePlan() *fakePlan {
	p := &fakePlan{st: &plan.State{}, failOnce: map[string]error{}, hold: map[string]bool{}, cancelled: make(chan string, 8)}
	cfg := sess.Config{Choices: defaultChoices(), State: p.st}
	cfg.Config.MetabaseURL = "http://127.0.0.1:1" // replaced by the emulator's URL when it starts
	pl, err := sess.New(cfg, sess.Options{}).Plan(cfg.Config.MetabaseURL)
	if err != nil {
		panic(err)
	}
	p.steps = pl.Steps()
	return p
}

// plan starts the emulator (once, as the scripted holds want it) and the real plan against it.
func (p *fakePlan) plan() Plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.real != nil {
		return p.real
	}
	p.srv = metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken, Version: p.version})
	servers = append(servers, p.srv)
	cfg := sess.Config{Choices: defaultChoices(), State: p.st}
	// localhost, like the host app's origin: the same site, as on a user's machine.
	cfg.Config.MetabaseURL = strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1)
	s := sess.New(cfg, sess.Options{PlanOptions: plan.Options{PollInterval: 20 * time.Millisecond, ReadyTimeout: 5 * time.Second}})
	real, err := NewEngine(s).Plan(context.Background(), cfg.Choices, cfg.Config.MetabaseURL)
	if err != nil {
		panic(err)
	}
	p.real = real
	return real
}

func (p *fakePlan) Steps() []plan.StepInfo { return p.steps }
func (p *fakePlan) State() *plan.State     { return p.st }

func (p *fakePlan) Survey(ctx context.Context, emit func(sess.Event)) error {
	return p.plan().Survey(ctx, emit)
}

func (p *fakePlan) RunStep(ctx context.Context, id string, emit func(sess.Event)) error {
	real := p.plan()
	p.mu.Lock()
	p.runs = append(p.runs, id)
	_, fail := p.failOnce[id]
	delete(p.failOnce, id)
	hold := p.hold[id]
	p.mu.Unlock()
	if hold {
		<-ctx.Done()
		p.cancelled <- id
		return ctx.Err()
	}
	if fail {
		p.srv.InjectFault(metabasetest.Fault{Method: "PUT", Path: "/api/setting", Status: 500, Times: 1,
			Body: `{"message":"Setting jwt-enabled is not enabled because feature :sso-jwt is not available"}`})
	}
	err := real.RunStep(ctx, id, emit)
	if ctx.Err() != nil {
		p.cancelled <- id
	}
	return err
}

func (p *fakePlan) Run(ctx context.Context, emit func(sess.Event)) error {
	for _, s := range p.steps {
		if err := p.RunStep(ctx, s.ID, emit); err != nil {
			return err
		}
	}
	return nil
}

// markDone runs the steps for real before the wizard starts, so that its survey finds them in place.
func (p *fakePlan) markDone(ids ...string) {
	real := p.plan()
	for _, id := range ids {
		if err := real.RunStep(context.Background(), id, nil); err != nil {
			panic(fmt.Sprintf("step %s: %v", id, err))
		}
	}
}

// wizardT drives the whole wizard model in teatest at 80×24.
type wizardT struct {
	t    *testing.T
	tm   *teatest.TestModel
	eng  *fakeEngine
	out  bytes.Buffer // everything read from the output so far
	mark int          // where the output after the last key starts
}

func newEngine() *fakeEngine {
	return &fakeEngine{
		checks: []Check{
			{Name: "Docker", OK: true, Detail: "Docker 20.10.24 answers at unix:///var/run/docker.sock"},
			{Name: "Port 3000", OK: true, Detail: "free"},
			{Name: "Memory", OK: true, Detail: "7.8 GiB for containers"},
		},
		plan:     newFakePlan(),
		serveURL: "http://localhost:8080",
	}
}

func startWizard(t *testing.T, eng *fakeEngine, edit func(*Options)) *wizardT {
	t.Helper()
	opts := Options{Choices: defaultChoices(), LicenseFrom: "MB_PREMIUM_EMBEDDING_TOKEN", Engine: eng, NoBrowser: false,
		StateFile: "/home/you/.local/state/embedwizard/state.json", HostLog: "/home/you/.local/state/embedwizard/hostapp.log"}
	if edit != nil {
		edit(&opts)
	}
	eng.licenseFrom = opts.LicenseFrom
	ctx, cancel := context.WithCancel(context.Background())
	s := newSession(ctx, opts)
	t.Cleanup(func() { s.stop(cancel) })
	tm := teatest.NewTestModel(t, newModel(s, cancel), teatest.WithInitialTermSize(80, 24))
	return &wizardT{t: t, tm: tm, eng: eng}
}

// waitFor waits until the output since the last key shows text. The renderer only rewrites lines that
// changed, so text is looked for as it newly appears.
func (w *wizardT) waitFor(text string) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.read()
		if bytes.Contains(w.out.Bytes()[w.mark:], []byte(text)) {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the wizard did not show %q within 10s; output since the last key:\n%s", text, w.out.Bytes()[w.mark:])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// read takes what the program wrote so far.
func (w *wizardT) read() {
	buf := make([]byte, 64<<10)
	for {
		n, _ := w.tm.Output().Read(buf)
		if n == 0 {
			return
		}
		w.out.Write(buf[:n])
	}
}

func (w *wizardT) key(k string) {
	w.read()
	w.mark = w.out.Len()
	switch k {
	case "enter":
		w.tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	case "ctrl+c":
		w.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	case "shift+tab":
		w.tm.Send(tea.KeyMsg{Type: tea.KeyShiftTab})
	case "backspace":
		w.tm.Send(tea.KeyMsg{Type: tea.KeyBackspace})
	case "ctrl+u":
		w.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	default:
		w.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
	}
}

// finish quits the program and returns the model as it ended.
func (w *wizardT) finish() *model {
	w.t.Helper()
	w.tm.Quit()
	return w.tm.FinalModel(w.t, teatest.WithFinalTimeout(10*time.Second)).(*model)
}

// plainView is the current screen as the terminal shows it, trailing spaces trimmed and the spinner
// stopped at its first frame, so that goldens do not depend on how often it ticked.
func (m *model) plainView() string {
	frames := spinner.MiniDot.Frames
	lines := strings.Split(m.View(), "\n")
	for i, l := range lines {
		for _, f := range frames[1:] {
			l = strings.ReplaceAll(l, f, frames[0])
		}
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// errFake is what the scripted failure says: Metabase's own message, carried by the plan's error.
const errFake = "Setting jwt-enabled is not enabled because feature :sso-jwt is not available"
