package plan

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// This file is the one place that decides whether what the user typed is usable: tenants, the Metabase URL
// and a JWT signing key. cmd and the session call these and map a *ValidationError to exit code 2.

// ValidationError is input that cannot be used as given: what was wrong with which input, and what to
// give instead. It never holds a secret or a URL's password.
type ValidationError struct {
	// Input names what was checked: "tenant", "Metabase URL", "JWT signing key".
	Input string
	// Value is the offending input, safe to print (masked or stripped of credentials), or "".
	Value string
	// Problem says what is wrong, Fix what to give instead.
	Problem, Fix string
}

func (e *ValidationError) Error() string {
	if e.Input == "" {
		return e.Problem
	}
	s := e.Input
	if e.Value != "" {
		s += " " + strconv.Quote(e.Value)
	}
	s += ": " + e.Problem
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// IsValidation reports whether err is (or wraps) a *ValidationError: bad input, exit code 2.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// MaxTenantNameLength bounds a tenant's name: it becomes a group name, an email local part and a JWT claim.
const MaxTenantNameLength = 64

// ParseTenant reads NAME=ACCOUNT_ID as given to --tenant and validates it (ValidateTenant).
func ParseTenant(s string) (Tenant, error) {
	name, id, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return Tenant{}, &ValidationError{Input: "tenant", Value: printable(s), Problem: "want NAME=ACCOUNT_ID", Fix: "e.g. Customer-Acme=28"}
	}
	n, err := strconv.Atoi(strings.TrimSpace(id))
	if err != nil || n <= 0 {
		return Tenant{}, &ValidationError{Input: "tenant", Value: printable(s),
			Problem: fmt.Sprintf("account id %q is not a positive whole number", printable(id)), Fix: "e.g. Customer-Acme=28"}
	}
	t := Tenant{Name: name, AccountID: n}
	if err := ValidateTenant(t); err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// ValidateTenant refuses a tenant that cannot be made safely: a name with control characters or terminal
// escapes, longer than MaxTenantNameLength, without a letter or digit, whose group would be one of
// Metabase's own groups (a tenant "Administrators" would make its demo user a superuser), or a
// non-positive account id. The group comparison is made after the name → group mapping, case-insensitively.
// The instance's own magic groups are checked again against Metabase by the groups step.
func ValidateTenant(t Tenant) error {
	bad := func(problem, fix string) error {
		return &ValidationError{Input: "tenant", Value: printable(t.Name), Problem: problem, Fix: fix}
	}
	switch {
	case !utf8.ValidString(t.Name):
		return bad("the name is not valid UTF-8", "use letters, digits, spaces and dashes")
	case strings.IndexFunc(t.Name, func(r rune) bool { return unicode.IsControl(r) || r == '\u001b' || unicode.Is(unicode.Cf, r) }) >= 0:
		return bad("the name has control characters or terminal escapes", "use letters, digits, spaces and dashes")
	case utf8.RuneCountInString(t.Name) > MaxTenantNameLength:
		return bad(fmt.Sprintf("the name is longer than %d characters", MaxTenantNameLength), "give a shorter name")
	case strings.TrimSpace(t.Name) != t.Name:
		return bad("the name has spaces around it", "remove them")
	case t.Slug() == "":
		return bad("the name needs at least one letter or digit", "e.g. Customer-Acme=28")
	case t.AccountID <= 0:
		return bad(fmt.Sprintf("account id %d is not a positive whole number", t.AccountID), "e.g. Customer-Acme=28")
	}
	if g, ok := reservedGroup(t.GroupName(), nil); ok {
		return bad(fmt.Sprintf("its Metabase group %q would be Metabase's own group %q", t.GroupName(), g),
			"choose a name of your customer, e.g. Customer-Acme=28")
	}
	return nil
}

// reservedGroup reports whether a group name is one Metabase makes itself (BuiltInGroupNames) or, among
// groups, one the instance marks magic; it returns that group's name.
func reservedGroup(name string, groups []metabase.Group) (string, bool) {
	n := strings.Join(strings.Fields(name), " ")
	for _, b := range metabase.BuiltInGroupNames() {
		if strings.EqualFold(n, b) {
			return b, true
		}
	}
	for _, g := range groups {
		if g.Magic() != "" && strings.EqualFold(n, strings.Join(strings.Fields(g.Name), " ")) {
			return g.Name, true
		}
	}
	return "", false
}

// ValidateMetabaseURL checks an http(s)://host[:port][/prefix] URL of a Metabase: no credentials (they would
// be printed and logged; use EMBEDWIZARD_API_KEY or EMBEDWIZARD_ADMIN_PASSWORD), no query or fragment, a host,
// and a port in 1..65535. The error shows the URL without its password.
func ValidateMetabaseURL(raw string) error {
	bad := func(shown, problem, fix string) error {
		return &ValidationError{Input: "Metabase URL", Value: shown, Problem: problem, Fix: fix}
	}
	const want = "give http(s)://host[:port], e.g. http://localhost:3000"
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return bad("", "it is not a URL", want)
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return bad(shown, "the scheme is not http or https", want)
	case u.User != nil:
		u.User = nil
		return bad(u.String(), "it carries a user name or password, which would end up in logs and on screen",
			"remove them from the URL and set EMBEDWIZARD_ADMIN_PASSWORD or EMBEDWIZARD_API_KEY instead")
	case u.Hostname() == "":
		return bad(shown, "it has no host", want)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return bad(shown, "it has a query or fragment (? or #)", want)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad(shown, fmt.Sprintf("port %q is not in 1-65535", p), want)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return bad(shown, "it has an empty port", want)
	}
	if h := u.Hostname(); strings.ContainsAny(h, " \t") || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
		return bad(shown, "the host is not a host name or IP address", want)
	}
	return nil
}

// MinJWTKeyLength is the shortest JWT signing key kept, in characters: Metabase's own generator (GET
// /api/util/random_token: (crypto-random/hex 32) in api/util.clj of 0.5x, (u.random/secure-hex 32) in
// util_rest/api.clj of master 2025) makes 64 hex characters, 256 bits.
// The key is used as its UTF-8 bytes (HS256), so 64 hex characters carry those 256 bits.
const MinJWTKeyLength = 64

// ValidateJWTKey refuses a signing key shorter than MinJWTKeyLength: anyone who guesses it signs in as any
// user, the admin included. The error never shows the key.
func ValidateJWTKey(key string) error {
	if utf8.RuneCountInString(strings.TrimSpace(key)) >= MinJWTKeyLength && strings.TrimSpace(key) == key {
		return nil
	}
	problem := fmt.Sprintf("it has %d characters; at least %d are needed (256 bits, what Metabase's Generate key makes)", len(key), MinJWTKeyLength)
	if strings.TrimSpace(key) != key {
		problem = "it has spaces or line breaks around it"
	}
	return &ValidationError{Input: "JWT signing key", Value: Mask(key), Problem: problem,
		Fix: "unset METABASE_JWT_SHARED_SECRET to have Metabase generate one, or give 64 hex characters (openssl rand -hex 32)"}
}

// printable shows user input in a message without control characters.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, s)
}
