package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// Diagnosis is one line of `doctor`: a check, and whether its failure is a missing prerequisite (exit 3)
// rather than a misconfiguration (exit 1).
type Diagnosis struct {
	Check
	Prereq bool
}

// Diagnose looks, reading only, at what interactive embedding depends on: Docker (when embedwizard runs
// Metabase), the host app's port, and Metabase as the state's admin (license features, origins, the cookie's
// SameSite, the clock, JWT, the dashboard). st nil means no state: the defaults are diagnosed.
func Diagnose(ctx context.Context, dir string, st *plan.State) []Diagnosis {
	hasState := st != nil
	if st == nil {
		st = &plan.State{Config: plan.Config{HostAppURL: plan.DefaultHostAppURL}, Stack: plan.StackState{Port: 3000}}
	}
	var ds []Diagnosis
	add := func(prereq bool, cs ...Check) {
		for _, c := range cs {
			ds = append(ds, Diagnosis{c, prereq})
		}
	}
	if Managed(st) {
		if stk, err := OpenStack(dir, st); err != nil {
			add(true, Check{Name: "docker", Detail: err.Error(), Fix: "check DOCKER_HOST, DOCKER_CONTEXT and that Docker runs"})
		} else {
			for _, c := range stk.Preflight(ctx) {
				add(true, fromStackCheck(c))
			}
			stk.Close()
		}
	}
	if port, err := PortOf(st.Config.HostAppURL); err == nil {
		add(true, hostAppPortCheck(ctx, port))
	}
	if hasState {
		for _, c := range metabaseChecks(ctx, st) {
			add(c.Name == "license", c)
		}
	}
	return ds
}

// maxSkew is how far the clocks may drift apart: Metabase refuses a JWT whose iat is more than 180 s old by
// its own clock (contract §11), and the host app signs with iat = now.
const maxSkew = 60 * time.Second

// hostAppPortCheck passes when the host app's port is free, or when the host app itself answers there.
func hostAppPortCheck(ctx context.Context, port int) Check {
	c := HostPortCheck(port)
	c.Name = "host app port"
	if c.OK {
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+"/healthz", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		// The host app's CSP names frame-src: an answer from something else does not pass for it.
		if resp.StatusCode == http.StatusOK && strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-src") {
			c.OK, c.Detail, c.Fix = true, "the host app answers on port "+strconv.Itoa(port), ""
		}
	}
	return c
}

// metabaseChecks look at Metabase as the state's admin: features, origins, cookies, clock, JWT, dashboard.
func metabaseChecks(ctx context.Context, st *plan.State) []Check {
	ctx, cancel := context.WithTimeout(ctx, 3*probeTimeout)
	defer cancel()
	mbURL := MetabaseURL(st)
	mb, err := AdminClient(ctx, st)
	if err != nil {
		fix := "start it (embedwizard up), or wait until `embedwizard status` says health: ok"
		var ae *metabase.APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
			fix = "Metabase refused the saved admin credentials: set " + EnvAdminPassword + " (and the admin email) to an admin's, or " +
				EnvAPIKey + " to an admin API key, and run `embedwizard up` again"
		}
		return []Check{{Name: "metabase", Detail: fmt.Sprintf("cannot sign in at %s as the admin: %v", mbURL, err), Fix: fix}}
	}
	out := []Check{{Name: "metabase", OK: true, Detail: mbURL + " answers; signed in as the admin"}}
	out = append(out, featuresCheck(ctx, mb), originCheck(ctx, mbURL, st.Config.HostAppURL))
	set, err := mb.SettingsMap(ctx)
	if err != nil {
		return append(out, Check{Name: "settings", Detail: err.Error(), Fix: "sign in as an admin: is the state's admin still one?"})
	}
	out = append(out, sameSiteCheck(set, st.Config.HostAppURL, mbURL), clockCheck(ctx, mb), jwtCheck(set, st.Config.HostAppURL), dashboardCheck(ctx, mb, st))
	return append(out, auditChecks(ctx, st)...)
}

func featuresCheck(ctx context.Context, mb *metabase.Client) Check {
	c := Check{Name: "license"}
	p, err := mb.SessionProperties(ctx)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "check that Metabase answers"
		return c
	}
	if missing := plan.MissingFeatures(p.Features); len(missing) > 0 {
		c.Detail = "the license lacks " + strings.Join(missing, ", ")
		c.Fix = "set a Pro or Enterprise token (MB_PREMIUM_EMBEDDING_TOKEN, then embedwizard up); Metabase needs internet to check it"
		return c
	}
	c.OK, c.Detail = true, "it unlocks every feature the quick start needs"
	return c
}

// originCheck reads the Content-Security-Policy Metabase sends with its pages: the browser lets the host app
// frame Metabase only when frame-ancestors admits the host app's origin.
func originCheck(ctx context.Context, mbURL, hostAppURL string) Check {
	c := Check{Name: "origins", Fix: "embedwizard up adds it, or Admin settings > Embedding > Interactive embedding > Authorized origins"}
	origin, err := plan.OriginOf(hostAppURL)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "check the state's host app URL"
		return c
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(mbURL, "/")+"/", nil)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.Detail = "GET / : " + err.Error()
		return c
	}
	resp.Body.Close()
	ancestors := frameAncestors(resp.Header.Get("Content-Security-Policy"))
	if !plan.CoversOrigin(ancestors, origin) {
		c.Detail = fmt.Sprintf("Metabase may be framed by %q, not by the host app %s (is interactive embedding on?)", strings.Join(ancestors, " "), origin)
		return c
	}
	c.OK, c.Detail = true, "Metabase may be framed by the host app "+origin
	return c
}

// frameAncestors lists the sources of a CSP's frame-ancestors directive.
func frameAncestors(csp string) []string {
	for d := range strings.SplitSeq(csp, ";") {
		f := strings.Fields(d)
		if len(f) > 0 && strings.EqualFold(f[0], "frame-ancestors") {
			return f[1:]
		}
	}
	return nil
}

// sameSiteCheck compares the session cookie's SameSite with what the plan's rule wants for the two sites:
// Lax for one site; None, over HTTPS only, across sites (plan.CookieSameSite).
func sameSiteCheck(set map[string]metabase.Setting, hostAppURL, mbURL string) Check {
	c := Check{Name: "samesite"}
	v, _ := set[metabase.SettingSessionCookieSameSite].Value.(string)
	v = strings.ToLower(cmp.Or(v, "lax"))
	want, warning, err := plan.CookieSameSite(hostAppURL, mbURL)
	switch {
	case err != nil:
		c.Detail, c.Fix = err.Error(), "check the state's host app and Metabase URLs"
	case want == "lax" && v == "none" && !strings.HasPrefix(mbURL, "https:"):
		c.Detail = "SameSite=None over plain HTTP: browsers drop such a cookie, so sign-in inside the iframe fails"
		c.Fix = "the two apps are the same site: set it to Lax (embedwizard up, or Admin settings > Embedding)"
	case want == "lax":
		c.OK, c.Detail = true, "the host app and Metabase are the same site; SameSite="+v+" works"
	case v != want:
		c.Detail = "SameSite=" + v + " keeps the cookie out of the iframe: " + warning
		c.Fix = "serve both over HTTPS and set SameSite to None (embedwizard up does), or serve them from one site"
	case warning != "" && strings.Contains(warning, "HTTPS"):
		c.Detail, c.Fix = warning, "serve both over HTTPS"
	default:
		c.OK, c.Detail = true, "SameSite="+v+" is what "+hostAppURL+" and "+mbURL+" need"
	}
	return c
}

func clockCheck(ctx context.Context, mb *metabase.Client) Check {
	c := Check{Name: "clock"}
	before := time.Now()
	t, err := mb.ServerTime(ctx)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "check that Metabase answers"
		return c
	}
	// The Date header has whole seconds; compare with the middle of the request.
	skew := t.Sub(before.Add(time.Since(before) / 2)).Round(time.Second)
	if skew.Abs() > maxSkew {
		c.Detail = fmt.Sprintf("Metabase's clock is %s off this machine's: it refuses JWTs issued over 180 s ago by its clock", skew)
		c.Fix = "synchronise both clocks (e.g. timedatectl set-ntp true, or restart Docker Desktop after sleep)"
		return c
	}
	c.OK, c.Detail = true, fmt.Sprintf("Metabase's clock is within %s of this machine's", max(skew.Abs(), time.Second))
	return c
}

func jwtCheck(set map[string]metabase.Setting, hostAppURL string) Check {
	c := Check{Name: "jwt", Fix: "embedwizard up, or Admin settings > Authentication > JWT: Save and enable"}
	enabled, _ := set[metabase.SettingJWTEnabled].Value.(bool)
	uri, _ := set[metabase.SettingJWTIdentityProviderURI].Value.(string)
	want := plan.IdentityProviderURI(hostAppURL)
	switch {
	case !enabled:
		c.Detail = "JWT sign-in is not enabled (or has no signing key or identity provider URI)"
	case uri != want:
		c.Detail = fmt.Sprintf("the identity provider URI is %q, not the host app's %s", uri, want)
	default:
		c.OK, c.Detail = true, "JWT sign-in enabled; identity provider "+want
	}
	return c
}

func dashboardCheck(ctx context.Context, mb *metabase.Client, st *plan.State) Check {
	c := Check{Name: "dashboard", Fix: "embedwizard up makes it again (X-ray of Invoices)"}
	if st.DashboardID == 0 {
		c.Detail = "no dashboard recorded in the state"
		return c
	}
	d, err := mb.Dashboard(ctx, st.DashboardID)
	switch {
	case err != nil:
		c.Detail = err.Error()
	case d.Archived:
		c.Detail = fmt.Sprintf("dashboard %d %q is in the trash", d.ID, d.Name)
		c.Fix = "restore it from Metabase's trash, or run embedwizard up"
	default:
		c.OK, c.Detail = true, fmt.Sprintf("%s %q", d.Path(), d.Name)
	}
	return c
}
