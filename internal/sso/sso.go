// Package sso is the one definition of what a host app signs for Metabase's JWT SSO (contract §11, the
// guide's signUserToken) and of how the UI options ride inside return_to (contract §12). The host app signs
// with it on every /sso/metabase request and the plan's checkpoints sign with it to prove that sign-in path,
// so the two can never drift apart.
package sso

import (
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenTTL is the guide's 10-minute expiry. Metabase also refuses a token whose iat is more than 180 s old,
// so tokens are signed per redirect and never cached.
const TokenTTL = 10 * time.Minute

// Claims is the signed payload.
type Claims struct {
	Email     string   `json:"email"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Groups    []string `json:"groups"`
	// AccountID is a string: Metabase stores attributes as strings and sandboxes by comparing them.
	AccountID string `json:"account_id"`
	jwt.RegisteredClaims
}

// Identity is who is signed in.
type Identity struct {
	Email, FirstName, LastName string
	Groups                     []string // the tenants' group claims, e.g. "Customer-Acme"; nil signs []
	AccountID                  string   // "" leaves the attribute empty
}

// Sign makes the HS256 token for id, issued now. key is the UTF-8 bytes of the shared secret, not
// hex-decoded (contract §4 "Generate key").
func Sign(key []byte, id Identity, now time.Time) (string, error) {
	groups := id.Groups
	if groups == nil {
		groups = []string{}
	}
	c := Claims{
		Email: id.Email, FirstName: id.FirstName, LastName: id.LastName,
		Groups: groups, AccountID: id.AccountID,
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(TokenTTL)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
}

// UIOptions are the interactive-embedding UI parameters (logo=false, top_nav=false, …), sorted by name
// once so that every URL made with them is reproducible.
type UIOptions []uiOption

type uiOption struct{ key, value string }

// NewUIOptions sorts m into UIOptions.
func NewUIOptions(m map[string]string) UIOptions {
	o := make(UIOptions, 0, len(m))
	for k, v := range m {
		o = append(o, uiOption{k, v})
	}
	sort.Slice(o, func(i, j int) bool { return o[i].key < o[j].key })
	return o
}

// Apply adds the options to the query of a Metabase-relative path (before any fragment), leaving out those
// the path already sets: the path's own choice wins and Metabase never sees a parameter twice.
// Apply("/dashboard/1") = "/dashboard/1?logo=false&top_nav=false"; Apply("") = "?logo=false&top_nav=false".
func (o UIOptions) Apply(p string) string {
	rest, frag, hasFrag := strings.Cut(p, "#")
	path, query, _ := strings.Cut(rest, "?")
	have, _ := url.ParseQuery(query) // a stray ";" pair only loses the "already set" test for that pair
	parts := make([]string, 0, len(o)+1)
	if query != "" {
		parts = append(parts, query)
	}
	for _, x := range o {
		if _, ok := have[x.key]; !ok {
			parts = append(parts, url.QueryEscape(x.key)+"="+url.QueryEscape(x.value))
		}
	}
	var b strings.Builder
	b.WriteString(path)
	if len(parts) > 0 {
		b.WriteByte('?')
		b.WriteString(strings.Join(parts, "&"))
	}
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}

// Query is the options alone as a query string: "logo=false&top_nav=false".
func (o UIOptions) Query() string { return strings.TrimPrefix(o.Apply(""), "?") }
