package wizard

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/embedwizard/embedwizard/stack"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// stackEventMsg is one event of stack.Up.
type stackEventMsg struct{ ev stack.Event }

// stackDoneMsg is stack.Up's result.
type stackDoneMsg struct {
	url string
	err error
}

// stackReadyMsg: Metabase answers at url; the wizard goes on to the walk-through.
type stackReadyMsg struct{ url string }

// logKeep is how many log lines the stack screen remembers for its tail.
const logKeep = 200

// stackScreen shows the image pull (a bar per layer and a total), then Metabase's boot progress, with a
// log tail toggled by l.
type stackScreen struct {
	s             *session
	width, height int
	choices       Choices
	job           job
	spin          spinner.Model
	bar           progress.Model

	running bool
	status  string // the last thing the stack said
	pull    struct {
		started, done, present bool
		layers                 []stack.Layer
		percent                float64
		bytes                  stack.PullBytes
	}
	warnings []string // what the stack said that did not stop it (the registry could not be checked)
	booting  bool
	boot     float64
	logs     []string
	showLog  bool
	err      error
}

func newStackScreen(s *session, c Choices) *stackScreen {
	return &stackScreen{s: s, choices: c, spin: newSpinner(), bar: newBar(30), width: 80, height: 24}
}

func (m *stackScreen) Init() tea.Cmd { return tea.Batch(m.up(), m.spin.Tick) }

// up starts (or retries) stack.Up in a job.
func (m *stackScreen) up() tea.Cmd {
	m.running, m.err, m.status = true, nil, "looking for the Metabase container"
	var cmd tea.Cmd
	m.job, cmd = m.s.start(func(emit func(tea.Msg)) tea.Msg {
		url, err := m.s.opts.Engine.Stack(m.s.ctx, m.choices, func(ev stack.Event) { emit(stackEventMsg{ev}) })
		return stackDoneMsg{url, err}
	})
	return cmd
}

func (m *stackScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.bar.Width = min(max(m.width-48, 10), 30)
	case stackEventMsg:
		m.apply(msg.ev)
		return m, m.job.next
	case stackDoneMsg:
		m.running = false
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		return m, func() tea.Msg { return stackReadyMsg{msg.url} }
	case spinner.TickMsg:
		if !m.running {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		switch msg.String() {
		case "l":
			m.showLog = !m.showLog
		case "r":
			if m.err != nil {
				return m, tea.Batch(m.up(), m.spin.Tick)
			}
		case "q":
			if !m.running {
				return m, quit(fmt.Errorf("start Metabase: %w", m.err))
			}
		}
	}
	return m, nil
}

// apply folds one stack event into the screen.
func (m *stackScreen) apply(ev stack.Event) {
	switch ev.Kind {
	case stack.LogLine:
		m.logs = append(m.logs, ev.Message)
		if len(m.logs) > logKeep {
			m.logs = m.logs[len(m.logs)-logKeep:]
		}
		return
	case stack.PullStart:
		m.pull.started = true
	case stack.PullProgress:
		m.pull.layers, m.pull.percent, m.pull.bytes = ev.Layers, ev.Percent, ev.Bytes
	case stack.PullDone:
		m.pull.done, m.pull.percent, m.pull.bytes = true, 100, ev.Bytes
		if len(ev.Layers) > 0 {
			m.pull.layers = ev.Layers
		}
	case stack.Warning:
		m.warnings = append(m.warnings, ev.Message)
		return
	case stack.ImagePresent:
		m.pull.present = true
	case stack.Booting:
		m.booting, m.boot = true, ev.Boot
	case stack.Healthy:
		m.booting, m.boot = true, 1
	}
	if ev.Message != "" {
		m.status = ev.Message
	}
}

func (m *stackScreen) View() string {
	var b strings.Builder
	b.WriteString(titleStyle.Render("Starting Metabase") + dimStyle.Render(fmt.Sprintf(" · http://localhost:%d", m.choices.MetabasePort)) + "\n\n")
	b.WriteString(m.imageView())
	for _, w := range m.warnings {
		b.WriteString(hanging("Note     ", w, m.width) + "\n")
	}
	b.WriteString(m.bootView())

	switch {
	case m.err != nil:
		b.WriteString("\n" + markFail + " " + headStyle.Render("Metabase did not start") + "\n")
		b.WriteString(wrap(m.err.Error(), m.width) + "\n")
		if hint := stackHint(m.err); hint != "" {
			b.WriteString(hanging("Fix      ", hint, m.width) + "\n")
		}
	case m.running && !m.pulling() && !m.booting:
		b.WriteString("\n" + m.spin.View() + " " + ansi.Truncate(m.status, max(m.width-2, 10), "…") + "\n")
	}

	footer := help("l", m.logToggle(), "ctrl+c", "stop (run again to resume)")
	if m.pulling() {
		// Docker keeps no half-pulled image (Engine 20.10 drops even finished layers): no resume promised.
		footer = help("l", m.logToggle(), "ctrl+c", "stop (the next run pulls again)")
	}
	if m.err != nil {
		footer = help("r", "try again", "l", m.logToggle(), "q", "quit")
	}
	if m.showLog {
		used := strings.Count(b.String(), "\n") + 3
		b.WriteString("\n" + m.logView(max(m.height-used, 3)))
	}
	return b.String() + "\n" + footer
}

func (m *stackScreen) logToggle() string {
	if m.showLog {
		return "hide the log"
	}
	return "show the log"
}

// Layer rows, at 80 columns: "  <id>  <what it does>  <bar and percent>  <bytes>", 2+12+2+18+2+22+2+16.
const (
	layerWordsWidth = 18 // "waiting to extract", the longest phase
	layerBarWidth   = 22 // the bar with its percent
)

// imageView is the pull: a row per layer saying what it is doing, the finished ones summed up when
// the screen is short, and a total in bytes.
func (m *stackScreen) imageView() string {
	switch {
	case m.pull.present:
		return field("Image", markOK+" "+m.choices.Image+" is already here", m.width) + "\n"
	case m.pull.done:
		return field("Image", markOK+fmt.Sprintf(" pulled %s (%d layers, %s)", m.choices.Image, len(m.pull.layers), megabytes(m.pull.bytes.Received)), m.width) + "\n"
	case !m.pull.started:
		return field("Image", dimStyle.Render("checking…"), m.width) + "\n"
	}
	var b strings.Builder
	b.WriteString(field("Image", m.spin.View()+" pulling "+m.choices.Image, m.width) + "\n")
	rows := max(m.height-14, 3)
	show := m.pull.layers
	finished := 0
	if len(show) > rows { // short screen: the finished layers go into one summary line
		show = nil
		for _, l := range m.pull.layers {
			if l.Phase.Finished() {
				finished++
			} else {
				show = append(show, l)
			}
		}
	}
	hidden := max(len(show)-rows, 0)
	for _, l := range show[:len(show)-hidden] {
		b.WriteString(m.layerRow(l) + "\n")
	}
	if finished > 0 {
		b.WriteString(fmt.Sprintf("  %s %d of %d layers done\n", markOK, finished, len(m.pull.layers)))
	}
	if hidden > 0 {
		b.WriteString(dimStyle.Render(fmt.Sprintf("  … %d more layers", hidden)) + "\n")
	}
	bar := m.bar
	bar.Width = layerBarWidth
	total := "  " + fmt.Sprintf("%-*s", 12+2+layerWordsWidth+2, "total") + bar.ViewAs(m.pull.percent/100)
	if by := m.pull.bytes; by.Total > 0 {
		of := " of "
		if !by.Exact {
			of = " of ≥"
		}
		total += "  " + megabytesPair(by.Present+by.Received, by.Total, of)
	}
	b.WriteString(ansi.Truncate(total, m.width, "…") + "\n")
	return b.String()
}

// layerRow is one layer: what it is doing in words, a bar where a bar means something, and bytes.
func (m *stackScreen) layerRow(l stack.Layer) string {
	bar := m.bar
	bar.Width = layerBarWidth
	blank := strings.Repeat(" ", layerBarWidth)
	size := l.Size
	if size == 0 {
		size = l.Total
	}
	var meter, detail string
	switch l.Phase {
	case stack.LayerDownloading:
		meter, detail = bar.ViewAs(ratio(l.Current, l.Total)), megabytesPair(l.Current, l.Total, " of ")
	case stack.LayerVerifying, stack.LayerDownloaded:
		// The download is finished: say so with a full bar, not the empty one of the next phase.
		meter, detail = bar.ViewAs(1), strings.TrimSpace(sizeOrEmpty(size)+" downloaded")
	case stack.LayerExtracting:
		meter, detail = bar.ViewAs(ratio(l.Current, l.Total)), megabytesPair(l.Current, l.Total, " of ")
	case stack.LayerDone:
		meter, detail = bar.ViewAs(1), sizeOrEmpty(size)
	case stack.LayerPresent:
		meter, detail = blank, sizeOrEmpty(size)
	case stack.LayerRetrying:
		meter, detail = blank, strings.TrimPrefix(strings.ToLower(l.Status), "retrying ")
	default: // waiting
		meter, detail = blank, sizeOrEmpty(size)
	}
	row := fmt.Sprintf("  %-12s  %-*s  %s  %s", l.ID, layerWordsWidth, l.Phase, meter, detail)
	return ansi.Truncate(strings.TrimRight(row, " "), max(m.width, 20), "…")
}

func ratio(cur, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return min(float64(cur)/float64(total), 1)
}

func sizeOrEmpty(n int64) string {
	switch {
	case n <= 0:
		return ""
	case n < 100_000: // a tiny layer says its size, not "0.0 MB"
		return fmt.Sprintf("%d bytes", n)
	}
	return megabytes(n)
}

// megabytesPair is "96.0 of 192.0 MB".
func megabytesPair(cur, total int64, of string) string {
	if total <= 0 {
		return megabytes(cur)
	}
	return fmt.Sprintf("%.1f%s%.1f MB", float64(cur)/1e6, of, float64(total)/1e6)
}

// bootView is Metabase's own boot progress, read from /api/health while it initialises.
func (m *stackScreen) bootView() string {
	if !m.booting {
		return ""
	}
	if m.boot >= 1 {
		return field("Boot", markOK+" Metabase is up", m.width) + "\n"
	}
	return field("Boot", m.bar.ViewAs(m.boot)+" "+m.spin.View()+dimStyle.Render(" Metabase is initialising"), m.width) + "\n"
}

// pulling reports whether the image pull is under way.
func (m *stackScreen) pulling() bool { return m.pull.started && !m.pull.done }

// logView is the last n lines of the container's log, cut to the screen's width.
func (m *stackScreen) logView(n int) string {
	if len(m.logs) == 0 {
		return dimStyle.Render("(no log lines yet)") + "\n"
	}
	lines := m.logs[max(len(m.logs)-n, 0):]
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(dimStyle.Render(ansi.Truncate(l, max(m.width, 20), "…")) + "\n")
	}
	return b.String()
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// stackHint adds what to do for the stack's known failures when its message may not say it all.
func stackHint(err error) string {
	if h, ok := sess.HintOf(err); ok && h.Do != "" { // the stack's own advice knows the most (the context, the memory)
		return h.Do
	}
	switch {
	case errors.Is(err, stack.ErrPortInUse):
		return "run embedwizard again and choose another Metabase port in the form (or --metabase-port)."
	case errors.Is(err, stack.ErrDaemonUnreachable):
		return "start Docker (Docker Desktop, or `sudo systemctl start docker`), then press r."
	case errors.Is(err, stack.ErrHealthTimeout), errors.Is(err, stack.ErrContainerExited):
		return "press l for Metabase's log; out of memory is the usual cause: give Docker at least 2 GiB, then press r."
	case errors.Is(err, stack.ErrImageChanged):
		return "quit and run `embedwizard up --recreate` to switch images (the data is kept), or keep the old --image."
	}
	return ""
}
