package plan

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"unicode"
)

// passwordAlphabet has no look-alike characters (0/O, 1/l/I): demo passwords are read off a screen and typed.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword makes a 20-character password with lower- and upper-case letters and digits: well past
// Metabase's "normal" password rule (at least 6 characters, one digit, not a common password).
func GeneratePassword() (string, error) {
	for {
		b := make([]byte, 20)
		for i := range b {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
			if err != nil {
				return "", fmt.Errorf("generate password: %w", err)
			}
			b[i] = passwordAlphabet[n.Int64()]
		}
		s := string(b)
		if strings.IndexFunc(s, unicode.IsLower) >= 0 && strings.IndexFunc(s, unicode.IsUpper) >= 0 &&
			strings.IndexFunc(s, unicode.IsDigit) >= 0 {
			return s, nil
		}
	}
}

// Mask shows a secret as ••••ab12 at most: enough to tell two secrets apart, never enough to use one.
// Short secrets show nothing but the dots.
func Mask(secret string) string {
	if secret == "" {
		return "(not set)"
	}
	if len(secret) < 12 {
		return "••••"
	}
	return "••••" + secret[len(secret)-4:]
}

// adopt records cfg in the state and makes sure every tenant has its demo user, keeping the passwords of
// the ones made by an earlier run.
func (s *State) adopt(cfg Config) error {
	s.Config = cfg
	old := map[string]TenantState{}
	for _, t := range s.Tenants {
		old[strings.ToLower(t.Name)] = t
	}
	tenants := make([]TenantState, 0, len(cfg.Tenants))
	for _, t := range cfg.Tenants {
		ts := old[strings.ToLower(t.Name)]
		ts.Tenant = t
		u := &ts.DemoUser
		u.Email, u.FirstName, u.LastName = t.DemoEmail(), demoFirstName(t), "Demo"
		switch {
		case cfg.DemoPassword != "":
			u.Password = cfg.DemoPassword
		case u.Password == "":
			pw, err := GeneratePassword()
			if err != nil {
				return fmt.Errorf("demo user of %s: %w", t.Name, err)
			}
			u.Password = pw
		}
		tenants = append(tenants, ts)
	}
	s.Tenants = tenants
	return nil
}

// demoFirstName is the tenant's name without "Customer", capitalised: "Acme" for Customer-Acme.
func demoFirstName(t Tenant) string {
	words := strings.Split(t.Slug(), "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}
