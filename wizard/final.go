package wizard

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/embedwizard/embedwizard/wizard/plan"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// hostReadyMsg: the host app listens (or could not start).
type hostReadyMsg struct {
	host sess.HostApp
	err  error
}

// hostDownMsg: the host app stopped on its own; err says why.
type hostDownMsg struct{ err error }

// openedMsg: the browser was asked to open /analytics.
type openedMsg struct{ err error }

// checklistMsg carries Metabase's own checklist beside ours.
type checklistMsg struct{ r *sess.ChecklistReport }

// final serves the host app, opens /analytics, and says how to sign in and what to type next. q stops
// the host app; Metabase keeps running.
type final struct {
	s             *session
	width, height int
	st            *plan.State
	metabaseURL   string
	external      bool       // Metabase runs elsewhere: no snapshot to save
	checks        [][]string // what each checkpoint verified
	warnings      []string   // what the steps warned about
	spin          spinner.Model
	job           job

	hostURL string
	down    error // the host app stopped by itself, with this error
	err     error
	opened  bool
	openErr error
	reveal  bool
	// checklist is Metabase's own verdict, read once the host app runs (after the snapshot's restart).
	checklist *sess.ChecklistReport
	asked     bool
}

func newFinal(s *session, st *plan.State, metabaseURL string, checks [][]string, warnings []string) *final {
	return &final{s: s, st: st, metabaseURL: metabaseURL, checks: checks, warnings: warnings, external: s.opts.Choices.External(), spin: newSpinner(), width: 80, height: 24}
}

func (f *final) Init() tea.Cmd { return tea.Batch(f.serve(), f.spin.Tick) }

func (f *final) serve() tea.Cmd {
	f.err = nil
	var cmd tea.Cmd
	f.job, cmd = f.s.start(func(func(tea.Msg)) tea.Msg {
		host, err := f.s.opts.Engine.Serve(f.s.ctx, f.st, nil)
		return hostReadyMsg{host, err}
	})
	return cmd
}

// watch waits for the host app to stop: after Ctrl+C that is expected, otherwise the screen says so.
func (f *final) watch(done <-chan error) tea.Cmd {
	return func() tea.Msg {
		select {
		case err := <-done:
			if f.s.ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("the host app stopped")
			}
			return hostDownMsg{err}
		case <-f.s.ctx.Done():
			return nil
		}
	}
}

// analytics is the host app page that embeds the dashboard.
func (f *final) analytics() string { return strings.TrimRight(f.hostURL, "/") + "/analytics" }

func (f *final) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		f.width, f.height = msg.Width, msg.Height
	case hostReadyMsg:
		f.hostURL, f.err, f.down = msg.host.URL, msg.err, nil
		if f.err != nil {
			return f, nil
		}
		cmds := []tea.Cmd{f.watch(msg.host.Done), f.readChecklist()}
		if !f.s.opts.NoBrowser {
			url := f.analytics()
			cmds = append(cmds, func() tea.Msg { return openedMsg{f.s.opts.Engine.Open(url)} })
		}
		return f, tea.Batch(cmds...)
	case checklistMsg:
		f.checklist = msg.r
	case hostDownMsg:
		f.down = msg.err
	case openedMsg:
		f.opened, f.openErr = true, msg.err
	case spinner.TickMsg:
		if f.hostURL != "" || f.err != nil {
			return f, nil
		}
		var cmd tea.Cmd
		f.spin, cmd = f.spin.Update(msg)
		return f, cmd
	case tea.KeyMsg:
		switch msg.String() {
		case "p":
			f.reveal = !f.reveal
		case "r":
			if f.err != nil || f.down != nil {
				return f, tea.Batch(f.serve(), f.spin.Tick)
			}
		case "q":
			if f.err != nil {
				return f, quit(fmt.Errorf("start the host app: %w", f.err))
			}
			return f, quit(nil)
		}
	}
	return f, nil
}

func (f *final) View() string {
	var b strings.Builder
	switch {
	case f.err != nil:
		b.WriteString(f.banner() + markFail + " " + headStyle.Render("Metabase is configured, but the host app did not start") + "\n\n")
		b.WriteString(wrap(f.err.Error(), f.width) + "\n\n")
		b.WriteString(help("r", "try again", "q", "quit"))
		return b.String()
	case f.down != nil:
		b.WriteString(f.banner() + markFail + " " + headStyle.Render("The host app stopped") + "\n\n")
		b.WriteString(wrap(f.down.Error()+". Metabase is still configured; the host app log is "+f.s.opts.HostLog+".", f.width) + "\n\n")
		b.WriteString(help("r", "start it again", "q", "quit"))
		return b.String()
	case f.hostURL == "" && f.external:
		return f.spin.View() + " starting the host app…\n"
	case f.hostURL == "":
		return f.spin.View() + " saving a snapshot for `embedwizard reset` (the first time, Metabase restarts once),\n  then starting the host app…\n"
	}
	b.WriteString(f.banner() + markOK + " " + titleStyle.Render("Done: the dashboard is embedded in your app, sandboxed per tenant") + "\n")
	for _, w := range f.warnings {
		b.WriteString(warnStyle.Render(hanging("  ! ", w, f.width)) + "\n")
	}
	b.WriteString("\n")
	opened := dimStyle.Render("  open it in your browser")
	switch {
	case f.openErr != nil:
		opened = warnStyle.Render("  could not open a browser: open it yourself")
	case f.opened:
		opened = dimStyle.Render("  opened in your browser")
	}
	b.WriteString(field("Open", urlStyle.Render(f.analytics())+opened, f.width) + "\n")
	admin, pw := f.st.Config.AdminEmail, mask(f.st.Config.AdminPassword)
	switch {
	case f.st.Config.AdminPassword == "":
		pw = "(an API key)"
	case f.reveal:
		pw = f.st.Config.AdminPassword
	}
	b.WriteString(field("Metabase", urlStyle.Render(f.metabaseURL)+dimStyle.Render("  admin "+admin+"  ")+pw, f.width) + "\n")
	b.WriteString(field("Kept in", dimStyle.Render(f.s.opts.StateFile+" (0600): passwords, keys"), f.width) + "\n\n")

	b.WriteString(headStyle.Render("Sign in to the host app as") + "\n")
	emailWidth := 0
	for _, t := range f.st.Tenants {
		emailWidth = max(emailWidth, len(t.DemoUser.Email))
	}
	for _, t := range f.st.Tenants {
		pw := mask(t.DemoUser.Password)
		if f.reveal {
			pw = t.DemoUser.Password
		}
		b.WriteString(fmt.Sprintf("  %-*s  %s  %s\n", emailWidth, t.DemoUser.Email, pw, dimStyle.Render(fmt.Sprintf("%s, account %d", t.Name, t.AccountID))))
	}
	warned := 0
	for _, w := range f.warnings {
		warned += strings.Count(hanging("  ! ", w, f.width), "\n") + 1
	}
	b.WriteString(f.verifiedView(f.height - 18 - len(f.st.Tenants) - warned - strings.Count(f.banner(), "\n")))
	b.WriteString("\n" + headStyle.Render("Next") + "\n")
	next := [][2]string{
		{"embedwizard status", "what runs, the steps done, URLs and logins"},
		{"embedwizard reset", "back to this configured state in seconds"},
		{"embedwizard down", "stop Metabase (it keeps running after you quit)"},
	}
	if f.external { // reset and down refuse on a Metabase embedwizard does not run
		next = [][2]string{
			{"embedwizard status", "the steps done, URLs and logins"},
			{"embedwizard host", "serve the host app again"},
			{"embedwizard doctor", "check the setup against this Metabase"},
		}
	}
	for _, n := range next {
		b.WriteString(fmt.Sprintf("  %-20s %s\n", n[0], dimStyle.Render(n[1])))
	}
	reveal := "show passwords"
	if f.reveal {
		reveal = "hide passwords"
	}
	b.WriteString("\n" + help("p", reveal, "q", "stop the host app and quit (Metabase keeps running)"))
	return b.String()
}

// readChecklist asks Metabase for its checklist once; Metabase is up again after the snapshot by now.
func (f *final) readChecklist() tea.Cmd {
	if f.asked {
		return nil
	}
	f.asked = true
	st := f.st
	_, cmd := f.s.start(func(func(tea.Msg)) tea.Msg {
		return checklistMsg{f.s.opts.Engine.Checklist(f.s.ctx, st)}
	})
	return cmd
}

// checklistView is Metabase's own checklist beside ours: in full (a summary and a line per item), and
// compact (the summary and only the items where the two disagree), for a short terminal.
func (f *final) checklistView() (full, compact []string) {
	r := f.checklist
	switch {
	case r == nil:
		line := dimStyle.Render("Metabase's own embedding checklist: asking Metabase…")
		return []string{line}, []string{line}
	case r.Error != "":
		line := warnStyle.Render("Metabase's own embedding checklist could not be read: " + r.Error)
		return []string{line}, []string{line}
	case !r.Available:
		line := dimStyle.Render("Metabase's own checklist: none here (Metabase 58+, embedding feature)")
		return []string{line}, []string{line}
	}
	summary, items := checklistLines(*r)
	if r.Disagreements > 0 {
		summary = warnStyle.Render(summary)
	}
	full, compact = []string{summary}, []string{summary}
	for i, it := range r.Items {
		if !it.Disagree {
			full = append(full, "  "+items[i])
			continue
		}
		// In full a disagreement says why, wrapped; compact, one line that says where the why is.
		mark, rest, _ := strings.Cut(items[i], " ")
		for _, l := range strings.Split(hanging("  "+mark+" ", rest, f.width-2), "\n") {
			full = append(full, warnStyle.Render(l))
		}
		ours := "not"
		if it.OursOK != nil && *it.OursOK {
			ours = "done"
		}
		metabase := "not"
		if it.MetabaseDone {
			metabase = "done"
		}
		compact = append(compact, warnStyle.Render(fmt.Sprintf("  ! %s: Metabase %s, ours %s (embedwizard doctor says why)", it.Label, metabase, ours)))
	}
	return full, compact
}

// banner is the rehearsal's line, or nothing.
func (f *final) banner() string { return rehearsalLine(f.s.opts, f.width) }

// verifiedView is what the checkpoints verified, beside Metabase's own checklist, in at most rows lines:
// the first finding of each checkpoint, the checklist (in full when it fits, else its summary and the
// disagreements), then as many of the other findings as fit.
func (f *final) verifiedView(rows int) string {
	var lines, rest []string
	for _, group := range f.checks {
		lines = append(lines, group[0])
		rest = append(rest, group[1:]...)
	}
	if len(lines) == 0 {
		return ""
	}
	full, checklist := f.checklistView()
	if len(lines)+len(full) <= rows {
		checklist = full
	}
	if len(lines)+len(checklist) > rows {
		checklist = checklist[:max(rows-len(lines), 1)] // the summary at least
	}
	room := max(rows-len(lines)-len(checklist), 0)
	more := 0
	if len(rest) > room {
		keep := max(room-1, 0) // one line says how many more
		more, rest = len(rest)-keep, rest[:keep]
		if room == 0 {
			more = 0
		}
	}
	var b strings.Builder
	b.WriteString("\n" + headStyle.Render("Verified") + "\n")
	for _, c := range lines {
		b.WriteString("  " + markOK + " " + ansi.Truncate(c, max(f.width-4, 10), "…") + "\n")
	}
	for _, c := range checklist {
		b.WriteString("  " + ansi.Truncate(c, max(f.width-2, 10), "…") + "\n")
	}
	for _, c := range rest {
		b.WriteString("  " + markOK + " " + ansi.Truncate(c, max(f.width-4, 10), "…") + "\n")
	}
	if more > 0 {
		b.WriteString(dimStyle.Render(fmt.Sprintf("  … and %d more", more)) + "\n")
	}
	return b.String()
}
