package plan

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenTTL is the guide's 10-minute expiry. Metabase also refuses a token whose iat is over 180 s old.
const tokenTTL = 10 * time.Minute

// ssoClaims is exactly the claim set hostapp signs (hostapp.Claims): the checkpoints must sign in the way the
// host app does, or they would prove something else. hostapp may not import plan, so each keeps its copy;
// change both together.
type ssoClaims struct {
	Email     string   `json:"email"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Groups    []string `json:"groups"`
	// AccountID is a string: Metabase stores attributes as strings and sandboxes by comparing them.
	AccountID string `json:"account_id"`
	jwt.RegisteredClaims
}

// signUserToken is the guide's signUserToken: HS256 over the UTF-8 bytes of the shared secret (not
// hex-decoded, contract §4), issued now, expiring 10 minutes later.
func signUserToken(secret string, u DemoUser, groups []string, accountID string, now time.Time) (string, error) {
	if groups == nil {
		groups = []string{}
	}
	c := ssoClaims{
		Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Groups: groups, AccountID: accountID,
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(tokenTTL)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("sign JWT for %s: %w", u.Email, err)
	}
	return s, nil
}

// EmbedPath is the Metabase page the iframe opens: the dashboard path with the UI options inside return_to
// (contract §12), keys sorted so the URL is reproducible: "/dashboard/1?logo=false&top_nav=false".
func EmbedPath(dashboardPath string, options map[string]string) string {
	if len(options) == 0 {
		return dashboardPath
	}
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape(k) + "=" + url.QueryEscape(options[k])
	}
	sep := "?"
	if strings.Contains(dashboardPath, "?") {
		sep = "&"
	}
	return dashboardPath + sep + strings.Join(parts, "&")
}
