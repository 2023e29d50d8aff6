package plan

import (
	"fmt"
	"strconv"
	"strings"
)

// Config is what the user chose: flags, environment and the wizard's form end up here. Secrets are in it
// (they come from the environment, a file or a masked prompt, never from a flag value) and so it is only
// ever written inside the 0600 state file.
type Config struct {
	// MetabaseURL is where Metabase answers, e.g. http://localhost:3366. Empty: the stack runs it.
	MetabaseURL string `json:"metabase_url,omitempty"`
	// HostAppURL is the host app's origin, e.g. http://localhost:8080: authorized origin, JWT IdP URI base.
	HostAppURL string `json:"host_app_url"`

	AdminEmail    string `json:"admin_email"`
	AdminPassword string `json:"admin_password,omitempty"` // secret
	// APIKey logs in to an existing Metabase instead of a password (X-API-Key). Secret.
	APIKey string `json:"api_key,omitempty"`
	// LicenseToken is the Pro/Enterprise token (64 lower-case hex). Secret.
	LicenseToken string `json:"license_token,omitempty"`

	Tenants []Tenant `json:"tenants"`
	// UIOptions are the interactive-embedding UI parameters appended to the dashboard path inside
	// return_to, e.g. logo=false, top_nav=false (contract §12).
	UIOptions map[string]string `json:"ui_options,omitempty"`
}

// Tenant is one customer of the host app: a JWT group claim, a Metabase group and an account id that the
// Invoices table is sandboxed on.
type Tenant struct {
	// Name is the group claim the host app puts in the JWT, e.g. "Customer-Acme".
	Name string `json:"name"`
	// AccountID is the Invoices ACCOUNT_ID this tenant's users see (28 for the guide's Acme).
	AccountID int `json:"account_id"`
}

// DefaultTenant is the guide's tenant.
var DefaultTenant = Tenant{Name: "Customer-Acme", AccountID: 28}

// DefaultUIOptions hide what the guide hides (contract §12).
func DefaultUIOptions() map[string]string {
	return map[string]string{"logo": "false", "top_nav": "false"}
}

// GroupName is the Metabase group for the tenant: the claim with dashes as spaces ("Customer Acme").
func (t Tenant) GroupName() string { return strings.ReplaceAll(t.Name, "-", " ") }

// Slug is a lower-case, dash-separated form of the name without a "customer-" prefix ("acme").
func (t Tenant) Slug() string {
	s := strings.ToLower(strings.TrimSpace(t.Name))
	s = strings.TrimPrefix(s, "customer-")
	s = strings.TrimPrefix(s, "customer ")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// DemoEmail is the email of the tenant's demo user, the one the checkpoints sign in as.
func (t Tenant) DemoEmail() string { return "demo." + t.Slug() + "@example.com" }

// ParseTenant reads NAME=ACCOUNT_ID as given to --tenant.
func ParseTenant(s string) (Tenant, error) {
	name, id, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return Tenant{}, fmt.Errorf("parse tenant %q: want NAME=ACCOUNT_ID, e.g. Customer-Acme=28", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(id))
	if err != nil || n <= 0 {
		return Tenant{}, fmt.Errorf("parse tenant %q: account id %q is not a positive whole number", s, id)
	}
	t := Tenant{Name: name, AccountID: n}
	if t.Slug() == "" {
		return Tenant{}, fmt.Errorf("parse tenant %q: the name needs at least one letter or digit", s)
	}
	return t, nil
}
