package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/internal/syncbuf"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "defaults", check: func(t *testing.T, c config) {
			if c.addr != "0.0.0.0:3000" || c.boot != 0 || c.opts.Version != metabasetest.DefaultVersion || c.opts.Features != nil {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "generation flags", args: []string{"--metabase-version", "v1.57.6", "--strict", "--mfa"},
			check: func(t *testing.T, c config) {
				if c.opts.Version != "v1.57.6" || !c.opts.Strict || !c.opts.MFA {
					t.Errorf("options = %+v, want v1.57.6, strict, mfa", c.opts)
				}
			}},
		{name: "generation from env", env: map[string]string{"FAKEMETABASE_METABASE_VERSION": "v1.52.4", "FAKEMETABASE_STRICT": "true"},
			check: func(t *testing.T, c config) {
				if c.opts.Version != "v1.52.4" || !c.opts.Strict || c.opts.MFA {
					t.Errorf("options = %+v, want v1.52.4 and strict from env", c.opts)
				}
			}},
		{name: "bad boolean env", env: map[string]string{"FAKEMETABASE_MFA": "maybe"}, wantErr: "FAKEMETABASE_MFA"},
		{name: "jetty host and port", env: map[string]string{"MB_JETTY_HOST": "127.0.0.1", "MB_JETTY_PORT": "3999"},
			check: func(t *testing.T, c config) {
				if c.addr != "127.0.0.1:3999" {
					t.Errorf("addr = %q", c.addr)
				}
			}},
		{name: "boot and exit from env", env: map[string]string{"FAKEMETABASE_BOOT_SECONDS": "1.5", "FAKEMETABASE_EXIT_AFTER": "2m"},
			check: func(t *testing.T, c config) {
				if c.boot != 1500*time.Millisecond || c.exitAfter != 2*time.Minute {
					t.Errorf("boot = %v, exit-after = %v", c.boot, c.exitAfter)
				}
			}},
		{name: "flags win over env", args: []string{"--boot-seconds", "3", "--features", "embedding, sso_jwt", "--version", "v1.55.2"},
			env: map[string]string{"FAKEMETABASE_BOOT_SECONDS": "9"},
			check: func(t *testing.T, c config) {
				if c.boot != 3*time.Second || strings.Join(c.opts.Features, ",") != "embedding,sso_jwt" || c.opts.Version != "v1.55.2" {
					t.Errorf("config = %+v", c)
				}
			}},
		{name: "secrets and settings from env", env: map[string]string{"MB_PREMIUM_EMBEDDING_TOKEN": "tok", "MB_SETUP_TOKEN": "setup",
			"MB_SITE_URL": "http://localhost:3000", "MB_DB_FILE": "/data/metabase.db.mv.db", "MB_ENABLE_EMBEDDING_INTERACTIVE": "true"},
			check: func(t *testing.T, c config) {
				o := c.opts
				if o.LicenseToken != "tok" || o.SetupToken != "setup" || o.SiteURL != "http://localhost:3000" ||
					o.DBFile != "/data/metabase.db" || o.Env["MB_ENABLE_EMBEDDING_INTERACTIVE"] != "true" {
					t.Errorf("options = %+v", o)
				}
			}},
		{name: "deprecated embedding alone is copied", env: map[string]string{"MB_ENABLE_EMBEDDING": "true", "MB_EMBEDDING_APP_ORIGIN": "http://x"},
			check: func(t *testing.T, c config) {
				if c.opts.Env["MB_ENABLE_EMBEDDING_INTERACTIVE"] != "true" || c.opts.Env["MB_EMBEDDING_APP_ORIGINS_INTERACTIVE"] != "http://x" {
					t.Errorf("env = %v", c.opts.Env)
				}
			}},
		{name: "deprecated mixed with new", env: map[string]string{"MB_ENABLE_EMBEDDING": "true", "MB_ENABLE_EMBEDDING_SDK": "true"},
			wantErr: "MB_ENABLE_EMBEDDING is deprecated"},
		{name: "deprecated origin mixed with new", env: map[string]string{"MB_EMBEDDING_APP_ORIGIN": "a", "MB_EMBEDDING_APP_ORIGINS_INTERACTIVE": "b"},
			wantErr: "MB_EMBEDDING_APP_ORIGIN is deprecated"},
		{name: "bad boot env", env: map[string]string{"FAKEMETABASE_BOOT_SECONDS": "soon"}, wantErr: "FAKEMETABASE_BOOT_SECONDS"},
		{name: "negative boot flag", args: []string{"--boot-seconds=-1"}, wantErr: "--boot-seconds"},
		{name: "bad exit env", env: map[string]string{"FAKEMETABASE_EXIT_AFTER": "later"}, wantErr: "FAKEMETABASE_EXIT_AFTER"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(tc.args, tc.env, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// eventually polls cond every 20 ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var listening = regexp.MustCompile(`Metabase listening on (\S+)`)

// start runs the command in the background and returns its base URL and exit code channel.
func start(t *testing.T, ctx context.Context, args []string, env map[string]string) (string, *syncbuf.Buffer, chan int) {
	t.Helper()
	out := &syncbuf.Buffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, args, env, out) }()
	var base string
	eventually(t, 10*time.Second, "the listening line", func() bool {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1]
			return true
		}
		select {
		case c := <-code:
			t.Fatalf("exited early with %d: %s", c, out)
		default:
		}
		return false
	})
	return base, out, code
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestRunBootsSetsUpAndSavesOnShutdown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const setupToken = "6a3f0c1e-1111-4222-8333-944455556666"
	env := map[string]string{"MB_SETUP_TOKEN": setupToken, "MB_SITE_URL": "http://localhost:3000",
		"MB_DB_FILE": filepath.Join(dir, "metabase.db")}
	base, out, code := start(t, ctx, []string{"--addr", "127.0.0.1:0", "--boot-seconds", "2"}, env)

	// Boot: 503 with growing progress, then 200.
	var progress []float64
	eventually(t, 15*time.Second, "health 200", func() bool {
		status, m := getJSON(t, base+"/api/health")
		if status == http.StatusServiceUnavailable {
			if m["status"] != "initializing" {
				t.Fatalf("booting health = %v", m)
			}
			progress = append(progress, m["progress"].(float64))
		}
		return status == http.StatusOK
	})
	if len(progress) == 0 || progress[0] >= 1 {
		t.Fatalf("never saw the initializing answer before ready: %v", progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Fatalf("progress went backwards: %v", progress)
		}
	}

	_, props := getJSON(t, base+"/api/session/properties")
	if props["setup-token"] != setupToken || props["site-url"] != "http://localhost:3000" {
		t.Fatalf("properties: setup-token=%v site-url=%v, want the env values", props["setup-token"], props["site-url"])
	}
	body := `{"token":"` + setupToken + `","user":{"email":"a@example.com","password":"Sup3r-secret-pw"},"prefs":{"site_name":"X"}}`
	resp, err := http.Post(base+"/api/setup", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("setup: %v %v", resp, err)
	}
	resp.Body.Close()

	cancel() // SIGTERM
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit code %d after SIGTERM, want 0: %s", c, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGTERM")
	}
	if fi, err := os.Stat(env["MB_DB_FILE"] + ".mv.db"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("app database after shutdown: %v %v", fi, err)
	}
	log := out.String()
	for _, want := range []string{"Metabase " + metabasetest.DefaultVersion + " (fake) starting...", "Emulating Metabase generation 5 (v1.64.1)", "Metabase Initialization progress: 0%",
		"Metabase Initialization COMPLETE", "Metabase Shutdown COMPLETE"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "Sup3r-secret-pw") || strings.Contains(log, setupToken) {
		t.Errorf("log leaks a secret:\n%s", log)
	}

	// The same file brings the admin back.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	base2, _, code2 := start(t, ctx2, []string{"--addr", "127.0.0.1:0"}, env)
	if _, props := getJSON(t, base2+"/api/session/properties"); props["has-user-setup"] != true {
		t.Errorf("restart from MB_DB_FILE lost the admin: has-user-setup=%v", props["has-user-setup"])
	}
	cancel2()
	<-code2
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"simulated crash", []string{"--addr", "127.0.0.1:0", "--exit-after", "100ms"}, nil, exitCrashed},
		{"crash from env", []string{"--addr", "127.0.0.1:0"}, map[string]string{"FAKEMETABASE_EXIT_AFTER": "100ms"}, exitCrashed},
		{"bad flag", []string{"--bogus"}, nil, exitUsage},
		{"deprecated env combo", nil, map[string]string{"MB_ENABLE_EMBEDDING": "true", "MB_ENABLE_EMBEDDING_INTERACTIVE": "true"}, exitUsage},
		{"unusable address", []string{"--addr", "256.0.0.1:0"}, nil, exitFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := &syncbuf.Buffer{}
			code := make(chan int, 1)
			go func() { code <- run(context.Background(), tc.args, tc.env, out) }()
			select {
			case c := <-code:
				if c != tc.want {
					t.Errorf("exit code %d, want %d: %s", c, tc.want, out)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("did not exit within 10s")
			}
		})
	}
}
