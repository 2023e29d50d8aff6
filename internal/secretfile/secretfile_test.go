package secretfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteIsPrivateAndReplaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{"first", "second, longer than the first"} {
		if err := Write(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestWriteFailsWhereItCannotWrite(t *testing.T) {
	// A path below a regular file fails even for root, who can write anywhere else.
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if err := Write(filepath.Join(f, "state.json"), []byte("x")); err == nil {
		t.Fatal("wrote below a regular file")
	}
}

func TestCleanTempRemovesWhatAKilledWriteLeft(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := Write(path, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	// What a SIGKILL between CreateTemp and Rename leaves: a temp file with the secret in it.
	left := filepath.Join(dir, ".state.json-123456.tmp")
	other := filepath.Join(dir, ".other.json-1.tmp")
	os.WriteFile(left, []byte("secret"), 0o600)
	os.WriteFile(other, []byte("not ours"), 0o600)
	if err := CleanTemp(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("the killed save's temp file is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("removed a file of another name: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "kept" {
		t.Fatalf("the state file itself was touched: %q", got)
	}
	if err := CleanTemp(filepath.Join(dir, "missing", "state.json")); err != nil {
		t.Fatalf("a missing directory is nothing to clean, got %v", err)
	}
}

func TestWriteMakesAnOpenDirectoryPrivate(t *testing.T) {
	for _, mode := range []os.FileMode{0o755, 0o750, 0o777, 0o701} {
		dir := filepath.Join(t.TempDir(), "state")
		os.Mkdir(dir, 0o700)
		os.Chmod(dir, mode) // Mkdir's mode is narrowed by the umask; Chmod is not
		if err := Write(filepath.Join(dir, "state.json"), []byte("x")); err != nil {
			t.Fatal(err)
		}
		di, _ := os.Stat(dir)
		if di.Mode().Perm() != 0o700 {
			t.Errorf("a state dir of mode %v is now %v, want 0700", mode, di.Mode().Perm())
		}
	}
}
