package stack

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{StateDir: "rel/state"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("rel/state")
	want := Config{StateDir: abs, Image: DefaultImage, Port: 3000, SiteURL: "http://localhost:3000", Memory: 2 << 30, HealthTimeout: 5 * time.Minute}
	if fmt.Sprint(cfg) != fmt.Sprint(want) {
		t.Errorf("defaults = %v\nwant       %v", cfg, want)
	}
	cfg, _ = Config{StateDir: "/s", Port: 3366}.withDefaults()
	if cfg.SiteURL != "http://localhost:3366" {
		t.Errorf("SiteURL for port 3366 = %q", cfg.SiteURL)
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no state dir", Config{}, "set Config.StateDir"},
		{"port too big", Config{StateDir: "/s", Port: 70000}, "between 1 and 65535"},
		{"negative port", Config{StateDir: "/s", Port: -1}, "between 1 and 65535"},
		{"memory below Docker's minimum", Config{StateDir: "/s", Memory: 1 << 20}, "below Docker's minimum"},
		{"env overrides the database file", Config{StateDir: "/s", Env: map[string]string{"MB_DB_FILE": "/tmp/x"}}, "Env sets MB_DB_FILE"},
		{"token through Env", Config{StateDir: "/s", Env: map[string]string{"MB_PREMIUM_EMBEDDING_TOKEN": testToken}}, "Env sets MB_PREMIUM_EMBEDDING_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%v) = %v, want an error saying %q", tt.cfg, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("the error shows the license token: %v", err)
			}
		})
	}
}

func TestConfigPrintsNoSecret(t *testing.T) {
	cfg := Config{StateDir: "/s", LicenseToken: testToken, Env: map[string]string{"MB_JWT_SHARED_SECRET": "hush-hush"}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg)
		if strings.Contains(out, testToken) || strings.Contains(out, "hush-hush") {
			t.Errorf("Sprintf(%s, cfg) = %s; shows a secret", verb, out)
		}
		if !strings.Contains(out, "LicenseToken:set") || !strings.Contains(out, "MB_JWT_SHARED_SECRET") {
			t.Errorf("Sprintf(%s, cfg) = %s; want it to say the token is set and name the env keys", verb, out)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"defaults", Config{StateDir: "/s"},
			[]string{"JAVA_OPTS=-Xmx1024m", "MB_DB_FILE=/metabase.db/metabase.db", "MB_SITE_URL=http://localhost:3000"}},
		// The license is not in the environment: docker inspect would show it (it goes through the API).
		{"token and extras", Config{StateDir: "/s", Port: 3366, LicenseToken: testToken, Env: map[string]string{"MB_SETUP_TOKEN": "u", "JAVA_OPTS": "-Xmx3g"}},
			[]string{"JAVA_OPTS=-Xmx3g", "MB_DB_FILE=/metabase.db/metabase.db", "MB_SETUP_TOKEN=u", "MB_SITE_URL=http://localhost:3366"}},
		{"heap is half the limit", Config{StateDir: "/s", Memory: 3 << 30},
			[]string{"JAVA_OPTS=-Xmx1536m", "MB_DB_FILE=/metabase.db/metabase.db", "MB_SITE_URL=http://localhost:3000"}},
	}
	for _, tt := range tests {
		cfg, err := tt.cfg.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got := newStack(cfg, nil).env(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: env = %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// TestNaming: one stack per state directory, with names and labels that follow the directory.
func TestNaming(t *testing.T) {
	a := newStack(Config{StateDir: "/home/u/.embedwizard"}, nil)
	b := newStack(Config{StateDir: "/home/u/other"}, nil)
	a2 := newStack(Config{StateDir: "/home/u/.embedwizard"}, nil)
	if a.id == b.id || a.id != a2.id || len(a.id) != 12 {
		t.Errorf("ids %q %q %q: want 12 hex chars, equal for equal dirs only", a.id, b.id, a2.id)
	}
	if a.containerName() == b.containerName() || a.volumeName() == b.volumeName() || !strings.Contains(a.volumeName(), a.id) {
		t.Errorf("names %q/%q and %q/%q must differ per state dir", a.containerName(), a.volumeName(), b.containerName(), b.volumeName())
	}
}

func TestSpecHashFollowsSettings(t *testing.T) {
	base := Config{StateDir: "/s", Port: 3000, Memory: DefaultMemory}
	hash := func(c Config) string { return newStack(c, nil).specHash() }
	h := hash(base)
	if h != hash(base) {
		t.Fatal("specHash is not deterministic")
	}
	changes := map[string]func(*Config){
		"port":   func(c *Config) { c.Port = 3001 },
		"env":    func(c *Config) { c.Env = map[string]string{"A": "1"} },
		"memory": func(c *Config) { c.Memory = 4 << 30 },
		"site":   func(c *Config) { c.SiteURL = "http://mb.example" },
	}
	for name, change := range changes {
		c := base
		change(&c)
		if hash(c) == h {
			t.Errorf("changing the %s does not change the spec hash", name)
		}
		if strings.Contains(hash(c), testToken[:8]) {
			t.Errorf("spec hash shows the token")
		}
	}
	c := base
	c.LicenseToken = testToken
	if hash(c) != h {
		t.Error("the license token changes the spec hash; it is not in the container, so a new one must not recreate it")
	}
	c = base
	c.Image = "other:1"
	if hash(c) != h {
		t.Error("the image is part of the spec hash; it is compared on its own, to report ErrImageChanged")
	}
}

// TestImageVersionLabel: a version label counts only when it is Metabase's, not the base image's.
func TestImageVersionLabel(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"org.opencontainers.image.version": "24.04"}, ""}, // the Ubuntu base's
		{map[string]string{"org.opencontainers.image.version": "v1.64.1", "org.opencontainers.image.source": "https://github.com/metabase/metabase"}, "v1.64.1"},
		{nil, ""},
	}
	for _, tt := range tests {
		s := newStack(Config{StateDir: "/s"}, labelEngine{labels: tt.labels})
		if _, got := s.imageFacts(context.Background(), containerState{ImageID: "sha256:x"}); got != tt.want {
			t.Errorf("labels %v: version %q, want %q", tt.labels, got, tt.want)
		}
	}
}

type labelEngine struct {
	engine
	labels map[string]string
}

func (e labelEngine) image(context.Context, string) (imageInfo, error) {
	return imageInfo{ID: "sha256:x", Labels: e.labels}, nil
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"2g", 2 << 30, ""}, {"3072m", 3 << 30, ""}, {"1536MB", 1536 << 20, ""}, {" 4G ", 4 << 30, ""},
		{"1k", 0, "below Docker's minimum"}, {"lots", 0, "use a size like 2g"}, {"", 0, "use a size like 2g"},
	}
	for _, tt := range tests {
		got, err := ParseMemory(tt.in)
		if tt.err == "" && (err != nil || got != tt.want) || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}
