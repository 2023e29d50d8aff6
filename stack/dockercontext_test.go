package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeContext puts a context into a fake docker CLI config dir the way `docker context create` does.
func writeContext(t *testing.T, dir, name, host string, tls bool) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	meta := filepath.Join(dir, "contexts", "meta", id)
	if err := os.MkdirAll(meta, 0o700); err != nil {
		t.Fatal(err)
	}
	body := `{"Name":"` + name + `","Metadata":{"Description":""},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if tls {
		if err := os.MkdirAll(filepath.Join(dir, "contexts", "tls", id, "docker"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func TestResolveEndpoint(t *testing.T) {
	dir := t.TempDir()
	writeContext(t, dir, "colima", "unix:///Users/u/.colima/default/docker.sock", false)
	writeContext(t, dir, "remote", "tcp://10.0.0.5:2376", true)
	cfgCurrent := func(name string) string {
		d := t.TempDir()
		if err := os.CopyFS(d, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "config.json"), []byte(`{"auths":{},"currentContext":"`+name+`"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		return d
	}
	withColima := cfgCurrent("colima")
	withMissing := cfgCurrent("gone")
	badJSON := t.TempDir()
	os.WriteFile(filepath.Join(badJSON, "config.json"), []byte("{"), 0o600)

	tests := []struct {
		name    string
		env     map[string]string
		want    Endpoint
		wantErr []string
	}{
		{"nothing set", map[string]string{"DOCKER_CONFIG": t.TempDir()}, Endpoint{Context: "default", Source: "default"}, nil},
		{"DOCKER_HOST wins over everything", map[string]string{"DOCKER_HOST": "tcp://1.2.3.4:2375", "DOCKER_CONTEXT": "colima", "DOCKER_CONFIG": withColima},
			Endpoint{Context: "default", Host: "tcp://1.2.3.4:2375", Source: "DOCKER_HOST"}, nil},
		{"DOCKER_CONTEXT over config.json", map[string]string{"DOCKER_CONTEXT": "remote", "DOCKER_CONFIG": withColima},
			Endpoint{Context: "remote", Host: "tcp://10.0.0.5:2376", Source: "DOCKER_CONTEXT"}, nil},
		{"current context from config.json", map[string]string{"DOCKER_CONFIG": withColima},
			Endpoint{Context: "colima", Host: "unix:///Users/u/.colima/default/docker.sock", Source: "docker context use, in " + filepath.Join(withColima, "config.json")}, nil},
		{"DOCKER_CONTEXT=default", map[string]string{"DOCKER_CONTEXT": "default", "DOCKER_CONFIG": withColima}, Endpoint{Context: "default", Source: "default"}, nil},
		{"HOME/.docker when DOCKER_CONFIG is unset", map[string]string{"HOME": filepath.Dir(withColima + "/x")}, Endpoint{}, nil},
		{"unknown context", map[string]string{"DOCKER_CONFIG": withMissing}, Endpoint{}, []string{`docker context "gone"`, "not in the context store", "docker context use"}},
		{"config.json not JSON", map[string]string{"DOCKER_CONFIG": badJSON}, Endpoint{}, []string{"is not JSON", "DOCKER_HOST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveEndpoint(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("ResolveEndpoint = %+v, want an error", got)
				}
				if missing := containsAll(err.Error(), tt.wantErr...); len(missing) > 0 {
					t.Errorf("error %q lacks %q", err, missing)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "HOME/.docker when DOCKER_CONFIG is unset" {
				return // checked below with a real ~/.docker layout
			}
			got.TLSDir = ""
			if got != tt.want {
				t.Errorf("ResolveEndpoint = %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("HOME/.docker", func(t *testing.T) {
		home := t.TempDir()
		if err := os.CopyFS(filepath.Join(home, ".docker"), os.DirFS(withColima)); err != nil {
			t.Fatal(err)
		}
		got, err := ResolveEndpoint(func(k string) string { return map[string]string{"HOME": home}[k] })
		if err != nil || got.Context != "colima" || !strings.HasSuffix(got.Source, filepath.Join(home, ".docker", "config.json")) {
			t.Errorf("ResolveEndpoint with HOME = %+v, %v; want the colima context from ~/.docker", got, err)
		}
	})
	t.Run("TLS material of a context", func(t *testing.T) {
		got, err := ResolveEndpoint(func(k string) string { return map[string]string{"DOCKER_CONTEXT": "remote", "DOCKER_CONFIG": dir}[k] })
		if err != nil || got.TLSDir == "" || !strings.HasPrefix(got.TLSDir, filepath.Join(dir, "contexts", "tls")) {
			t.Errorf("ResolveEndpoint = %+v, %v; want the context's TLS dir", got, err)
		}
	})
}

func TestEndpointFix(t *testing.T) {
	tests := []struct {
		ep   Endpoint
		want []string
	}{
		{Endpoint{Context: "colima", Host: "unix:///x.sock", Source: "DOCKER_CONTEXT"}, []string{"colima start", "docker context use default", "docker --context colima info"}},
		{Endpoint{Context: "default", Host: "tcp://1.2.3.4:2375", Source: "DOCKER_HOST"}, []string{"check DOCKER_HOST (tcp://1.2.3.4:2375)", "unset it"}},
		{Endpoint{Context: "box", Host: "ssh://me@box", Source: "DOCKER_CONTEXT"}, []string{"ssh", "DOCKER_HOST=unix://"}},
	}
	for _, tt := range tests {
		if missing := containsAll(tt.ep.Fix(), tt.want...); len(missing) > 0 {
			t.Errorf("%v: Fix = %q lacks %q", tt.ep, tt.ep.Fix(), missing)
		}
	}
	if _, err := newDocker(Endpoint{Context: "box", Host: "ssh://me@box", Source: "DOCKER_CONTEXT"}); err == nil || !strings.Contains(err.Error(), "ssh") {
		t.Errorf("newDocker(ssh) = %v, want an error naming ssh", err)
	}
}

// TestNewUsesTheContext: a Stack built while DOCKER_CONTEXT names a context talks to that context's
// endpoint and says so.
func TestNewUsesTheContext(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(t.TempDir(), "colima.sock")
	writeContext(t, dir, "colima", "unix://"+sock, false)
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_CONTEXT", "colima")
	s, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ep := s.Endpoint(); ep.Context != "colima" || ep.Host != "unix://"+sock || s.eng.host() != "unix://"+sock {
		t.Errorf("Endpoint = %+v, engine host %s; want the colima context's socket", ep, s.eng.host())
	}
	c := check(t, s.Preflight(testContext(t)), "docker")
	if c.OK || !strings.Contains(c.Detail, `context "colima" (DOCKER_CONTEXT)`) || !strings.Contains(c.Fix, "colima start") {
		t.Errorf("docker check = %+v; want it to name the context and say how to start it", c)
	}
	_, err = s.Up(testContext(t), nil)
	if !errors.Is(err, ErrDaemonUnreachable) || !strings.Contains(err.Error(), `context "colima" (DOCKER_CONTEXT) at unix://`+sock) || !strings.Contains(said(err), "colima start") {
		t.Errorf("Up through a stopped context = %v; want ErrDaemonUnreachable naming the context, its endpoint and what to try", err)
	}
}
