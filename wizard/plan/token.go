package plan

import (
	"fmt"
	"time"

	"github.com/embedwizard/embedwizard/internal/sso"
)

// signUserToken signs u in exactly as the host app does (internal/sso): the checkpoints must sign in the
// way the host app does, or they would prove something else.
func signUserToken(secret string, u DemoUser, groups []string, accountID string, now time.Time) (string, error) {
	s, err := sso.Sign([]byte(secret), sso.Identity{
		Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Groups: groups, AccountID: accountID,
	}, now)
	if err != nil {
		return "", fmt.Errorf("sign JWT for %s: %w", u.Email, err)
	}
	return s, nil
}

// EmbedPath is the Metabase page the iframe opens: the dashboard path with the UI options inside return_to
// (contract §12), keys sorted so the URL is reproducible: "/dashboard/1?logo=false&top_nav=false".
func EmbedPath(dashboardPath string, options map[string]string) string {
	return sso.NewUIOptions(options).Apply(dashboardPath)
}
