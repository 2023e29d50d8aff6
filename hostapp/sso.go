package hostapp

import (
	"net/http"
	"net/url"
	"time"

	"github.com/embedwizard/embedwizard/internal/sso"
)

// TokenTTL is the JWT's lifetime (the guide's 10 minutes); tokens are signed per redirect, never cached.
const TokenTTL = sso.TokenTTL

// Claims is what the host app signs for Metabase (the guide's signUserToken, contract §11).
type Claims = sso.Claims

// sign makes the HS256 token for u, issued now.
func (s *settings) sign(u *member, now time.Time) (string, error) {
	return sso.Sign(s.key, sso.Identity{
		Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Groups: u.groups, AccountID: u.AccountID,
	}, now)
}

// serveSSO is the guide's /sso/metabase: sign the user's claims and send the browser to Metabase's
// /auth/sso, which signs it in and redirects to return_to.
func (a *App) serveSSO(w http.ResponseWriter, r *http.Request, sess *session) {
	rt := a.s.defaultRT
	if raw, err := returnToParam(r.URL.RawQuery); err != nil || raw != "" {
		if err == nil {
			err = localPath(raw)
		}
		if err != nil {
			a.s.log.Warn("refused return_to", "ip", clientIP(r), "reason", err.Error())
			a.message(w, http.StatusBadRequest, view{
				Title:  "That return_to is not allowed",
				Detail: "return_to must be a path inside Metabase, such as " + a.s.dashboard + ", but " + err.Error() + ".",
				Hint:   "Links into the embedded Metabase take a relative path; full URLs and other hosts are refused so this page cannot redirect anywhere else.",
				Action: &link{Href: "/analytics", Label: "Open the analytics"},
			})
			return
		}
		rt = url.QueryEscape(a.s.options.Apply(raw))
	}
	token, err := a.s.sign(sess.user, a.s.now())
	if err != nil { // only with an unusable key, which New refuses
		a.s.log.Error("sign JWT", "err", err.Error())
		http.Error(w, "sign JWT: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// Cache-Control: no-store (set in ServeHTTP) matters here: the Location holds a live token.
	w.Header()["Location"] = []string{a.s.ssoPrefix + token + "&return_to=" + rt}
	w.WriteHeader(http.StatusFound)
}
