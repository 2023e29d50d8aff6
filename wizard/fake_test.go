package wizard

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/embedwizard/embedwizard/wizard/plan"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

func TestMain(m *testing.M) {
	// Goldens hold plain text: no colours, whatever terminal runs the tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
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

	mu         sync.Mutex
	stackCalls []Choices
	planCalls  []string
	opened     []string
	serveCtx   context.Context
}

// Preflight is the scripted checks plus the session's own license line.
func (f *fakeEngine) Preflight(ctx context.Context, c Choices) []Check {
	return append(append([]Check(nil), f.checks...), sess.LicenseCheck(c, f.licenseFrom, true, false))
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
	f.plan.st.Config = c.Config
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

func (f *fakeEngine) snapshot() (stackCalls []Choices, opened []string, serveCtx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Choices(nil), f.stackCalls...), append([]string(nil), f.opened...), f.serveCtx
}

// fakePlan is a plan of the guide's shape whose steps succeed unless told otherwise.
type fakePlan struct {
	steps []plan.StepInfo
	st    *plan.State

	mu        sync.Mutex
	done      map[string]bool
	failOnce  map[string]error // the step fails once with this error
	hold      map[string]bool  // the step runs until its context ends
	cancelled chan string      // ids of held steps whose context ended
	runs      []string
}

func newFakePlan() *fakePlan {
	return &fakePlan{
		steps: []plan.StepInfo{
			{ID: "setup", Title: "Create the admin account", Guide: "Prerequisites", Why: "Metabase starts empty; its first-run setup makes the admin the other steps act as.", AdminUI: "The first-run setup page", Calls: []string{"POST /api/setup"}},
			{ID: "license", Title: "Activate the license", Guide: "Prerequisites", Why: "Interactive embedding, JWT SSO and sandboxing are paid features; the token unlocks them.", AdminUI: "Admin settings > License", Calls: []string{"PUT /api/setting/premium-embedding-token"}},
			{ID: "dashboard", Title: "X-ray Invoices and save the dashboard", Guide: "Create a dashboard in Metabase", Why: "The X-ray builds a dashboard of the Invoices table; saving it gives the host app something to embed.", AdminUI: "Browse > Databases > Sample Database > Invoices > X-ray > Save this", Calls: []string{"GET /api/automagic-dashboards/table/:id", "POST /api/dashboard/save"}},
			{ID: "embedding", Title: "Enable interactive embedding", Guide: "Enable interactive embedding", Why: "Metabase refuses to be framed unless embedding is on and the host app's origin is authorized.", AdminUI: "Admin settings > Embedding > Interactive embedding", Calls: []string{"PUT /api/setting"}},
			{ID: "jwt", Title: "Set up JWT SSO", Guide: "Set up SSO with JWT in your Metabase", Why: "The host app signs who the user is; Metabase trusts tokens signed with the shared key.", AdminUI: "Admin settings > Authentication > JWT", Calls: []string{"PUT /api/setting (jwt-shared-secret: ****)"}},
			{ID: "sso-checkpoint", Title: "Sign in through SSO", Guide: "CHECKPOINT: sign in to your Metabase using SSO", Why: "Signs in as the demo user the way the iframe will.", Calls: []string{"GET /auth/sso?jwt=****", "GET /api/user/current"}, Checkpoint: true},
			{ID: "sandbox", Title: "Sandbox Invoices per tenant", Guide: "Set up permissions and sandboxing", Why: "Each tenant's group sees only the rows of its account.", AdminUI: "Admin settings > Permissions > Data", Calls: []string{"PUT /api/permissions/graph"}},
			{ID: "sandbox-checkpoint", Title: "See only account 28", Guide: "CHECKPOINT: view the sandboxed dashboard", Why: "Queries Invoices as the demo user and checks every row.", Calls: []string{"POST /api/dataset"}, Checkpoint: true},
		},
		st: &plan.State{Config: plan.Config{AdminEmail: "admin@example.com", AdminPassword: "s3cret-admin-pw"}, Tenants: []plan.TenantState{{
			Tenant:   plan.DefaultTenant,
			DemoUser: plan.DemoUser{Email: "demo.acme@example.com", FirstName: "Demo", LastName: "Acme", Password: "s3cret-demo-pw"},
		}}},
		done:      map[string]bool{},
		failOnce:  map[string]error{},
		hold:      map[string]bool{},
		cancelled: make(chan string, 8),
	}
}

func (p *fakePlan) Steps() []plan.StepInfo { return p.steps }
func (p *fakePlan) State() *plan.State     { return p.st }

func (p *fakePlan) Survey(ctx context.Context, emit func(sess.Event)) error {
	for _, s := range p.steps {
		p.mu.Lock()
		done := p.done[s.ID]
		p.mu.Unlock()
		if done && !s.Checkpoint {
			emit(sess.Event{Kind: sess.StepProgress, Step: plan.Event{Kind: plan.StepAlreadyDone, Step: s}})
		}
	}
	return nil
}

func (p *fakePlan) RunStep(ctx context.Context, id string, emit func(sess.Event)) error {
	var s plan.StepInfo
	for _, x := range p.steps {
		if x.ID == id {
			s = x
		}
	}
	p.mu.Lock()
	p.runs = append(p.runs, id)
	done, hold, failure := p.done[id], p.hold[id], p.failOnce[id]
	delete(p.failOnce, id)
	p.mu.Unlock()
	emit(sess.Event{Kind: sess.StepProgress, Step: plan.Event{Kind: plan.StepStarted, Step: s}})
	if done {
		emit(sess.Event{Kind: sess.StepProgress, Step: plan.Event{Kind: plan.StepAlreadyDone, Step: s}})
		return nil
	}
	if hold {
		<-ctx.Done()
		p.cancelled <- id
		return ctx.Err()
	}
	emit(sess.Event{Kind: sess.StepProgress, Step: plan.Event{Kind: plan.StepProgress, Step: s, Message: s.Calls[0]}})
	if failure != nil {
		emit(sess.Event{Kind: sess.StepProgress, Step: plan.Event{Kind: plan.StepFailed, Step: s, Err: failure, Hint: "give the license the sso_jwt feature, then press r"}})
		return failure
	}
	p.mu.Lock()
	p.done[id] = true
	p.mu.Unlock()
	if s.Checkpoint {
		emit(sess.Event{Kind: sess.StepProgress, Step: plan.Event{Kind: plan.StepVerified, Step: s, Checks: []string{"checked: " + s.Title}}})
		return nil
	}
	emit(sess.Event{Kind: sess.StepProgress, Step: plan.Event{Kind: plan.StepDone, Step: s}})
	return nil
}

func (p *fakePlan) Run(ctx context.Context, emit func(sess.Event)) error {
	for _, s := range p.steps {
		if err := p.RunStep(ctx, s.ID, emit); err != nil {
			return err
		}
	}
	return nil
}

func (p *fakePlan) markDone(ids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		p.done[id] = true
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

var errFake = errors.New("PUT /api/setting: Metabase answered 500: Setting jwt-enabled is not enabled because feature :sso-jwt is not available")
