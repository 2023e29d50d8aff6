package plan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// cache holds what the steps read from Metabase and share within a run; a write forgets what it changed.
type cache struct {
	emit        func(string)
	loggedIn    bool
	setupToken  string // from the Check that found no admin, for the setup that follows
	licenseSent bool   // the token was written this run: missing features now are the license's
	props       *metabase.Properties
	settings    map[string]metabase.Setting
	groups      []metabase.Group
	sample      *sampleDB
	dashboard   *metabase.Dashboard
}

// sampleDB is the Sample Database as the steps need it.
type sampleDB struct {
	db       metabase.Database
	invoices metabase.Table
	account  metabase.Field
}

// session makes sure the client is signed in as an admin: with the API key, or the admin's email and
// password. Every step but the first-run setup starts here.
func (p *Plan) session(ctx context.Context) error {
	if p.cache.loggedIn {
		return nil
	}
	who := p.cfg.AdminEmail
	if p.cfg.APIKey != "" {
		who = "the API key " + Mask(p.cfg.APIKey)
		p.mb.UseAPIKey(p.cfg.APIKey)
	} else if err := p.mb.Login(ctx, p.cfg.AdminEmail, p.cfg.AdminPassword); err != nil {
		if errors.Is(err, metabase.ErrMFARequired) {
			return withHint(err, "Metabase asks "+p.cfg.AdminEmail+" for a second factor, which embedwizard cannot give: create an admin API key "+
				"(Admin settings > Authentication > API keys, group Administrators) and set EMBEDWIZARD_API_KEY to it. "+
				"API keys (X-API-Key) are not subject to MFA.")
		}
		if metabase.IsStatus(err, http.StatusUnauthorized) || metabase.IsStatus(err, http.StatusBadRequest) {
			return withHint(err, "Metabase already has an admin account and refused this password for "+p.cfg.AdminEmail+
				": set EMBEDWIZARD_ADMIN_PASSWORD (and the admin email) to an admin's credentials, or EMBEDWIZARD_API_KEY to an admin API key, then run again.")
		}
		return err
	}
	u, err := p.mb.CurrentUser(ctx)
	if err != nil {
		return err
	}
	if !u.IsSuperuser {
		return withHint(fmt.Errorf("sign in: %s is not a Metabase admin", who),
			"Use an account in the Administrators group (or an API key of that group): the quick start changes admin settings.")
	}
	p.cache.loggedIn = true
	p.cache.props = nil // more keys, and token-features, once signed in
	return nil
}

// properties are /api/session/properties as the signed-in admin sees them, read once per run.
func (p *Plan) properties(ctx context.Context) (metabase.Properties, error) {
	if p.cache.props != nil {
		return *p.cache.props, nil
	}
	props, err := p.mb.SessionProperties(ctx)
	if err != nil {
		return metabase.Properties{}, err
	}
	p.cache.props = &props
	if props.Version.Tag != "" {
		p.st.MetabaseVersion = props.Version.Tag
	}
	return props, nil
}

// dialect signs in and reads the version, then stops every step after the license one with a clear
// message when the license lacks a feature: no write happens before the license is known to be enough.
func (p *Plan) dialect(ctx context.Context) (dialect, error) {
	if err := p.session(ctx); err != nil {
		return dialect{}, err
	}
	props, err := p.properties(ctx)
	if err != nil {
		return dialect{}, err
	}
	if missing := MissingFeatures(props.Features); len(missing) > 0 {
		return dialect{}, licenseError(missing, p.cfg.LicenseToken != "")
	}
	return newDialect(props), nil
}

func licenseError(missing []string, tokenGiven bool) error {
	err := fmt.Errorf("the license does not unlock %s", strings.Join(missing, ", "))
	if !tokenGiven {
		return withHint(&LicenseError{Missing: missing, NoToken: true, Err: fmt.Errorf("Metabase has no Pro/Enterprise license: %w", err)},
			"Set MB_PREMIUM_EMBEDDING_TOKEN to your license token (or give it in a license file) and run again; a free trial is at https://www.metabase.com/product/pro. Nothing was changed in Metabase.")
	}
	return withHint(&LicenseError{Missing: missing, Err: err},
		"Interactive embedding with sandboxing needs a Pro or Enterprise plan: check the token in your Metabase store account (Admin settings > License shows what it unlocks), then run again. Nothing else was changed in Metabase.")
}

// settings is GET /api/setting by key, read once per run until a write.
func (p *Plan) settings(ctx context.Context) (map[string]metabase.Setting, error) {
	if p.cache.settings != nil {
		return p.cache.settings, nil
	}
	m, err := p.mb.SettingsMap(ctx)
	if err != nil {
		return nil, err
	}
	p.cache.settings = m
	return m, nil
}

// writeSettings changes only the settings in values, in one call (all or nothing on current versions).
func (p *Plan) writeSettings(ctx context.Context, values map[string]any) error {
	if len(values) == 0 {
		return nil
	}
	p.cache.settings = nil
	p.progress("PUT /api/setting %s", strings.Join(slices.Sorted(maps.Keys(values)), ", "))
	return p.mb.SetSettings(ctx, values)
}

// groups is GET /api/permissions/group, read once per run until a group is made.
func (p *Plan) groups(ctx context.Context) ([]metabase.Group, error) {
	if p.cache.groups != nil {
		return p.cache.groups, nil
	}
	gs, err := p.mb.Groups(ctx)
	if err != nil {
		return nil, err
	}
	p.cache.groups = gs
	return gs, nil
}

// allUsers is the All Users group, found by its magic type, never by an assumed id (contract §5).
func (p *Plan) allUsers(ctx context.Context) (metabase.Group, error) {
	gs, err := p.groups(ctx)
	if err != nil {
		return metabase.Group{}, err
	}
	g, ok := metabase.FindMagicGroup(gs, metabase.MagicAllUsers)
	if !ok {
		return metabase.Group{}, fmt.Errorf("find the All Users group: no group has magic_group_type %q, nor (on versions without that field) the name All Users", metabase.MagicAllUsers)
	}
	return g, nil
}

// tenantGroup is the tenant's group, by name, case-insensitively ("customer acme" is reused).
func (p *Plan) tenantGroup(ctx context.Context, t Tenant) (metabase.Group, bool, error) {
	gs, err := p.groups(ctx)
	if err != nil {
		return metabase.Group{}, false, err
	}
	g, ok := metabase.FindGroup(gs, t.GroupName())
	return g, ok, nil
}

// sample finds the Sample Database, its Invoices table and the table's Account ID column, waiting while
// Metabase's first sync has not listed them yet (contract §6), and records their ids.
func (p *Plan) sample(ctx context.Context) (sampleDB, error) {
	if p.cache.sample != nil {
		return *p.cache.sample, nil
	}
	var s sampleDB
	var why, told string
	// Say why we wait, once per reason: a fresh Metabase syncs its Sample Database for a while after boot.
	tell := func() {
		if why != told {
			p.progress("waiting for Metabase's first sync: %s", why)
			told = why
		}
	}
	err := p.poll(ctx, 2*time.Minute, func() (bool, error) {
		dbs, err := p.mb.Databases(ctx)
		if err != nil {
			return false, err
		}
		// By is_sample (database.clj :is_sample, every version); the name only when no database says it is
		// the sample, as a renamed or re-added copy might.
		id, byName := 0, 0
		for _, d := range dbs {
			if d.IsSample && id == 0 {
				id = d.ID
			}
			if byName == 0 && strings.EqualFold(d.Name, "Sample Database") {
				byName = d.ID
			}
		}
		if id == 0 {
			id = byName
		}
		if id == 0 {
			why = "Metabase lists no Sample Database"
			tell()
			return false, nil
		}
		if s.db, err = p.mb.DatabaseMetadata(ctx, id); err != nil {
			return false, err
		}
		var ok bool
		if s.invoices, ok = s.db.TableNamed("INVOICES"); !ok {
			why = "the Sample Database has no Invoices table yet"
			tell()
			return false, nil
		}
		if s.account, ok = s.invoices.FieldNamed("ACCOUNT_ID"); !ok {
			why = "the Invoices table has no Account ID column yet"
			tell()
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		if errors.Is(err, errPollTimeout) {
			return sampleDB{}, withHint(fmt.Errorf("find the Sample Database's Invoices table: %s", why),
				"The quick start uses Metabase's Sample Database: if it was removed, add it back in Admin settings > Databases (Add the sample database), then run again.")
		}
		return sampleDB{}, err
	}
	p.st.SampleDatabaseID, p.st.InvoicesTableID, p.st.AccountIDFieldID = s.db.ID, s.invoices.ID, s.account.ID
	p.cache.sample = &s
	return s, nil
}

// dashboard is the saved dashboard with its cards as the admin sees it, read once per run.
func (p *Plan) dashboard(ctx context.Context) (metabase.Dashboard, error) {
	if p.cache.dashboard != nil && p.cache.dashboard.ID == p.st.DashboardID {
		return *p.cache.dashboard, nil
	}
	if p.st.DashboardID == 0 {
		return metabase.Dashboard{}, notYet("the dashboard is not saved yet", "The dashboard step saves it; embedwizard up runs every step in order.")
	}
	d, err := p.mb.Dashboard(ctx, p.st.DashboardID)
	if err != nil {
		return metabase.Dashboard{}, err
	}
	p.cache.dashboard = &d
	return d, nil
}

var errPollTimeout = errors.New("gave up waiting")

// poll asks until ok, ctx ends or timeout passes (errPollTimeout). It waits PollInterval between tries.
func (p *Plan) poll(ctx context.Context, timeout time.Duration, try func() (bool, error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ok, err := try()
		if err != nil || ok {
			return err
		}
		t := time.NewTimer(p.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-deadline.C:
			t.Stop()
			return errPollTimeout
		case <-t.C:
		}
	}
}
