package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// This file is `doctor`'s look for what silently defeats the guide: things every step's Check accepts (or
// cannot see) and that still change what a tenant sees. Findings reads only.

// Finding is one such thing, in words for a screen.
type Finding struct {
	// Problem says what is wrong ("jwt-group-sync is fixed by the environment variable MB_JWT_GROUP_SYNC").
	Problem string
	// Why says what it breaks for the people using the host app.
	Why string
	// Fix says what to do: the Admin settings page or the environment variable to change.
	Fix string
	// Step is the ID of the step or checkpoint it defeats (StepJWT, StepCheckpointSandbox, …).
	Step string
}

// Findings signs in as the admin and reports, in this order:
//   - settings the quick start needs that an environment variable pins, naming it (Metabase shows neither the
//     value nor accepts a change: settings/models/setting.clj user-facing-info returns value null for them).
//     One whose effective value can be read another way and is right is not reported;
//   - a JWT identity provider URI that is not the host app's /sso/metabase;
//   - jwt-user-provisioning-enabled? turned off, naming the demo users Metabase would refuse;
//   - a demo user whose account_id was set by hand in Metabase and differs from the tenant's: from 57 on an
//     admin's login_attributes win over the JWT's (users/models/user.clj add-attributes), so the sandbox shows
//     that other account's rows.
//
// The error is for Metabase being unreachable or refusing the admin.
func (p *Plan) Findings(ctx context.Context) ([]Finding, error) {
	p.cache = cache{}
	if err := p.session(ctx); err != nil {
		return nil, fmt.Errorf("doctor: %w", err)
	}
	props, err := p.properties(ctx)
	if err != nil {
		return nil, fmt.Errorf("doctor: %w", err)
	}
	set, err := p.settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("doctor: %w", err)
	}
	var out []Finding
	idp := &idpProbe{}
	out = append(out, p.pinnedFindings(ctx, props, set, idp)...)
	if f, ok := p.identityProviderFinding(ctx, set, idp); ok {
		out = append(out, f)
	}
	users, err := p.demoUsers(ctx)
	if err != nil {
		return out, fmt.Errorf("doctor: %w", err)
	}
	if f, ok := p.provisioningFinding(set, users); ok {
		out = append(out, f)
	}
	out = append(out, p.attributeFindings(props, users)...)
	return out, nil
}

// pinned is a setting the quick start writes, the step that writes it and the value it needs.
type pinned struct {
	key, step, want, why string
	// known reads the effective value another way, when Metabase shows it: right reports whether it is what
	// the quick start needs, ok whether it could tell.
	known func() (right, ok bool)
}

func (p *Plan) pinnedSettings(ctx context.Context, props metabase.Properties, probe *idpProbe) []pinned {
	enableKey, originsKey := newDialect(props).embeddingKeys()
	origin := mustOrigin(p.cfg.HostAppURL)
	samesite, _, err := CookieSameSite(p.cfg.HostAppURL, p.cfg.MetabaseURL)
	if err != nil {
		samesite = "lax"
	}
	idp := IdentityProviderURI(p.cfg.HostAppURL)
	var mappings []string
	for _, t := range p.st.Tenants {
		if t.GroupID > 0 {
			mappings = append(mappings, fmt.Sprintf("%q: [%d]", t.Name, t.GroupID))
		}
	}
	wantMappings := "each tenant's group claim mapped to its group"
	if len(mappings) > 0 {
		wantMappings = "{" + strings.Join(mappings, ", ") + "}"
	}
	return []pinned{
		{key: enableKey, step: StepEmbedding, want: "true",
			why: "Metabase refuses to be framed by the host app while interactive embedding is off.",
			known: func() (bool, bool) {
				// The authenticated session properties carry it on current versions.
				if enableKey != metabase.SettingEnableEmbeddingInteractive || props.EnableEmbeddingInteractive == nil {
					return false, false
				}
				return *props.EnableEmbeddingInteractive, true
			}},
		{key: originsKey, step: StepEmbedding, want: "a list that includes " + origin,
			why: "the browser refuses the /analytics iframe unless the host app's origin is authorized."},
		{key: metabase.SettingSessionCookieSameSite, step: StepEmbedding, want: samesite,
			why: "the iframe loses its session cookie when SameSite does not suit the two sites, and every page asks to sign in again.",
			known: func() (bool, bool) {
				if props.SessionCookieSameSite == "" {
					return false, false
				}
				return strings.EqualFold(props.SessionCookieSameSite, samesite), true
			}},
		{key: metabase.SettingJWTEnabled, step: StepJWT, want: "true",
			why: "without JWT sign-in the host app cannot sign its users in to Metabase."},
		{key: metabase.SettingJWTIdentityProviderURI, step: StepJWT, want: idp,
			why: "Metabase sends signed-out users there; anywhere else they never come back signed in.",
			known: func() (bool, bool) {
				got, ok := p.identityProviderRedirect(ctx, probe)
				return ok && sameIdentityProvider(got, idp), ok
			}},
		{key: metabase.SettingJWTSharedSecret, step: StepJWT, want: "the key embedwizard keeps in its state file",
			why: "Metabase refuses every JWT the host app signs with another key."},
		{key: metabase.SettingJWTGroupSync, step: StepJWT, want: "true",
			why: "without group sync the demo users never join their tenant's group, so its sandbox never applies and they see no data."},
		{key: metabase.SettingJWTGroupMappings, step: StepJWT, want: wantMappings,
			why: "a tenant whose group claim is not mapped is never put in its group, so its sandbox never applies."},
	}
}

// pinnedFindings reports the settings of pinnedSettings that an environment variable fixes, unless their
// effective value can be read and is right.
func (p *Plan) pinnedFindings(ctx context.Context, props metabase.Properties, set map[string]metabase.Setting, probe *idpProbe) []Finding {
	var out []Finding
	for _, s := range p.pinnedSettings(ctx, props, probe) {
		cur, ok := set[s.key]
		if !ok || !cur.IsEnvSetting {
			continue
		}
		env := envNameOf(cur)
		f := Finding{Step: s.step,
			Problem: fmt.Sprintf("%s is fixed by the environment variable %s", s.key, env),
			Fix: fmt.Sprintf("Set %s to %s where Metabase is started, or remove it so that embedwizard can set %s; then restart Metabase and run embedwizard up again.",
				env, s.want, s.key)}
		right, known := false, false
		if s.known != nil {
			right, known = s.known()
		}
		switch {
		case known && right:
			continue
		case known:
			f.Problem += ", to a value the quick start cannot use"
			f.Why = "embedwizard cannot change it through Metabase's API, and it is wrong: " + s.why
		default:
			f.Why = "embedwizard cannot change it through Metabase's API, and Metabase does not show its value. It must be " +
				s.want + ": otherwise " + s.why
		}
		if s.key == metabase.SettingJWTIdentityProviderURI && known {
			continue // identityProviderFinding says it, with the URI Metabase uses
		}
		out = append(out, f)
	}
	// Provisioning is pinned too, but only matters for demo users Metabase does not have yet.
	if cur, ok := set[metabase.SettingJWTUserProvisioning]; ok && cur.IsEnvSetting {
		env := envNameOf(cur)
		out = append(out, Finding{Step: StepCheckpointSSO,
			Problem: fmt.Sprintf("%s is fixed by the environment variable %s", metabase.SettingJWTUserProvisioning, env),
			Why: "embedwizard cannot read or change it. If it is false, Metabase refuses the JWT sign-in of any demo user it " +
				"does not have yet (a new tenant, or one removed in Metabase).",
			Fix: fmt.Sprintf("Set %s=true where Metabase is started, or remove it; then restart Metabase.", env)})
	}
	return out
}

// envNameOf is the variable Metabase names for a setting (env_name), or MB_ + the upper-snake key.
func envNameOf(s metabase.Setting) string {
	if s.EnvName != "" {
		return s.EnvName
	}
	return "MB_" + strings.ToUpper(strings.ReplaceAll(strings.TrimSuffix(s.Key, "?"), "-", "_"))
}

// identityProviderFinding reports an identity provider URI other than the host app's SSO route. A pinned
// one is read from where Metabase sends a signed-out browser.
func (p *Plan) identityProviderFinding(ctx context.Context, set map[string]metabase.Setting, probe *idpProbe) (Finding, bool) {
	want := IdentityProviderURI(p.cfg.HostAppURL)
	cur := set[metabase.SettingJWTIdentityProviderURI]
	got := settingString(cur)
	fix := fmt.Sprintf("Admin settings > Authentication > JWT: set the JWT Identity Provider URI to %s (embedwizard up does it).", want)
	if cur.IsEnvSetting {
		loc, ok := p.identityProviderRedirect(ctx, probe)
		if !ok {
			return Finding{}, false // pinnedFindings reported it as unreadable
		}
		got = loc
		fix = fmt.Sprintf("Set %s=%s where Metabase is started, or remove it so that embedwizard sets it; then restart Metabase.", envNameOf(cur), want)
	}
	if got == "" || sameIdentityProvider(got, want) {
		return Finding{}, false
	}
	return Finding{Step: StepJWT,
		Problem: fmt.Sprintf("the JWT identity provider URI is %s, not the host app's %s", got, want),
		Why: "Metabase sends anyone who opens /analytics signed out (or whose session ended) to that address instead of the " +
			"host app, so they never come back signed in.",
		Fix: fix}, true
}

// sameIdentityProvider compares the URI Metabase uses (maybe with the return_to it appends) with want.
func sameIdentityProvider(got, want string) bool {
	for _, sep := range []string{"?return_to=", "&return_to="} {
		if i := strings.Index(got, sep); i >= 0 {
			got = got[:i]
		}
	}
	return strings.TrimRight(got, "/") == strings.TrimRight(want, "/")
}

// identityProviderRedirect is where Metabase sends a browser that opens /auth/sso without a token: the
// identity provider URI (sso/integrations/jwt.clj redirect-to-idp; no return_to is appended without a
// redirect parameter). ok is false when Metabase does not redirect (JWT off or not configured).
func (p *Plan) identityProviderRedirect(ctx context.Context, probe *idpProbe) (string, bool) {
	if probe.done {
		return probe.loc, probe.loc != ""
	}
	probe.done = true
	hc := &http.Client{Timeout: 10 * time.Second}
	if p.opts.HTTPClient != nil {
		c := *p.opts.HTTPClient
		hc = &c
	}
	hc.Jar = nil
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(p.cfg.MetabaseURL, "/")+"/auth/sso", nil)
	if err != nil {
		return "", false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return "", false
	}
	loc := resp.Header.Get("Location")
	if u, err := url.Parse(loc); err != nil || u.Host == "" {
		return "", false
	}
	probe.loc = loc
	return loc, true
}

// idpProbe keeps one Findings' answer of identityProviderRedirect: Metabase is asked once.
type idpProbe struct {
	done bool
	loc  string
}

// demoUser is a tenant's demo user as Metabase has it; User is nil when Metabase has no such user yet.
type demoUser struct {
	tenant TenantState
	user   *metabase.User
}

func (p *Plan) demoUsers(ctx context.Context) ([]demoUser, error) {
	if len(p.st.Tenants) == 0 {
		return nil, nil
	}
	list, err := p.mb.Users(ctx)
	if err != nil {
		return nil, err
	}
	var out []demoUser
	for _, t := range p.st.Tenants {
		d := demoUser{tenant: t}
		email := demoEmail(t)
		i := slices.IndexFunc(list, func(u metabase.User) bool { return strings.EqualFold(u.Email, email) })
		if i >= 0 {
			// GET /api/user/:id carries both attribute maps on every version; the list may not.
			u, err := p.mb.User(ctx, list[i].ID)
			if err != nil {
				return nil, err
			}
			d.user = &u
		}
		out = append(out, d)
	}
	return out, nil
}

func demoEmail(t TenantState) string {
	if t.DemoUser.Email != "" {
		return t.DemoUser.Email
	}
	return t.DemoEmail()
}

// provisioningFinding reports jwt-user-provisioning-enabled? set false in Metabase's app database.
func (p *Plan) provisioningFinding(set map[string]metabase.Setting, users []demoUser) (Finding, bool) {
	cur, ok := set[metabase.SettingJWTUserProvisioning]
	if !ok || cur.IsEnvSetting || cur.Value == nil || settingBool(cur) {
		return Finding{}, false // absent (older versions), pinned (pinnedFindings), default or on
	}
	var missing []string
	for _, d := range users {
		if d.user == nil {
			missing = append(missing, demoEmail(d.tenant))
		}
	}
	why := "Metabase refuses the JWT sign-in of any user it does not have yet (\"you'll need a Metabase account\"): a new tenant's " +
		"demo user, or one removed in Metabase, cannot sign in."
	if len(missing) > 0 {
		why = fmt.Sprintf("Metabase refuses the JWT sign-in of users it does not have yet, and it does not have %s: "+
			"they cannot open /analytics.", strings.Join(missing, ", "))
	}
	return Finding{Step: StepCheckpointSSO,
		Problem: metabase.SettingJWTUserProvisioning + " is off: JWT sign-in does not create users",
		Why:     why,
		Fix: "Admin settings > Authentication > JWT: turn user provisioning on (embedwizard up turns it back on), or create " +
			"the demo users in Admin settings > People."}, true
}

// attributeFindings reports demo users whose account_id, as Metabase applies it, is not their tenant's
// because an admin set it by hand.
func (p *Plan) attributeFindings(props metabase.Properties, users []demoUser) []Finding {
	// From 57 the JWT's attributes live in jwt_attributes, apart from login_attributes, which only an admin
	// sets and which win (users/models/user.clj add-attributes). Before, the JWT wrote login_attributes
	// itself, so a hand-set value lasts only until the user's next sign-in: not a lasting override.
	apart := metabase.ParseVersion(props.Version.Tag).Major >= 57
	var out []Finding
	for _, d := range users {
		if d.user == nil {
			continue
		}
		if !apart && d.user.JWTAttributes == nil {
			continue
		}
		hand, ok := attrString(d.user.LoginAttributes, AccountAttribute)
		want := strconv.Itoa(d.tenant.AccountID)
		if !ok || hand == want {
			continue
		}
		from := ""
		if jwt, ok := attrString(d.user.JWTAttributes, AccountAttribute); ok {
			from = fmt.Sprintf(" (the JWT says %s)", jwt)
		}
		out = append(out, Finding{Step: StepCheckpointSandbox,
			Problem: fmt.Sprintf("%s has %s = %s set by hand in Metabase, not tenant %s's %s%s",
				demoEmail(d.tenant), AccountAttribute, hand, d.tenant.Name, want, from),
			Why: fmt.Sprintf("Metabase applies an attribute an admin set over the JWT's, so the Invoices sandbox shows %s the rows of account %s instead of %s.",
				demoEmail(d.tenant), hand, want),
			Fix: fmt.Sprintf("Admin settings > People > %s > Edit user: remove the %s attribute (the JWT sets it at every sign-in).",
				demoEmail(d.tenant), AccountAttribute)})
	}
	return out
}

// attrString reads one attribute as a string, as Metabase compares it.
func attrString(m map[string]any, name string) (string, bool) {
	v, ok := m[name]
	if !ok || v == nil {
		return "", false
	}
	switch t := v.(type) {
	case string:
		return t, true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case json.Number:
		return t.String(), true
	}
	return fmt.Sprint(v), true
}
