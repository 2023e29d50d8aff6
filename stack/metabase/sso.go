package metabase

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// SSOResult is what GET /auth/sso answered to a signed JWT (contract §11 "Success response").
type SSOResult struct {
	// Location is where Metabase redirects the browser (the return_to).
	Location string
	// Session is the metabase.SESSION cookie's value: the new session of the signed-in user.
	Session string
	// SameSite, HttpOnly and Secure are the session cookie's attributes as sent.
	SameSite string
	HttpOnly bool
	Secure   bool
}

// SSO signs in through JWT SSO like a browser would, without following the redirect: GET
// /auth/sso?jwt=…&return_to=… must answer 302 with a metabase.SESSION cookie. Use As(result.Session) to act
// as that user. The token never appears in the returned error.
//
// GET, because no Metabase takes the JWT in a POST body: sso-post for :jwt throws "POST not valid for JWT SSO
// requests", 400 in 0.5x (enterprise sso/integrations/jwt.clj) and 501 {"status": "error-post-jwt-not-valid"}
// in newer versions (sso/providers or integrations jwt.clj, master 2025). The token is short-lived (iat
// checked to 180 s) and Metabase's own access log is the only place the query string lands.
func (c *Client) SSO(ctx context.Context, token, returnTo string) (SSOResult, error) {
	u := *c.base
	u.Path = c.base.Path + "/auth/sso"
	q := url.Values{"jwt": {token}}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return SSOResult{}, fmt.Errorf("SSO sign-in: %w", err)
	}
	noRedirect := *c.http
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	noRedirect.Jar = nil
	resp, err := noRedirect.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries the JWT: keep it out of the message
		}
		return SSOResult{}, fmt.Errorf("SSO sign-in: GET /auth/sso: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return SSOResult{}, fmt.Errorf("SSO sign-in: GET /auth/sso answered %d instead of a redirect: is JWT the selected SSO method?", resp.StatusCode)
		}
		return SSOResult{}, fmt.Errorf("SSO sign-in: %w", parseAPIError(http.MethodGet, "/auth/sso", resp.StatusCode, body))
	}
	r := SSOResult{Location: resp.Header.Get("Location")}
	for _, ck := range resp.Cookies() {
		if ck.Name == "metabase.SESSION" {
			r.Session, r.HttpOnly, r.Secure = ck.Value, ck.HttpOnly, ck.Secure
			r.SameSite = sameSiteOf(resp.Header.Values("Set-Cookie"))
		}
	}
	if r.Session == "" {
		return r, fmt.Errorf("SSO sign-in: Metabase redirected to %q without a metabase.SESSION cookie", r.Location)
	}
	return r, nil
}

// sameSiteOf reads the SameSite attribute of the metabase.SESSION Set-Cookie line as written ("Lax", "None").
func sameSiteOf(lines []string) string {
	for _, l := range lines {
		if !strings.HasPrefix(l, "metabase.SESSION=") {
			continue
		}
		for _, part := range strings.Split(l, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(k, "SameSite") {
				return v
			}
		}
	}
	return ""
}
