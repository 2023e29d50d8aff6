package main

import (
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestDryRun: up --dry-run makes no write, and exits as terraform plan -detailed-exitcode does: 2 while changes
// are pending, 0 once Metabase is configured.
func TestDryRun(t *testing.T) {
	license := map[string]string{"HOME": t.TempDir(), session.EnvLicense: metabasetest.TestLicenseToken}

	fresh := metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken})
	defer fresh.Close()
	fresh.ResetRequests()
	code, out, errOut := upRun(t, license, "", "up", "--dry-run", "--metabase-url", fresh.URL, "--state-dir", t.TempDir())
	if code != exitUsage || !strings.Contains(out, "~ ") || !strings.Contains(out, "Nothing was written") {
		t.Errorf("dry run on a fresh Metabase: exit %d, want 2 with the changes\n%s\n%s", code, out, errOut)
	}
	if w := nonGetWrites(fresh); len(w) > 0 {
		t.Errorf("the dry run wrote to Metabase: %v", w)
	}

	c := configure(t, metabasetest.Options{})
	c.srv.ResetRequests()
	code, out, errOut = upRun(t, license, "", "up", "--dry-run", "--state-dir", c.dir)
	if code != exitOK || !strings.Contains(out, "Nothing to change") {
		t.Errorf("dry run on a configured Metabase: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	if w := nonGetWrites(c.srv); len(w) > 0 {
		t.Errorf("the dry run wrote to Metabase: %v", w)
	}
}
