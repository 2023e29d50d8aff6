package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// Preflight checks, reading only, everything the run needs before its first write: the configuration, Docker
// (or the Metabase given), Metabase's port, memory and image, the host app's port, and the license's format.
// It returns every check, failing or not, so that all the fixes show at once.
func (s *Session) Preflight(ctx context.Context) []Check {
	var out []Check
	license := s.licenseCheck()
	if _, err := s.Plan(s.probeURL()); err != nil && (license.OK || !strings.Contains(err.Error(), "license")) {
		// A malformed license is said once, by the license's own line.
		out = append(out, Check{Name: checkChoices, Detail: err.Error(), Fix: "correct the value named"})
	}
	switch {
	case s.cfg.Rehearsal:
		out = append(out, Check{Name: "metabase", OK: true, Detail: "a rehearsal: the built-in emulator at " + s.cfg.Config.MetabaseURL + ", not Metabase"})
	case s.cfg.External():
		out = append(out, metabaseCheck(ctx, s.cfg.Config.MetabaseURL))
	default:
		if stk, err := s.stack(); err != nil {
			h, _ := HintOf(err)
			out = append(out, Check{Name: "docker", Detail: h.Why, Fix: h.Do})
		} else {
			for _, c := range stk.Preflight(ctx) {
				out = append(out, fromStackCheck(c))
			}
			if c := s.versionCheck(ctx, stk); !c.quiet || c.Warn {
				out = append(out, c)
			}
		}
	}
	return append(out, HostPortCheck(s.cfg.HostPort), license)
}

// checkChoices names the check of the values given (flags, form, saved state).
const checkChoices = "choices"

// CheckAll runs the preflight, emits each check, and fails with every failing one when any fails.
func (s *Session) CheckAll(ctx context.Context, emit func(Event)) error {
	emit = orNop(emit)
	var failed []string
	badValue := false
	for _, c := range s.Preflight(ctx) {
		emit(Event{Kind: CheckDone, Check: c})
		if !c.OK {
			failed = append(failed, c.Name)
			// A wrong value given (a malformed license among them) is a usage error, a missing thing a prerequisite.
			badValue = badValue || c.Name == checkChoices || (c.Name == "license" && s.cfg.Config.LicenseToken != "")
		}
	}
	s.showBanners(emit)
	if len(failed) == 0 {
		return nil
	}
	err := &Failure{Err: fmt.Errorf("preflight: %s failed; nothing was changed", strings.Join(failed, ", "))}
	if badValue { // a value given is wrong: that is the first thing to fix, whatever else is missing
		return Kind(ErrUsage, err)
	}
	return Kind(ErrPrereq, err)
}

// licenseCheck is the license's line: its format is all that can be checked before Metabase runs; its
// features are the plan's license step.
func (s *Session) licenseCheck() Check {
	return LicenseCheck(s.cfg.Choices, s.cfg.LicenseFrom, s.opts.Interactive, s.cfg.Rehearsal)
}

// LicenseCheck is the license's preflight line for the choices c, the token having come from from;
// interactive when a form follows that asks for a missing one.
func LicenseCheck(ch Choices, from string, interactive, rehearsal bool) Check {
	c := Check{Name: "license"}
	token := ch.Config.LicenseToken
	if from == "" {
		from = "the saved state"
	}
	switch {
	case rehearsal:
		c.OK, c.Detail = true, "the emulator's built-in test license (no license needed for a rehearsal)"
	case token == "" && interactive:
		c.OK, c.Detail = true, "the form asks for it next (input hidden)"
	case token == "" && ch.External():
		c.OK, c.Detail = true, "none given: the Metabase at "+ch.Config.MetabaseURL+" must have its own; the license step checks"
	case token == "":
		c.Detail = "no license token: interactive embedding with sandboxing needs a Pro or Enterprise license"
		c.Fix = "set " + EnvLicense + " to your license token (or give a file holding it); a free trial is at https://www.metabase.com/product/pro"
	default:
		if err := plan.CheckLicenseFormat(token); err != nil {
			c.Detail = "from " + from + ": " + err.Error()
			c.Fix = "set " + EnvLicense + " to your Pro or Enterprise token and run again"
			return c
		}
		c.OK, c.Detail = true, "from "+from
	}
	return c
}

// HostPortCheck says whether the host app's port is free on 127.0.0.1, by the stack's one rule (ProbePort).
// Unlike Metabase's port, which Docker publishes as root, any failure to listen counts: the host app listens
// as this user.
func HostPortCheck(port int) Check {
	c := Check{Name: "host app port", OK: true, Detail: strconv.Itoa(port) + " is free for the host app"}
	switch err := stack.ProbePort(port); {
	case errors.Is(err, stack.ErrPortInUse):
		c.OK, c.Detail = false, "the host app's port "+strconv.Itoa(port)+" is in use: "+strings.TrimPrefix(err.Error(), stack.ErrPortInUse.Error()+": ")
		c.Fix = "stop it (an earlier `embedwizard host`?) or choose another port for the host app"
	case err != nil:
		c.OK, c.Detail = false, "the host app cannot listen on port "+strconv.Itoa(port)+": "+err.Error()
		c.Fix = "choose another port for the host app (above 1023 for an unprivileged user)"
	}
	return c
}

// metabaseCheck says whether the Metabase given answers.
func metabaseCheck(ctx context.Context, url string) Check {
	c := Check{Name: "metabase"}
	mb, err := metabase.New(url)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "give the Metabase URL as http(s)://host:port"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h, err := mb.Health(ctx)
	switch {
	case err != nil:
		c.Detail, c.Fix = "no answer from "+url+": "+err.Error(), "start that Metabase, or check its URL"
	case !h.Ready():
		c.OK, c.Detail = true, fmt.Sprintf("%s is %s (%.0f%%); the plan waits for it", url, h.Status, h.Progress*100)
	default:
		c.OK, c.Detail = true, url+" answers"
		// embedwizard does not choose this Metabase's version, so the floor warns here instead of refusing.
		if p, err := mb.SessionProperties(ctx); err == nil && p.Version.Tag != "" {
			c.Detail = url + " answers: Metabase " + p.Version.Tag
			if ws := FloorWarnings(p.Version.Tag); len(ws) > 0 {
				c.Warn, c.Detail = true, c.Detail+"; "+strings.Join(ws, "; ")
			}
		}
	}
	return c
}

// Failed lists the checks that did not pass.
func Failed(cs []Check) []Check {
	var out []Check
	for _, c := range cs {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}
