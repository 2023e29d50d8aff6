package plan

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// The first two steps: an admin account to work as, and a license that unlocks what the guide needs.

func (p *Plan) checkSetup(ctx context.Context) (bool, error) {
	if p.cache.loggedIn {
		return true, nil
	}
	if err := p.waitReady(ctx); err != nil {
		return false, err
	}
	props, err := p.mb.SessionProperties(ctx)
	if err != nil {
		return false, err
	}
	if !props.HasUserSetup {
		p.cache.setupToken = props.SetupToken
		return false, nil
	}
	if err := p.session(ctx); err != nil {
		return false, err
	}
	return true, nil
}

func (p *Plan) applySetup(ctx context.Context) error {
	if p.cfg.AdminPassword == "" {
		return withHint(errors.New("Metabase has no admin account yet and an API key cannot make one"),
			"Leave EMBEDWIZARD_API_KEY unset on a fresh Metabase: embedwizard then creates the admin account itself.")
	}
	if p.cache.setupToken == "" {
		return withHint(errors.New("Metabase has no admin account yet but gives no setup token"),
			"Finish Metabase's first-run setup in the browser at "+p.cfg.MetabaseURL+"/setup, then run again with EMBEDWIZARD_ADMIN_PASSWORD set to that account's password.")
	}
	p.progress("POST /api/setup as %s", p.cfg.AdminEmail)
	err := p.mb.Setup(ctx, metabase.SetupRequest{
		Token: p.cache.setupToken,
		User: metabase.SetupUser{
			Email: p.cfg.AdminEmail, Password: p.cfg.AdminPassword,
			FirstName: "Embedwizard", LastName: "Admin",
		},
		Prefs: metabase.SetupPrefs{SiteName: "Embedwizard", SiteLocale: "en"},
	})
	var ae *metabase.APIError
	switch {
	case err == nil:
		p.cache.loggedIn, p.cache.props = true, nil
		return nil
	case errors.As(err, &ae) && ae.Errors["password"] != "":
		return withHint(err, "Metabase finds the admin password too weak: set EMBEDWIZARD_ADMIN_PASSWORD to a longer one with letters and digits, or unset it to have one generated.")
	case metabase.IsStatus(err, http.StatusForbidden):
		return withHint(err, "Someone finished Metabase's setup in the meantime: set EMBEDWIZARD_ADMIN_PASSWORD (and --admin-email) to that admin's credentials and run again.")
	}
	return err
}

// waitReady waits for /api/health to say ok while Metabase boots; nothing listening at all is an error at
// once, since waiting would not help a wrong URL.
func (p *Plan) waitReady(ctx context.Context) error {
	last := -1.0
	err := p.poll(ctx, p.opts.ReadyTimeout, func() (bool, error) {
		h, err := p.mb.Health(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.As(err, new(*metabase.APIError)) {
				return false, withHint(err, "Nothing answers at "+p.cfg.MetabaseURL+": start Metabase there, or check --metabase-url (without it embedwizard runs Metabase in Docker), then run again.")
			}
			return false, err
		}
		if h.Ready() {
			return true, nil
		}
		if h.Progress != last {
			last = h.Progress
			p.progress("Metabase is starting (%.0f%%)", h.Progress*100)
		}
		return false, nil
	})
	if errors.Is(err, errPollTimeout) {
		return withHint(fmt.Errorf("wait for Metabase: %s/api/health did not say ok within %s", p.cfg.MetabaseURL, p.opts.ReadyTimeout),
			"Metabase may lack memory or be stuck migrating: look at its log (embedwizard logs), then run again.")
	}
	if err != nil {
		return fmt.Errorf("wait for Metabase: %w", err)
	}
	return nil
}

func (p *Plan) checkLicense(ctx context.Context) (bool, error) {
	if err := p.session(ctx); err != nil {
		return false, err
	}
	props, err := p.properties(ctx)
	if err != nil {
		return false, err
	}
	missing := missingFeatures(props.Features)
	if len(missing) == 0 {
		return true, nil
	}
	if p.cfg.LicenseToken == "" || p.cache.licenseSent {
		return false, licenseError(missing, p.cfg.LicenseToken != "")
	}
	return false, nil
}

func (p *Plan) applyLicense(ctx context.Context) error {
	p.progress("PUT /api/setting/%s %s", metabase.SettingPremiumToken, Mask(p.cfg.LicenseToken))
	p.cache.licenseSent, p.cache.props = true, nil
	err := p.mb.SetSetting(ctx, metabase.SettingPremiumToken, p.cfg.LicenseToken)
	if metabase.IsStatus(err, http.StatusBadRequest) {
		return withHint(err, "Metabase refused the license token "+Mask(p.cfg.LicenseToken)+": check it in your Metabase store account. Metabase validates tokens online at token-check.metabase.com, so it also needs Internet access (airgap tokens excepted).")
	}
	return err
}
