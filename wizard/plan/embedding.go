package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// The guide's "Enable interactive embedding" and "Set up SSO with JWT in your Metabase". Both steps compute
// the settings that differ from what they want; the Check is "nothing differs", the Apply writes only those,
// merged with what is there (origins and mappings set by hand survive).

// settingsDiff is a step that brings some settings to wanted values.
type settingsDiff func(ctx context.Context, set map[string]metabase.Setting) (map[string]any, error)

func (p *Plan) checkSettings(diff settingsDiff) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		set, err := p.readSettings(ctx)
		if err != nil {
			return false, err
		}
		changes, err := diff(ctx, set)
		return len(changes) == 0, err
	}
}

func (p *Plan) applySettings(diff settingsDiff) func(context.Context) error {
	return func(ctx context.Context) error {
		set, err := p.readSettings(ctx)
		if err != nil {
			return err
		}
		changes, err := diff(ctx, set)
		if err != nil {
			return err
		}
		return p.writeSettings(ctx, changes)
	}
}

// readSettings signs in, checks the license and reads the settings.
func (p *Plan) readSettings(ctx context.Context) (map[string]metabase.Setting, error) {
	if _, err := p.dialect(ctx); err != nil {
		return nil, err
	}
	return p.settings(ctx)
}

// want records key → value in changes unless the setting already has it; a setting fixed by an environment
// variable cannot be changed through the API, so it is reported and left alone.
func (p *Plan) want(changes map[string]any, set map[string]metabase.Setting, key string, value any, has bool) {
	if has {
		return
	}
	if s := set[key]; s.IsEnvSetting {
		p.progress("warning: %s is fixed by the environment variable %s; change it there", key, s.EnvName)
		return
	}
	changes[key] = value
}

func (p *Plan) embeddingDiff(ctx context.Context, set map[string]metabase.Setting) (map[string]any, error) {
	dia, err := p.dialect(ctx)
	if err != nil {
		return nil, err
	}
	enableKey, originsKey := dia.embeddingKeys()
	changes := map[string]any{}
	p.want(changes, set, enableKey, true, settingBool(set[enableKey]))

	origin, err := OriginOf(p.cfg.HostAppURL)
	if err != nil {
		return nil, err
	}
	origins := strings.Fields(settingString(set[originsKey]))
	p.want(changes, set, originsKey, strings.Join(append(origins, origin), " "), CoversOrigin(origins, origin))

	samesite, warning, err := CookieSameSite(p.cfg.HostAppURL, p.cfg.MetabaseURL)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		p.progress("warning: %s", warning)
	}
	cur := settingString(set[metabase.SettingSessionCookieSameSite])
	if cur == "" {
		cur = "lax" // Metabase's default reads as no value (contract §4)
	}
	p.want(changes, set, metabase.SettingSessionCookieSameSite, samesite, strings.EqualFold(cur, samesite))
	return changes, nil
}

// IdentityProviderURI is the host app's SSO route, which Metabase sends signed-out users to.
func IdentityProviderURI(hostAppURL string) string {
	return strings.TrimRight(hostAppURL, "/") + "/sso/metabase"
}

func (p *Plan) jwtDiff(ctx context.Context, set map[string]metabase.Setting) (map[string]any, error) {
	// Sign-in goes live with this step, so every tenant's group must exist (and, by the step order, be
	// sandboxed) before: the mappings need its id.
	missing, err := p.findTenantGroups(ctx)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		t := p.st.Tenants[missing[0]]
		return nil, notYet(fmt.Sprintf("tenant %s has no Metabase group %q yet", t.Name, t.GroupName()),
			"The groups step makes it; embedwizard up runs every step in order.")
	}
	changes := map[string]any{}
	uri := IdentityProviderURI(p.cfg.HostAppURL)
	p.want(changes, set, metabase.SettingJWTIdentityProviderURI, uri, settingString(set[metabase.SettingJWTIdentityProviderURI]) == uri)

	cur := settingString(set[metabase.SettingJWTSharedSecret])
	if !secretMatches(cur, p.st.JWTSecret) {
		// The key is only generated when written (see applyJWT), so a Check never makes one.
		p.want(changes, set, metabase.SettingJWTSharedSecret, p.st.JWTSecret, false)
	}
	p.want(changes, set, metabase.SettingJWTEnabled, true, settingBool(set[metabase.SettingJWTEnabled]))
	// Metabase makes users on their first sign-in unless this was switched off (default on, contract §4).
	prov, ok := set[metabase.SettingJWTUserProvisioning]
	p.want(changes, set, metabase.SettingJWTUserProvisioning, true, !ok || prov.Value == nil || settingBool(prov))
	if err := p.groupsDiff(changes, set); err != nil {
		return nil, err
	}
	return changes, nil
}

// applyJWT writes the JWT settings with a signing key made the way the admin UI's "Generate key" does,
// unless Metabase already holds the key the state knows. The key is saved in the state before Metabase gets
// it, so an interruption in between cannot leave a key nobody knows. A key shorter than 256 bits, from
// Metabase or from an earlier run, is never kept: Metabase is asked once more, then the step fails.
func (p *Plan) applyJWT(ctx context.Context) error {
	set, err := p.readSettings(ctx)
	if err != nil {
		return err
	}
	cur := settingString(set[metabase.SettingJWTSharedSecret])
	weak := p.st.JWTSecret != "" && ValidateJWTKey(p.st.JWTSecret) != nil
	if weak {
		p.progress("warning: the saved JWT signing key is shorter than 256 bits; a new one is generated")
	}
	if p.st.JWTSecret == "" || weak || (cur != "" && !secretMatches(cur, p.st.JWTSecret)) {
		if cur != "" && !weak {
			p.progress("warning: replacing a JWT signing key that embedwizard did not make; apps signing with the old key must take the new one")
		}
		key, err := p.generateKey(ctx)
		if err != nil {
			return err
		}
		p.st.JWTSecret = key
		if err := p.save(); err != nil {
			return err
		}
	}
	return p.applySettings(p.jwtDiff)(ctx)
}

// generateKey asks Metabase for a signing key (GET /api/util/random_token: 32 random bytes as 64 hex
// characters), and once more if the answer is shorter than that (an empty answer included), so that a bad
// answer can neither pass as a key nor wedge later runs: nothing is saved until a good key comes.
func (p *Plan) generateKey(ctx context.Context) (string, error) {
	for try := 0; try < 2; try++ {
		key, err := p.mb.RandomToken(ctx)
		if err != nil {
			return "", err
		}
		if ValidateJWTKey(key) == nil {
			return key, nil
		}
		p.progress("warning: Metabase generated a JWT key of %d characters, under 256 bits; asking again", len(key))
	}
	return "", withHint(fmt.Errorf("generate a JWT signing key: GET /api/util/random_token answered twice with a key shorter than %d characters", MinJWTKeyLength),
		"Something between embedwizard and Metabase changes its answers, or Metabase is broken: set METABASE_JWT_SHARED_SECRET to 64 hex characters (openssl rand -hex 32) and run again.")
}

// secretMatches compares Metabase's jwt-shared-secret with the known key: in full when Metabase shows it,
// or by the last two characters when it obfuscates it as "**********ab" (settings marked sensitive).
func secretMatches(shown, known string) bool {
	if shown == "" || known == "" {
		return false
	}
	if strings.HasPrefix(shown, "**********") {
		return len(known) >= 2 && strings.HasSuffix(known, strings.TrimPrefix(shown, "**********"))
	}
	return shown == known
}

// OriginOf is scheme://host[:port] of a URL: what an authorized origin and a browser's Origin look like.
func OriginOf(raw string) (string, error) {
	u, err := siteOf(raw)
	if err != nil {
		return "", fmt.Errorf("host app URL %w", err)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// CoversOrigin reports whether a list of authorized origins already admits origin, exactly or through a
// port wildcard such as http://localhost:* (which the SDK's quick start CLI sets).
func CoversOrigin(list []string, origin string) bool {
	for _, o := range list {
		o = strings.ToLower(strings.TrimRight(o, "/"))
		// Metabase puts the list into the frame-ancestors CSP of its pages as is, where "*" admits any
		// origin (a CSP source); embedwizard never writes it, but a list that has it admits the host app.
		if o == origin || o == "*" {
			return true
		}
		if base, ok := strings.CutSuffix(o, ":*"); ok {
			if h, _, found := strings.Cut(strings.TrimPrefix(origin, base), ":"); found && h == "" {
				return true
			}
		}
	}
	return false
}

func settingString(s metabase.Setting) string {
	v, _ := s.Value.(string)
	return strings.TrimSpace(v)
}

func settingBool(s metabase.Setting) bool {
	switch v := s.Value.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}
