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
	props, err := p.waitReady(ctx)
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
	// The generated password is saved (0600, fsynced) before Metabase hears of it: killed during the call,
	// the user can still sign in with the saved password. Unable to save it, stop before the call.
	if p.opts.StateDir != "" {
		if err := p.save(); err != nil {
			return withHint(fmt.Errorf("save the admin password before creating the admin account: %w", err),
				"Nothing was changed in Metabase. Make the state directory "+p.opts.StateDir+" writable (and the disk not full), then run again.")
		}
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
		return p.noTracking(ctx)
	case errors.As(err, &ae) && ae.Field("user.password") != "":
		// Setup validates its body as {"user": {"password": ValidPassword}, …}: the message comes nested,
		// {"errors": {"user": {"password": "password is too common."}}} (api.macros decode-and-validate-params).
		return withHint(err, "Metabase finds the admin password too weak: set EMBEDWIZARD_ADMIN_PASSWORD to a longer one with letters and digits, or unset it to have one generated.")
	case metabase.IsStatus(err, http.StatusForbidden):
		return withHint(err, "Someone finished Metabase's setup in the meantime: set EMBEDWIZARD_ADMIN_PASSWORD (and the admin email) to that admin's credentials and run again.")
	}
	return err
}

// noTracking turns off anonymous usage tracking right after the first-run setup: setup ignores the
// request's prefs.allow_tracking and sets anon-tracking-enabled to true itself (api/setup.clj
// setup-set-settings!: "default to `true`… (public-settings/anon-tracking-enabled! true)"; read in an older
// release, UNVERIFIED for each of 0.52–0.64, and writing false is right either way), and an evaluator's demo
// should not report usage. Only on the instance this run set up: a configured Metabase keeps its choice.
func (p *Plan) noTracking(ctx context.Context) error {
	p.progress("PUT /api/setting/anon-tracking-enabled false")
	if err := p.mb.SetSetting(ctx, "anon-tracking-enabled", false); err != nil {
		p.progress("warning: could not turn off Metabase's anonymous usage tracking (%v); turn it off in Admin settings > General", err)
	}
	return nil
}

// waitReady waits while Metabase boots until /api/health says ok AND /api/session/properties answers 200:
// an Enterprise boot can answer health and still reset connections while it finishes, so both are
// polled, within ReadyTimeout and ctx. Nothing listening at all on the first try is an error at once,
// since waiting would not help a wrong URL.
func (p *Plan) waitReady(ctx context.Context) (metabase.Properties, error) {
	last := -1.0
	answered, healthy := false, false
	var props metabase.Properties
	err := p.poll(ctx, p.opts.ReadyTimeout, func() (bool, error) {
		h, err := p.mb.Health(ctx)
		if err != nil {
			if ctx.Err() == nil && !answered && !errors.As(err, new(*metabase.APIError)) {
				return false, withHint(err, "Nothing answers at "+p.cfg.MetabaseURL+": start Metabase there, or check the Metabase URL (without one embedwizard runs Metabase in Docker), then run again.")
			}
			if ctx.Err() != nil {
				return false, err
			}
			return false, nil // a reset mid-boot: ask again
		}
		answered = true
		if h.Ready() {
			healthy = true
			if props, err = p.mb.SessionProperties(ctx); err != nil {
				if ctx.Err() != nil {
					return false, err
				}
				p.progress("Metabase answers /api/health but not yet /api/session/properties")
				return false, nil
			}
			return true, nil
		}
		if h.Progress != last {
			last = h.Progress
			p.progress("Metabase is starting (%.0f%%)", h.Progress*100)
		}
		return false, nil
	})
	if errors.Is(err, errPollTimeout) {
		what := "/api/health did not say ok"
		if healthy {
			what = ": /api/health says ok but /api/session/properties did not answer"
		}
		return props, withHint(fmt.Errorf("wait for Metabase: %s%s within %s", p.cfg.MetabaseURL, what, p.opts.ReadyTimeout),
			"Metabase may lack memory or be stuck migrating: look at its log (embedwizard logs), then run again.")
	}
	if err != nil {
		return props, fmt.Errorf("wait for Metabase: %w", err)
	}
	return props, nil
}

func (p *Plan) checkLicense(ctx context.Context) (bool, error) {
	if err := p.session(ctx); err != nil {
		return false, err
	}
	props, err := p.properties(ctx)
	if err != nil {
		return false, err
	}
	missing := MissingFeatures(props.Features)
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
		return withHint(&LicenseError{Refused: true, Err: err}, "Metabase refused the license token "+Mask(p.cfg.LicenseToken)+": check it in your Metabase store account. Metabase validates tokens online at token-check.metabase.com, so it also needs Internet access (airgap tokens excepted).")
	}
	return err
}
