package plan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// The guide's CHECKPOINTs, proved by the plan itself through the real sign-in path: sign a JWT as the host
// app does, follow /auth/sso like the iframe, and look at what Metabase made of it as that user.

// noTenant is a user the host app might sign for someone in no tenant: no group claim, no account.
var noTenant = DemoUser{Email: "embedwizard.no-tenant@example.com", FirstName: "No", LastName: "Tenant"}

// signedIn is a user signed in through /auth/sso.
type signedIn struct {
	sso metabase.SSOResult
	mb  *metabase.Client
}

// signIn follows /auth/sso with a token signed as the host app signs it.
func (p *Plan) signIn(ctx context.Context, u DemoUser, groups []string, accountID string) (signedIn, error) {
	if p.st.JWTSecret == "" {
		return signedIn{}, withHint(errors.New("the JWT signing key is not known"), "Run the jwt step first (embedwizard up runs every step in order).")
	}
	token, err := signUserToken(p.st.JWTSecret, u, groups, accountID, p.opts.Now())
	if err != nil {
		return signedIn{}, err
	}
	res, err := p.mb.SSO(ctx, token, p.embedPath())
	switch {
	case metabase.IsStatus(err, http.StatusUnauthorized):
		return signedIn{}, withHint(fmt.Errorf("sign in %s: %w", u.Email, err),
			"Metabase refused the signed token: either its JWT signing key is not the one embedwizard knows (run again: the jwt step puts it back) or this machine's clock and Metabase's differ by minutes (tokens older than 180 s are refused).")
	case metabase.IsStatus(err, http.StatusBadRequest), metabase.IsStatus(err, http.StatusPaymentRequired):
		// With JWT configured but the license gone, Metabase answers 400 {"status": "error-sso-disabled",
		// "message": "SSO has not been enabled and/or configured"}, the same as JWT switched off
		// (enterprise sso/integrations/jwt_test.clj, "SSO requests fail if they don't have a valid
		// premium-features token"; master 2025); 0.5x answered 402 from assert-has-feature. Say both.
		return signedIn{}, withHint(fmt.Errorf("sign in %s: %w", u.Email, err),
			"JWT SSO is off in Metabase, or its license no longer unlocks JWT sign-in: check Admin settings > License (the license must include JWT SSO), "+
				"then run again so the jwt step sets Admin settings > Authentication > JWT.")
	case err != nil:
		return signedIn{}, fmt.Errorf("sign in %s: %w", u.Email, err)
	}
	return signedIn{sso: res, mb: p.mb.As(res.Session)}, nil
}

// signInTenant signs a tenant's demo user in with the claims the host app sends for it.
func (p *Plan) signInTenant(ctx context.Context, t TenantState) (signedIn, error) {
	return p.signIn(ctx, t.DemoUser, []string{t.Name}, strconv.Itoa(t.AccountID))
}

// embedPath is the return_to of every sign-in: the dashboard with the UI options, as the host app sends it.
func (p *Plan) embedPath() string {
	path := p.st.DashboardPath
	if path == "" {
		path = "/"
	}
	return EmbedPath(path, p.cfg.UIOptions)
}

// verifySSO is the guide's "sign in to your Metabase using SSO": Metabase makes each demo user on its first
// sign-in, redirects to return_to and sets a session cookie the iframe can keep.
func (p *Plan) verifySSO(ctx context.Context) ([]string, error) {
	if _, err := p.dialect(ctx); err != nil {
		return nil, err
	}
	samesite, _, err := CookieSameSite(p.cfg.HostAppURL, p.cfg.MetabaseURL)
	if err != nil {
		return nil, err
	}
	var checks []string
	for _, t := range p.st.Tenants {
		u := t.DemoUser
		s, err := p.signInTenant(ctx, t)
		if err != nil {
			return checks, err
		}
		if want := p.embedPath(); !sameLocation(s.sso.Location, want) {
			return checks, fmt.Errorf("sign in %s: Metabase redirected to %q instead of return_to %q", u.Email, s.sso.Location, want)
		}
		if got := cookieSameSite(s.sso.SameSite); !strings.EqualFold(got, samesite) {
			return checks, withHint(fmt.Errorf("sign in %s: the session cookie is SameSite=%s, want %s", u.Email, got, samesite),
				"Run again so the embedding step sets session-cookie-samesite, or check MB_SESSION_COOKIE_SAMESITE is not set on Metabase.")
		}
		me, err := s.mb.CurrentUser(ctx)
		if err != nil {
			return checks, fmt.Errorf("as %s: %w", u.Email, err)
		}
		if !strings.EqualFold(me.Email, u.Email) {
			return checks, fmt.Errorf("sign in %s: Metabase signed in %s instead", u.Email, me.Email)
		}
		checks = append(checks,
			fmt.Sprintf("%s signed in through /auth/sso and landed on %s", u.Email, s.sso.Location),
			fmt.Sprintf("Metabase has the user %s %s <%s> (session cookie SameSite=%s, HttpOnly=%t)", me.FirstName, me.LastName, me.Email, cookieSameSite(s.sso.SameSite), s.sso.HttpOnly))
	}
	return checks, nil
}

// verifyGroups is the guide's "verify that Metabase assigns people to groups when they log in", plus the
// account_id attribute the sandbox filters on.
func (p *Plan) verifyGroups(ctx context.Context) ([]string, error) {
	if _, err := p.dialect(ctx); err != nil {
		return nil, err
	}
	all, err := p.allUsers(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := p.findTenantGroups(ctx); err != nil {
		return nil, err
	}
	var checks []string
	for _, t := range p.st.Tenants {
		u := t.DemoUser
		s, err := p.signInTenant(ctx, t)
		if err != nil {
			return checks, err
		}
		me, err := s.mb.CurrentUser(ctx)
		if err != nil {
			return checks, fmt.Errorf("as %s: %w", u.Email, err)
		}
		var others []int
		for _, id := range me.GroupIDs() {
			if id != all.ID && id != t.GroupID {
				others = append(others, id)
			}
		}
		if !slices.Contains(me.GroupIDs(), t.GroupID) || len(others) > 0 {
			return checks, withHint(fmt.Errorf("%s is in groups %v, want %q (%d) and All Users only", u.Email, me.GroupIDs(), t.GroupName(), t.GroupID),
				"Check Admin settings > Authentication > JWT: group sync on and the claim "+t.Name+" mapped to "+t.GroupName()+" only; remove the user from other groups in Admin settings > People.")
		}
		got, _ := me.Attribute(AccountAttribute)
		if want := strconv.Itoa(t.AccountID); got != want {
			return checks, fmt.Errorf("%s has %s = %q, want %q from the JWT", u.Email, AccountAttribute, got, want)
		}
		checks = append(checks,
			fmt.Sprintf("%s is in %q and no other group but All Users", u.Email, t.GroupName()),
			fmt.Sprintf("%s has the attribute %s = %s", u.Email, AccountAttribute, got))
	}
	return checks, nil
}

// verifySandbox is the guide's "view sandboxed dashboard" and "verify hidden UI elements": each demo user
// opens the dashboard and sees Invoices rows of its own account only (and at least one), the iframe's URL
// hides what the UI options hide, and someone of no tenant sees no Invoices data at all.
func (p *Plan) verifySandbox(ctx context.Context) ([]string, error) {
	if _, err := p.dialect(ctx); err != nil {
		return nil, err
	}
	s, err := p.sample(ctx)
	if err != nil {
		return nil, err
	}
	query := metabase.TableQuery(s.db.ID, s.invoices.ID, 2000)
	var checks []string
	for _, t := range p.st.Tenants {
		u := t.DemoUser
		si, err := p.signInTenant(ctx, t)
		if err != nil {
			return checks, err
		}
		d, err := si.mb.Dashboard(ctx, p.st.DashboardID)
		if err != nil {
			return checks, refused(fmt.Errorf("as %s, open the dashboard %s: %w", u.Email, p.st.DashboardPath, err),
				"All Users needs View access to "+metabase.XrayCollectionName+": run again so the permissions step grants it, or look at Admin settings > Permissions > Collections.")
		}
		cardCheck, err := p.runEveryCard(ctx, si, d, t)
		if err != nil {
			return checks, err
		}
		res, err := si.mb.RunQuery(ctx, query)
		if err != nil {
			return checks, refused(fmt.Errorf("as %s, query Invoices: %w", u.Email, err),
				"The group "+t.GroupName()+" needs Invoices sandboxed with query-builder access: run again so the sandbox step sets it, or look at Admin settings > Permissions > Data.")
		}
		want := strconv.Itoa(t.AccountID)
		n, foreign, err := countForeign(res, want)
		if err != nil {
			return checks, fmt.Errorf("as %s, query Invoices: %w", u.Email, err)
		}
		switch {
		case len(foreign) > 0:
			return checks, withHint(fmt.Errorf("%s sees Invoices rows of other accounts (%s), not only account %s", u.Email, strings.Join(foreign, ", "), want),
				"The sandbox does not filter: check Admin settings > Permissions > Data > "+t.GroupName()+" > Invoices is Sandboxed on Account ID = user attribute "+AccountAttribute+", and that All Users is Blocked.")
		case n == 0:
			return checks, withHint(fmt.Errorf("%s sees no Invoices rows: account %s has none", u.Email, want),
				"Choose an account id that exists in the Sample Database's Invoices (the guide's 28 does) for that tenant (NAME=ACCOUNT_ID).")
		}
		checks = append(checks,
			fmt.Sprintf("%s opens the dashboard %s", u.Email, p.st.DashboardPath), cardCheck,
			fmt.Sprintf("%s sees %d Invoices rows, all of account %s", u.Email, n, want))
		if len(p.cfg.UIOptions) > 0 {
			hidden := uiOptionsIn(si.sso.Location, p.cfg.UIOptions)
			if hidden == "" {
				return checks, fmt.Errorf("the embedded dashboard URL %s lacks the UI options %s", si.sso.Location, EmbedPath("", p.cfg.UIOptions))
			}
			checks = append(checks, fmt.Sprintf("the embedded dashboard URL %s carries %s", si.sso.Location, hidden))
		}
	}
	check, err := p.verifyNoTenant(ctx, query)
	if err != nil {
		return checks, err
	}
	return append(checks, check), nil
}

// runEveryCard opens every card of the dashboard as the tenant's user, as the dashboard page does, through
// the dashcard query endpoint (a card's own endpoint where that one is missing). A card that fails is a failed
// checkpoint naming the card and carrying Metabase's message.
func (p *Plan) runEveryCard(ctx context.Context, si signedIn, d metabase.Dashboard, t TenantState) (string, error) {
	cards := d.QueryCards()
	if len(cards) == 0 {
		return fmt.Sprintf("%s: the dashboard has no cards to run", t.DemoUser.Email), nil
	}
	for _, dc := range cards {
		res, err := si.mb.RunDashcard(ctx, d.ID, dc)
		if isMissingRoute(err) {
			res, err = si.mb.RunCard(ctx, *dc.CardID)
		}
		if isMissingRoute(err) {
			p.progress("warning: this Metabase runs no card query endpoint; the dashboard's cards were not opened as %s", t.DemoUser.Email)
			return fmt.Sprintf("%s: the dashboard's cards were not run (no card query endpoint)", t.DemoUser.Email), nil
		}
		if err != nil {
			return "", withHint(fmt.Errorf("as %s, the dashboard card %q (dashcard %d) fails: %w", t.DemoUser.Email, dc.Card.Name, dc.ID, err),
				"A card of the dashboard reads a table the group "+t.GroupName()+" may not see: run again so the sandbox step sandboxes the tables the cards join to, "+
					"or look at Admin settings > Permissions > Data > "+t.GroupName()+".")
		}
		// A card that shows the account column must show only the tenant's account.
		if res.Column("ACCOUNT_ID") >= 0 {
			if _, foreign, _ := countForeign(res, strconv.Itoa(t.AccountID)); len(foreign) > 0 {
				return "", withHint(fmt.Errorf("as %s, the dashboard card %q (dashcard %d) shows rows of other accounts (%s)", t.DemoUser.Email, dc.Card.Name, dc.ID, strings.Join(foreign, ", ")),
					"The sandbox does not filter that card's table: check Admin settings > Permissions > Data > "+t.GroupName()+".")
			}
		}
	}
	return fmt.Sprintf("%s opens all %d cards of the dashboard", t.DemoUser.Email, len(cards)), nil
}

// isMissingRoute reports a 404 for the endpoint itself (Metabase's plain-text "API endpoint does not
// exist."), not for an object.
func isMissingRoute(err error) bool {
	var ae *metabase.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound && strings.Contains(strings.ToLower(ae.Message), "endpoint")
}

// refused attaches the hint when Metabase refused the demo user (403); other failures keep the general hint.
func refused(err error, hint string) error {
	if metabase.IsStatus(err, http.StatusForbidden) {
		return withHint(err, hint)
	}
	return err
}

// verifyNoTenant signs in someone in no tenant: with All Users blocked, the query is refused or empty.
func (p *Plan) verifyNoTenant(ctx context.Context, q metabase.Query) (string, error) {
	si, err := p.signIn(ctx, noTenant, nil, "")
	if err != nil {
		return "", err
	}
	res, err := si.mb.RunQuery(ctx, q)
	switch {
	case metabase.IsStatus(err, http.StatusForbidden):
		return "a user of no tenant is refused Invoices data (403)", nil
	case err != nil && res.Status == "failed" && strings.Contains(strings.ToLower(res.Error), "permission"):
		return "a user of no tenant is refused Invoices data (" + res.Error + ")", nil
	case err != nil:
		return "", fmt.Errorf("as %s, query Invoices: %w", noTenant.Email, err)
	case len(res.Data.Rows) > 0:
		return "", withHint(fmt.Errorf("a user of no tenant (%s) sees %d Invoices rows", noTenant.Email, len(res.Data.Rows)),
			"All Users must be Blocked on the Sample Database: run again so the permissions step sets it, or look at Admin settings > Permissions > Data > All Users.")
	}
	return "a user of no tenant sees no Invoices rows", nil
}

// countForeign counts the rows and lists the account ids that are not want.
func countForeign(res metabase.QueryResult, want string) (int, []string, error) {
	col := res.Column("ACCOUNT_ID")
	if col < 0 {
		return 0, nil, errors.New("the answer has no ACCOUNT_ID column")
	}
	var foreign []string
	for _, row := range res.Data.Rows {
		if col >= len(row) {
			continue
		}
		if got := cellString(row[col]); got != want && !slices.Contains(foreign, got) {
			foreign = append(foreign, got)
		}
	}
	return len(res.Data.Rows), foreign, nil
}

func cellString(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// uiOptionsIn returns "logo=false&top_nav=false" when the redirect carries every UI option, "" otherwise.
func uiOptionsIn(location string, options map[string]string) string {
	u, err := url.Parse(location)
	if err != nil || len(options) == 0 {
		return ""
	}
	q := u.Query()
	for k, v := range options {
		if q.Get(k) != v {
			return ""
		}
	}
	return strings.TrimPrefix(EmbedPath("", options), "?")
}

// sameLocation compares a redirect with the return_to sent: Metabase may answer it relative or absolute.
func sameLocation(location, returnTo string) bool {
	if location == returnTo {
		return true
	}
	u, err := url.Parse(location)
	return err == nil && u.RequestURI() == returnTo
}

// cookieSameSite is the SameSite a browser applies: none given means Lax.
func cookieSameSite(v string) string {
	if v == "" {
		return "Lax"
	}
	return v
}
