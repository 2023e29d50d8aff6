package wizard

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/embedwizard/embedwizard/wizard/plan"
)

// formDoneMsg carries what the form made of the user's answers.
type formDoneMsg struct{ choices Choices }

// checkLicense is the plan's format check (contract §3), with a plainer word for an empty field. Neither
// repeats the token.
func checkLicense(token string) error {
	if strings.TrimSpace(token) == "" {
		return errors.New("paste your Pro or Enterprise license token (it is not shown as you type)")
	}
	return plan.CheckLicenseFormat(strings.TrimSpace(token))
}

// uiChoice is one interactive-embedding UI parameter the form offers (contract §12).
type uiChoice struct{ label, key, value string }

var uiChoices = []uiChoice{
	{"Hide the Metabase logo", "logo", "false"},
	{"Hide the top navigation bar", "top_nav", "false"},
	{"Show search (needs the top bar)", "search", "true"},
	{"Show the + New button (needs the top bar)", "new_button", "true"},
	{"Hide breadcrumbs", "breadcrumbs", "false"},
	{"Hide the side navigation", "side_nav", "false"},
	{"Hide the dashboard header", "header", "false"},
	{"Hide the dashboard's additional info", "additional_info", "false"},
	{"Hide action buttons", "action_buttons", "false"},
}

// answers are the form's fields as text, bound to the huh fields; choices turns them into Choices.
type answers struct {
	license, port, email, origin, tenants string
	ui                                    []string // the multi-select's choices, "logo=false"
	uiText                                string   // the same as text, in accessible mode
}

// newForm builds the form for c. Every field is prefilled from c, so Enter through it keeps the defaults;
// the license is asked for (masked) only when c has none. In accessible mode huh validates what was typed
// before it falls back to the default, so there an empty answer is valid: it keeps the value shown.
func newForm(c Choices, accessible bool) (*huh.Form, *answers) {
	keep := func(check func(string) error) func(string) error {
		if !accessible {
			return check
		}
		return func(s string) error {
			if strings.TrimSpace(s) == "" {
				return nil
			}
			return check(s)
		}
	}
	a := &answers{
		license: c.Config.LicenseToken,
		port:    strconv.Itoa(c.MetabasePort),
		email:   c.Config.AdminEmail,
		origin:  c.Config.HostAppURL,
		tenants: formatTenants(c.Config.Tenants),
	}
	var uiOpts []huh.Option[string]
	for _, u := range uiChoices {
		v := u.key + "=" + u.value
		on := c.Config.UIOptions[u.key] == u.value
		if on {
			a.ui = append(a.ui, v)
		}
		uiOpts = append(uiOpts, huh.NewOption(u.label, v).Selected(on))
	}

	// title is a field's prompt. A screen reader in accessible mode hears the title alone (huh says no
	// description there), so the description, the expected format and the default go into it.
	title := func(name, desc, format, def string) string {
		if !accessible {
			return name
		}
		t := name + ". " + desc + " Format: " + format + "."
		if def != "" {
			t += " Enter keeps " + def + "."
		}
		return t
	}
	var metabase []huh.Field
	if c.Config.LicenseToken == "" {
		desc := "Your Pro or Enterprise token: 64 lower-case hex characters. Typing is hidden."
		validate := checkLicense
		if c.External() {
			desc = "Leave empty when your Metabase already has its license. Typing is hidden."
			validate = func(s string) error {
				if strings.TrimSpace(s) == "" {
					return nil
				}
				return checkLicense(s)
			}
		}
		def := ""
		if c.External() {
			def = "none"
		}
		metabase = append(metabase, huh.NewInput().Title(title("License token", desc, "64 lower-case hexadecimal characters", def)).Description(desc).
			EchoMode(huh.EchoModePassword).Value(&a.license).Validate(validate))
	}
	if c.External() {
		metabase = append(metabase, huh.NewNote().Title("Metabase URL").Description(c.Config.MetabaseURL+" (given with --metabase-url)"))
	} else {
		metabase = append(metabase, huh.NewInput().Title(title("Metabase port", "Where Metabase answers on this machine: http://localhost:PORT.", "a number from 1 to 65535", a.port)).
			Description("Where Metabase answers on this machine: http://localhost:PORT").
			Value(&a.port).Validate(keep(checkPort)))
	}
	metabase = append(metabase, huh.NewInput().Title(title("Admin email", "Metabase's first admin.", "an email address, e.g. admin@example.com", a.email)).
		Description("Metabase's first admin; the password is generated and saved in the state file (0600).").
		Value(&a.email).Validate(keep(checkEmail)))

	app := []huh.Field{
		huh.NewInput().Title(title("Host app origin", "Where the bundled host app listens; it becomes Metabase's authorized origin.", "scheme://host:port without a path", a.origin)).
			Description("Where the bundled host app listens; it becomes Metabase's authorized origin.").
			Value(&a.origin).Validate(keep(checkOrigin)),
		huh.NewInput().Title(title("Tenants", "Each gets a group, a sandbox and a demo user.", "NAME=ACCOUNT_ID, comma-separated", a.tenants)).
			Description("NAME=ACCOUNT_ID, comma-separated; each gets a group, a sandbox and a demo user.").
			Value(&a.tenants).Validate(keep(func(s string) error { _, err := parseTenants(s); return err })),
	}
	if accessible { // huh's accessible multi-select has no default: a number must be typed
		a.uiText = strings.Join(a.ui, ", ")
		app = append(app, huh.NewInput().Title(title("Embedded Metabase UI", "Interactive-embedding parameters.", "NAME=true or NAME=false, comma-separated, e.g. logo=false, top_nav=false", a.uiText)).
			Description("Interactive-embedding parameters, comma-separated, e.g. logo=false, top_nav=false, search=true.").
			Value(&a.uiText).Validate(keep(func(s string) error { _, err := parseUI(s); return err })))
	} else {
		app = append(app, huh.NewMultiSelect[string]().Title("Embedded Metabase UI").
			Description("x toggles; the guide hides the logo and the top bar.").
			Options(uiOpts...).Value(&a.ui))
	}
	f := huh.NewForm(
		huh.NewGroup(metabase...).Title("Metabase"),
		huh.NewGroup(app...).Title("Your app and its tenants"),
	).WithShowHelp(true)
	return f, a
}

// choices applies the answers to base.
func (a *answers) choices(base Choices) (Choices, error) {
	c := base
	c.Config.LicenseToken = strings.TrimSpace(a.license)
	c.Config.AdminEmail = strings.TrimSpace(a.email)
	c.Config.HostAppURL = strings.TrimRight(strings.TrimSpace(a.origin), "/")
	if !c.External() {
		port, err := strconv.Atoi(strings.TrimSpace(a.port))
		if err != nil {
			return c, fmt.Errorf("form: Metabase port: %w", checkPort(a.port))
		}
		c.MetabasePort = port
	}
	tenants, err := parseTenants(a.tenants)
	if err != nil {
		return c, fmt.Errorf("form: %w", err)
	}
	c.Config.Tenants = tenants
	if a.uiText != "" {
		if a.ui, err = parseUI(a.uiText); err != nil {
			return c, fmt.Errorf("form: %w", err)
		}
	}
	c.Config.UIOptions = map[string]string{}
	for _, kv := range a.ui {
		k, v, _ := strings.Cut(kv, "=")
		c.Config.UIOptions[k] = v
	}
	return c, nil
}

// parseUI reads "logo=false, top_nav=false": parameters the form offers, each true or false.
func parseUI(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if v != "true" && v != "false" || !slices.ContainsFunc(uiChoices, func(u uiChoice) bool { return u.key == k }) {
			names := make([]string, len(uiChoices))
			for i, u := range uiChoices {
				names[i] = u.key
			}
			return nil, fmt.Errorf("UI option %q: want NAME=true or NAME=false, NAME one of %s", part, strings.Join(names, ", "))
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

func checkPort(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want a number between 1 and 65535", s)
	}
	return nil
}

func checkEmail(s string) error {
	s = strings.TrimSpace(s)
	at := strings.LastIndex(s, "@")
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t") {
		return fmt.Errorf("%q is not an email address, e.g. admin@example.com", s)
	}
	return nil
}

func checkOrigin(s string) error {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(s), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return fmt.Errorf("%q is not an origin: want scheme://host[:port] without a path, e.g. http://localhost:8080", s)
	}
	return nil
}

// parseTenants reads "Customer-Acme=28, Customer-Globex=37". Each tenant gets its own Metabase group and
// demo user; the plan's rule (plan.CheckTenants) refuses names that would share either, here before any write.
func parseTenants(s string) ([]plan.Tenant, error) {
	var out []plan.Tenant
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		t, err := plan.ParseTenant(part)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tenant: give at least one, e.g. %s=%d", plan.DefaultTenant.Name, plan.DefaultTenant.AccountID)
	}
	if err := plan.CheckTenants(out); err != nil {
		return nil, err
	}
	return out, nil
}

func formatTenants(ts []plan.Tenant) string {
	if len(ts) == 0 {
		ts = []plan.Tenant{plan.DefaultTenant}
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Name + "=" + strconv.Itoa(t.AccountID)
	}
	return strings.Join(parts, ", ")
}

// formScreen hosts the huh form between a title and huh's own key help.
type formScreen struct {
	s             *session
	width, height int
	form          *huh.Form
	answers       *answers
	err           error
}

func newFormScreen(s *session) *formScreen {
	f, a := newForm(s.opts.Choices, false)
	return &formScreen{s: s, form: f, answers: a}
}

// formChrome is the number of lines around huh's group that huh's own height does not count: our title
// and the blank line under it, and the blank line huh puts above its help.
const formChrome = 3

func (f *formScreen) Init() tea.Cmd { return f.form.Init() }

func (f *formScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if size, ok := msg.(tea.WindowSizeMsg); ok {
		f.width, f.height = size.Width, size.Height
		msg = tea.WindowSizeMsg{Width: size.Width, Height: max(size.Height-formChrome, 5)}
	}
	m, cmd := f.form.Update(msg)
	f.form = m.(*huh.Form)
	if f.form.State != huh.StateCompleted {
		return f, cmd
	}
	c, err := f.answers.choices(f.s.opts.Choices)
	if err != nil { // the fields validate, so this is a bug worth showing rather than hiding
		f.err = err
		return f, quit(err)
	}
	return f, func() tea.Msg { return formDoneMsg{c} }
}

func (f *formScreen) View() string {
	head := titleStyle.Render("Your choices") + dimStyle.Render(" · Enter keeps the value shown · shift+tab goes back")
	return head + "\n\n" + f.form.View()
}
