package wizard

import (
	"strings"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Colours are adaptive so that the screens read on light and dark terminals alike.
var (
	green  = lipgloss.AdaptiveColor{Light: "#1a7f37", Dark: "#3fb950"}
	red    = lipgloss.AdaptiveColor{Light: "#cf222e", Dark: "#f85149"}
	yellow = lipgloss.AdaptiveColor{Light: "#9a6700", Dark: "#d29922"}
	blue   = lipgloss.AdaptiveColor{Light: "#0969da", Dark: "#58a6ff"}
	grey   = lipgloss.AdaptiveColor{Light: "#6e7781", Dark: "#8b949e"}

	titleStyle = lipgloss.NewStyle().Bold(true).Foreground(blue)
	headStyle  = lipgloss.NewStyle().Bold(true)
	okStyle    = lipgloss.NewStyle().Foreground(green)
	failStyle  = lipgloss.NewStyle().Foreground(red)
	warnStyle  = lipgloss.NewStyle().Foreground(yellow)
	dimStyle   = lipgloss.NewStyle().Foreground(grey)
	urlStyle   = lipgloss.NewStyle().Foreground(blue).Underline(true)
	labelStyle = lipgloss.NewStyle().Foreground(grey).Width(9)
)

// Marks of the step list and the check list.
var (
	markOK      = okStyle.Render("✓")
	markFail    = failStyle.Render("✗")
	markWarn    = warnStyle.Render("!")
	markCurrent = warnStyle.Render("▸")
	markPending = dimStyle.Render("·")
)

// help renders key hints: help("enter", "run", "q", "quit") is "enter run · q quit".
func help(pairs ...string) string {
	parts := make([]string, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, headStyle.Render(pairs[i])+" "+dimStyle.Render(pairs[i+1]))
	}
	return strings.Join(parts, dimStyle.Render(" · "))
}

// field renders "Label    value", the value wrapped under itself to fit width.
func field(label, value string, width int) string {
	w := max(width-labelStyle.GetWidth(), 20)
	return lipgloss.JoinHorizontal(lipgloss.Top, labelStyle.Render(label), lipgloss.NewStyle().Width(w).Render(value))
}

// wrap fits s into width columns (at least 20), word by word.
func wrap(s string, width int) string {
	lines := strings.Split(lipgloss.NewStyle().Width(max(width, 20)).Render(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// hanging renders prefix followed by s wrapped to width, continuation lines indented under s.
func hanging(prefix, s string, width int) string {
	indent := lipgloss.Width(prefix)
	lines := strings.Split(wrap(s, width-indent), "\n")
	for i := range lines {
		if i > 0 {
			lines[i] = strings.Repeat(" ", indent) + lines[i]
		}
	}
	return prefix + strings.Join(lines, "\n")
}

// pack lays items out in lines of at most width columns, separated by sep, never breaking an item (an API
// call such as "POST /api/session" stays on one line).
func pack(items []string, sep string, width int) string {
	var lines []string
	line := ""
	for _, it := range items {
		switch {
		case line == "":
			line = it
		case lipgloss.Width(line+sep+it) <= width:
			line += sep + it
		default:
			lines = append(lines, line)
			line = it
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// fit keeps s inside the terminal: the first height lines, each cut to width. Screens lay themselves out
// for the size they are given; this is the guarantee that a narrow window never wraps or scrolls.
func fit(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if height > 0 && len(lines) > height {
		lines = lines[:height]
	}
	if width > 0 {
		for i, l := range lines {
			lines[i] = ansi.Truncate(l, width, "…")
		}
	}
	return strings.Join(lines, "\n")
}

// newSpinner is the spinner of work in progress.
func newSpinner() spinner.Model {
	return spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(warnStyle))
}

// newBar is a progress bar drawn in the terminal's colour profile, without animation: the value shown is
// always the last one reported.
func newBar(width int) progress.Model {
	return progress.New(progress.WithSolidFill(string(green.Dark)), progress.WithWidth(width),
		progress.WithColorProfile(lipgloss.ColorProfile()), progress.WithFillCharacters('█', '░'))
}

// mask hides a secret entirely: its length is no business of the screen's either.
func mask(secret string) string {
	if secret == "" {
		return dimStyle.Render("(none)")
	}
	return "••••••••"
}
