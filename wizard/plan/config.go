package plan

import (
	"errors"
	"fmt"
	"regexp"
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
	// DemoPassword is the host-app password of every demo user; "" gives each a generated one. Secret.
	DemoPassword string `json:"demo_password,omitempty"`

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

// DefaultHostAppURL is the host app's origin when nothing else is chosen (the guide's sample app port).
const DefaultHostAppURL = "http://localhost:8080"

// DefaultAdminEmail is the admin account the first-run setup makes when nothing else is chosen.
const DefaultAdminEmail = "admin@example.com"

// withDefaults fills what the user may leave out.
func (c Config) withDefaults() Config {
	c.MetabaseURL = strings.TrimRight(strings.TrimSpace(c.MetabaseURL), "/")
	c.HostAppURL = strings.TrimRight(strings.TrimSpace(c.HostAppURL), "/")
	if c.HostAppURL == "" {
		c.HostAppURL = DefaultHostAppURL
	}
	c.AdminEmail = strings.TrimSpace(c.AdminEmail)
	if c.AdminEmail == "" && c.APIKey == "" {
		c.AdminEmail = DefaultAdminEmail
	}
	if len(c.Tenants) == 0 {
		c.Tenants = []Tenant{DefaultTenant}
	}
	if c.UIOptions == nil {
		c.UIOptions = DefaultUIOptions()
	}
	return c
}

// validate says everything wrong with the configuration at once, without repeating a secret.
func (c Config) validate() error {
	var errs []error
	// Every problem of the configuration is bad input (exit 2), so each is a *ValidationError.
	bad := func(format string, args ...any) {
		errs = append(errs, &ValidationError{Problem: fmt.Sprintf(format, args...)})
	}
	if c.MetabaseURL == "" {
		bad("no Metabase URL: give the URL of a running Metabase (http://host:port), or let embedwizard run Metabase in Docker")
	} else if err := ValidateMetabaseURL(c.MetabaseURL); err != nil {
		errs = append(errs, err)
	}
	if u, err := siteOf(c.HostAppURL); err != nil {
		bad("host app URL %v", err)
	} else if u.RawQuery != "" || u.Fragment != "" {
		bad("host app URL %q: give only scheme://host:port (and a path prefix if any), without ? or #", c.HostAppURL)
	}
	switch {
	case c.APIKey != "":
		if !strings.HasPrefix(c.APIKey, "mb_") {
			bad("the Metabase API key does not start with mb_: copy it again from Admin settings > Authentication > API keys")
		}
	case c.AdminPassword == "":
		bad("no admin password: set EMBEDWIZARD_ADMIN_PASSWORD, or leave it unset on a fresh Metabase to have one generated")
	}
	if c.APIKey == "" && !strings.Contains(c.AdminEmail, "@") {
		bad("admin email %q is not an email address", c.AdminEmail)
	}
	if c.LicenseToken != "" {
		if err := CheckLicenseFormat(c.LicenseToken); err != nil {
			errs = append(errs, err)
		}
	}
	if err := CheckTenants(c.Tenants); err != nil {
		errs = append(errs, err)
	}
	for k := range c.UIOptions {
		if k == "" || strings.ContainsAny(k, "&=?# ") {
			bad("UI option %q is not a parameter name such as logo or top_nav", k)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return nil
}

// CheckTenants validates every tenant (ValidateTenant) and refuses two tenants that would share a Metabase
// group or a demo user. It says everything wrong at once; each problem is a *ValidationError.
func CheckTenants(tenants []Tenant) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, &ValidationError{Problem: fmt.Sprintf(format, args...)})
	}
	names, slugs := map[string]string{}, map[string]string{}
	for _, t := range tenants {
		if err := ValidateTenant(t); err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := names[strings.ToLower(t.GroupName())]; ok {
			bad("tenants %q and %q map to the same Metabase group %q: give them different names", prev, t.Name, t.GroupName())
		}
		if prev, ok := slugs[t.Slug()]; ok {
			bad("tenants %q and %q would share the demo user %s: give them different names", prev, t.Name, t.DemoEmail())
		}
		names[strings.ToLower(t.GroupName())], slugs[t.Slug()] = t.Name, t.Name
	}
	return errors.Join(errs...)
}

// licensePattern is the token format Metabase's server accepts (contract §3): lower-case hex only.
var licensePattern = regexp.MustCompile(`^(mb_dev_[0-9a-f]{57}|[0-9a-f]{64}|airgap_.+)$`)

// CheckLicenseFormat checks a license token's shape before Metabase is asked, so that a pasted token with a
// stray character fails here with a clear message. The error never repeats the token.
func CheckLicenseFormat(token string) error {
	if licensePattern.MatchString(token) {
		return nil
	}
	why := "it should be 64 hexadecimal characters"
	if t := strings.TrimSpace(token); t != token {
		why = "it has spaces or line breaks around it"
	} else if licensePattern.MatchString(strings.ToLower(token)) {
		why = "Metabase accepts only lower-case hexadecimal"
	}
	return &ValidationError{Input: "license token", Value: Mask(token), Problem: "it is not in Metabase's format: " + why,
		Fix: "copy it again from your Metabase store account"}
}
