package wizard

import (
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/embedwizard/embedwizard/wizard/plan"
)

// fill answers the form: for each field in order, keys to type (nil: keep the value shown) and then Enter.
// The focused field carries huh's "┃" border, so each Enter waits for the next field to take the focus.
type answer struct {
	field string   // the field's title, as shown when focused
	keys  []string // typed before Enter
	after string   // what Enter must show (default: the next field focused)
}

func (w *wizardT) fill(answers []answer) {
	w.t.Helper()
	w.waitFor("┃ " + answers[0].field)
	for i, a := range answers {
		for _, k := range a.keys {
			w.key(k)
		}
		w.key("enter")
		if a.after != "" {
			w.waitFor(a.after)
		} else if i+1 < len(answers) {
			w.waitFor("┃ " + answers[i+1].field)
		}
	}
}

// toForm goes past the welcome screen.
func (w *wizardT) toForm() {
	w.waitFor("enter continue")
	w.key("enter")
}

func TestFormEnterThroughKeepsDefaults(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"as cmd fills it", nil},
		{"empty: the plan's defaults", func(o *Options) {
			o.Choices = Choices{Config: plan.Config{LicenseToken: testLicense, AdminPassword: "s3cret-admin-pw", DemoPassword: "s3cret-demo-pw-1"}} // cmd always resolves these
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.stackHold = make(chan struct{})
			w := startWizard(t, eng, tt.edit)
			w.toForm()
			w.fill(enterThrough)
			w.finish()
			calls, _, _ := eng.snapshot()
			if len(calls) != 1 {
				t.Fatalf("stack started %d times, want once", len(calls))
			}
			if got, want := calls[0], defaultChoices(); !reflect.DeepEqual(got, want) {
				t.Errorf("Enter through the form gave\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

func TestFormAnswers(t *testing.T) {
	backspaces := func(n int) []string { return slicesRepeat("backspace", n) }
	tests := []struct {
		name    string
		edit    func(*Options)
		answers []answer
		check   func(t *testing.T, c Choices)
	}{
		{
			name: "license typed, masked",
			edit: func(o *Options) { o.Choices.Config.LicenseToken, o.LicenseFrom = "", "" },
			answers: []answer{{field: "License token", keys: []string{testLicense}}, {field: "Metabase port"}, {field: "Admin email"},
				{field: "Host app origin"}, {field: "Tenants"}, {field: "Embedded Metabase UI", after: "Starting Metabase"}},
			check: func(t *testing.T, c Choices) {
				if c.Config.LicenseToken != testLicense {
					t.Errorf("license = %q, want the typed one", c.Config.LicenseToken)
				}
			},
		},
		{
			name: "malformed license refused until corrected",
			edit: func(o *Options) { o.Choices.Config.LicenseToken, o.LicenseFrom = "", "" },
			answers: []answer{
				{field: "License token", keys: []string{"ABC"}, after: "not in Metabase's format"},
				{field: "License token", keys: append(backspaces(3), testLicense)},
				{field: "Metabase port"}, {field: "Admin email"}, {field: "Host app origin"}, {field: "Tenants"},
				{field: "Embedded Metabase UI", after: "Starting Metabase"}},
			check: func(t *testing.T, c Choices) {
				if c.Config.LicenseToken != testLicense {
					t.Errorf("license = %q, want the corrected one", c.Config.LicenseToken)
				}
			},
		},
		{
			name: "port, email, origin, tenants and UI changed",
			answers: []answer{
				{field: "Metabase port", keys: []string{"ctrl+u", "3366"}},
				{field: "Admin email", keys: []string{"ctrl+u", "ops@acme.test"}},
				{field: "Host app origin", keys: []string{"ctrl+u", "http://localhost:9090"}},
				{field: "Tenants", keys: []string{"ctrl+u", "Customer-Acme=28, Customer-Globex=37"}},
				{field: "Embedded Metabase UI", keys: []string{"x"}, after: "Starting Metabase"}},
			check: func(t *testing.T, c Choices) {
				want := []plan.Tenant{{Name: "Customer-Acme", AccountID: 28}, {Name: "Customer-Globex", AccountID: 37}}
				if c.MetabasePort != 3366 || c.Config.AdminEmail != "ops@acme.test" || c.Config.HostAppURL != "http://localhost:9090" ||
					!reflect.DeepEqual(c.Config.Tenants, want) {
					t.Errorf("choices = %+v", c)
				}
				// x toggled the first option off: the logo shows again.
				if _, hidden := c.Config.UIOptions["logo"]; hidden || c.Config.UIOptions["top_nav"] != "false" {
					t.Errorf("UI options = %v, want only top_nav=false", c.Config.UIOptions)
				}
			},
		},
		{
			name: "bad port refused",
			answers: []answer{
				{field: "Metabase port", keys: []string{"ctrl+u", "99999"}, after: "between 1 and 65535"},
				{field: "Metabase port", keys: []string{"ctrl+u", "3001"}},
				{field: "Admin email"}, {field: "Host app origin"}, {field: "Tenants"},
				{field: "Embedded Metabase UI", after: "Starting Metabase"}},
			check: func(t *testing.T, c Choices) {
				if c.MetabasePort != 3001 {
					t.Errorf("port = %d, want 3001", c.MetabasePort)
				}
			},
		},
		{
			name: "duplicate tenant refused",
			answers: []answer{{field: "Metabase port"}, {field: "Admin email"}, {field: "Host app origin"},
				{field: "Tenants", keys: []string{", customer-acme=29"}, after: "map to the same Metabase group"},
				{field: "Tenants", keys: backspaces(len(", customer-acme=29"))},
				{field: "Embedded Metabase UI", after: "Starting Metabase"}},
			check: func(t *testing.T, c Choices) {
				if len(c.Config.Tenants) != 1 {
					t.Errorf("tenants = %v, want the guide's one", c.Config.Tenants)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.stackHold = make(chan struct{})
			w := startWizard(t, eng, tt.edit)
			w.toForm()
			w.fill(tt.answers)
			if strings.Contains(w.out.String(), testLicense) {
				t.Errorf("the form echoed the license token")
			}
			w.finish()
			calls, _, _ := eng.snapshot()
			if len(calls) != 1 {
				t.Fatalf("stack started %d times, want once", len(calls))
			}
			tt.check(t, calls[0])
		})
	}
}

func TestFormExternalMetabaseSkipsTheStack(t *testing.T) {
	eng := newEngine()
	w := startWizard(t, eng, func(o *Options) { o.Choices.Config.MetabaseURL = "http://127.0.0.1:3999" })
	w.toForm()
	w.fill([]answer{{field: "Admin email"}, {field: "Host app origin"}, {field: "Tenants"},
		{field: "Embedded Metabase UI", after: "Configure Metabase like the guide"}})
	w.finish()
	calls, _, _ := eng.snapshot()
	if len(calls) != 0 {
		t.Errorf("the stack was started for an external Metabase")
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.planCalls) != 1 || eng.planCalls[0] != "http://127.0.0.1:3999" {
		t.Errorf("the plan was built for %v, want the Metabase given", eng.planCalls)
	}
}

func TestFormGolden(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"license from the environment", nil},
		{"license asked", func(o *Options) { o.Choices.Config.LicenseToken, o.LicenseFrom = "", "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWizard(t, newEngine(), tt.edit)
			w.toForm()
			w.waitFor("Admin email")
			teatest.RequireEqualOutput(t, []byte(w.finish().plainView()))
		})
	}
}

func TestCheckLicense(t *testing.T) {
	tests := []struct {
		token   string
		wantErr string
	}{
		{testLicense, ""},
		{"mb_dev_" + strings.Repeat("a", 57), ""},
		{"airgap_eyJhbGciOi", ""},
		{"", "paste your"},
		{strings.ToUpper(testLicense), "lower-case"},
		{testLicense[:63], "64 hexadecimal characters"},
		{"mb_dev_" + strings.Repeat("a", 56), "not in Metabase's format"},
		{strings.Repeat("g", 64), "not in Metabase's format"},
	}
	for _, tt := range tests {
		err := checkLicense(tt.token)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("checkLicense(%.12q…) = %v, want nil", tt.token, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("checkLicense(%.12q…) = %v, want an error saying %q", tt.token, err, tt.wantErr)
		case err != nil && len(tt.token) > 8 && strings.Contains(err.Error(), tt.token):
			t.Errorf("checkLicense error repeats the token: %v", err)
		}
	}
}

func TestParseTenants(t *testing.T) {
	tests := []struct {
		in      string
		want    []plan.Tenant
		wantErr string
	}{
		{"Customer-Acme=28", []plan.Tenant{{Name: "Customer-Acme", AccountID: 28}}, ""},
		{" Customer-Acme=28 , Customer-Globex=37,", []plan.Tenant{{Name: "Customer-Acme", AccountID: 28}, {Name: "Customer-Globex", AccountID: 37}}, ""},
		{"", nil, "no tenant"},
		{"Customer-Acme", nil, "NAME=ACCOUNT_ID"},
		{"Customer-Acme=abc", nil, "positive whole number"},
		{"A=1, a=2", nil, "map to the same Metabase group"},
		{"Customer-A=1, A=2", nil, "would share the demo user demo.a@example.com"},
		{"A=1, B=1", []plan.Tenant{{Name: "A", AccountID: 1}, {Name: "B", AccountID: 1}}, ""},
	}
	for _, tt := range tests {
		got, err := parseTenants(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseTenants(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseTenants(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseUI(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"logo=false, top_nav=false", []string{"logo=false", "top_nav=false"}, ""},
		{" search=true ,", []string{"search=true"}, ""},
		{"", nil, ""},
		{"logo=no", nil, `UI option "logo=no": want NAME=true or NAME=false`},
		{"colour=false", nil, "NAME one of logo, top_nav"},
	}
	for _, tt := range tests {
		got, err := parseUI(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseUI(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseUI(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
