package session

import (
	"fmt"
	"os"
	"strings"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// RehearsalBanner is what every screen of a rehearsal says.
const RehearsalBanner = "REHEARSAL: embedwizard's built-in emulator, not Metabase; nothing here is real"

// Rehearse turns cfg into a rehearsal: the whole guide against the built-in emulator of Metabase's API,
// started here, in this process, before anything asks it a question (so nothing races its start). It needs no
// Docker and no license. The state lives in a fresh temporary directory, removed by Close, so a rehearsal never
// touches a real setup's state. The returned Config is cfg with the emulator as an external Metabase.
func Rehearse(cfg Config, opts Options) (*Session, error) {
	srv := metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken})
	dir, err := os.MkdirTemp("", "embedwizard-rehearsal-")
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("rehearsal: state directory: %w", err)
	}
	cfg.Rehearsal = true
	cfg.StateDir = dir
	cfg.State = &plan.State{}
	// localhost, like the host app's default origin: one site, so the session cookie stays SameSite=Lax and the
	// iframe signs in over plain HTTP, as on a user's machine.
	cfg.Config.MetabaseURL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	cfg.Config.LicenseToken = ""
	cfg.Config.APIKey = "" // the emulator's admin is made here, with a password of its own
	pw, err := plan.GeneratePassword()
	if err != nil {
		srv.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	cfg.Config.AdminPassword, cfg.AdminPasswordFrom = pw, "generated"
	cfg.LicenseFrom = "the emulator"
	s := New(cfg, opts)
	s.rehearsal = closers{srv.Close, func() { os.RemoveAll(dir) }}
	return s, nil
}

// closers runs each function on Close.
type closers []func()

func (c closers) Close() error {
	for _, f := range c {
		f()
	}
	return nil
}
