package stack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tarOf builds a tar stream; a name ending in "/" is a directory.
func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		h := &tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	tw.Close()
	return b.Bytes()
}

func TestCheckSnapshot(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  string // "" means valid
	}{
		{"metabase layout", tarOf(t, map[string]string{"metabase.db/": "", "metabase.db/metabase.db.mv.db": "H2"}), ""},
		{"run_metabase.sh layout", tarOf(t, map[string]string{"metabase.db/metabase.db/metabase.db.mv.db": "H2", "metabase.db/metabase.db/metabase.db.trace.db": "x"}), ""},
		{"empty database", tarOf(t, map[string]string{"metabase.db/metabase.db.mv.db": ""}), "holds no H2 database"},
		{"no database", tarOf(t, map[string]string{"metabase.db/notes.txt": "x"}), "holds no H2 database"},
		{"escapes the volume", tarOf(t, map[string]string{"metabase.db/metabase.db.mv.db": "H2", "etc/passwd": "x"}), `"etc/passwd" lies outside metabase.db/`},
		{"climbs out", tarOf(t, map[string]string{"metabase.db/../../bin/sh": "x"}), "lies outside"},
		{"not a tar", []byte("hello, this is not a tar archive at all, but it is long enough to be read as a header block...."), "not a tar archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSnapshot(bytes.NewReader(tt.input))
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("checkSnapshot = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestVerifySnapshotFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.tar")
	os.WriteFile(plain, tarOf(t, map[string]string{"metabase.db/metabase.db.mv.db": "H2"}), 0o600)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarOf(t, map[string]string{"metabase.db/metabase.db.mv.db": "H2"}))
	zw.Close()
	good := filepath.Join(dir, "good.snapshot")
	os.WriteFile(good, gz.Bytes(), 0o600)
	tests := []struct {
		path, want string
	}{
		{good, ""},
		{plain, "not a snapshot (not gzip)"},
		{filepath.Join(dir, "missing"), "no such file"},
	}
	for _, tt := range tests {
		err := verifySnapshot(tt.path)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("verifySnapshot(%s) = %v, want %q", filepath.Base(tt.path), err, tt.want)
		}
	}
}

// TestSnapshotRoundTrip configures the emulator, saves a snapshot, deletes the stack with its data,
// restores the snapshot and finds the configuration back, without any setup call.
func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{LicenseToken: testToken, Env: map[string]string{"MB_SETUP_TOKEN": setupToken}})
	ctx := testContext(t)
	before := mustUp(t, s, nil)
	base := "http://127.0.0.1:" + strconv.Itoa(s.cfg.Port)
	configure(t, s.cfg.Port)
	if !hasUserSetup(t, base) {
		t.Fatal("has-user-setup is false right after setup")
	}

	snap := filepath.Join(t.TempDir(), "snapshots", "configured.snapshot")
	if err := s.SaveSnapshot(ctx, snap); err != nil {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	if fi, err := os.Stat(snap); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file: %v, %v; want mode 0600", fi, err)
	}
	if st, err := s.Status(ctx); err != nil || st.Health != "ok" {
		t.Fatalf("after SaveSnapshot the stack is %+v, %v; want it running and healthy again", st, err)
	}

	t.Run("a bad snapshot leaves the stack alone", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.snapshot")
		os.WriteFile(bad, []byte("not gzip"), 0o600)
		if _, err := s.RestoreSnapshot(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "not a snapshot") {
			t.Errorf("RestoreSnapshot(bad file) = %v, want an error saying so", err)
		}
		if st, _ := s.Status(ctx); !st.Running {
			t.Error("a rejected snapshot took the stack down")
		}
	})

	if err := s.Down(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := leftovers(t, s); len(got) > 0 {
		t.Fatalf("Down(volumes) left %v", got)
	}

	var rec recorder
	after, err := s.RestoreSnapshot(ctx, snap, rec.emit)
	if err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	if after.ContainerID == before.ContainerID || len(rec.of(Restoring)) == 0 || len(rec.of(Healthy)) != 1 {
		t.Errorf("RestoreSnapshot = %+v with events %v; want a fresh container, restoring and healthy events", after, rec.kinds())
	}
	if !hasUserSetup(t, base) {
		t.Error("after RestoreSnapshot has-user-setup is false: the configuration did not come back")
	}
	for _, e := range rec.events {
		if strings.Contains(e.Message, testToken) {
			t.Errorf("event %v shows the license token", e.Kind)
		}
	}

	t.Run("snapshot of a missing stack", func(t *testing.T) {
		if err := s.Down(ctx, true); err != nil {
			t.Fatal(err)
		}
		err := s.SaveSnapshot(ctx, filepath.Join(t.TempDir(), "x"))
		if !errors.Is(err, ErrNoStack) || !strings.Contains(err.Error(), "embedwizard up") {
			t.Errorf("SaveSnapshot without a stack = %v, want ErrNoStack saying what to do", err)
		}
	})
}

func hasUserSetup(t *testing.T, base string) bool {
	t.Helper()
	resp, err := http.Get(base + "/api/session/properties")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		HasUserSetup bool `json:"has-user-setup"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("decode /api/session/properties: %v", err)
	}
	return p.HasUserSetup
}
