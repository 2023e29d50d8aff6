package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Endpoint is the Docker daemon the stack talks to and how it was chosen, for doctor and preflight.
type Endpoint struct {
	Context       string // the docker context name; "default" when DOCKER_HOST or nothing chose one
	Host          string // e.g. unix:///var/run/docker.sock, tcp://…, ssh://…
	Source        string // what chose it: "DOCKER_HOST", "DOCKER_CONTEXT", "docker context use (<config.json>)", "default"
	TLSDir        string // the context's TLS material (ca.pem, cert.pem, key.pem), "" if none
	SkipTLSVerify bool
}

// String is e.g. `context "colima" (docker context use) at unix:///…/docker.sock`.
func (e Endpoint) String() string {
	host := e.Host
	if host == "" {
		host = "the default socket"
	}
	return fmt.Sprintf("context %q (%s) at %s", e.Context, e.Source, host)
}

// ResolveEndpoint chooses the daemon the way the docker CLI does (cli/command/cli.go resolveContextName
// and the context store): DOCKER_HOST wins, then DOCKER_CONTEXT, then the currentContext of the CLI's
// config.json ($DOCKER_CONFIG, else ~/.docker), else the default. A named context's endpoint comes from
// the store, contexts/meta/<sha256 of the name>/meta.json. getenv is os.Getenv outside tests.
func ResolveEndpoint(getenv func(string) string) (Endpoint, error) {
	if h := getenv("DOCKER_HOST"); h != "" {
		return Endpoint{Context: "default", Host: h, Source: "DOCKER_HOST"}, nil
	}
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		dir = filepath.Join(home, ".docker")
	}
	name, source := getenv("DOCKER_CONTEXT"), "DOCKER_CONTEXT"
	if name == "" {
		cfgPath := filepath.Join(dir, "config.json")
		b, err := os.ReadFile(cfgPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return Endpoint{}, fmt.Errorf("read the docker CLI's config %s: %w", cfgPath, err)
		default:
			var cfg struct {
				CurrentContext string `json:"currentContext"`
			}
			if err := json.Unmarshal(b, &cfg); err != nil {
				return Endpoint{}, fmt.Errorf("the docker CLI's config %s is not JSON (%v): fix or remove it, or set DOCKER_HOST", cfgPath, err)
			}
			name, source = cfg.CurrentContext, "docker context use, in "+cfgPath
		}
	}
	if name == "" || name == "default" {
		return Endpoint{Context: "default", Source: "default"}, nil
	}
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	metaPath := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return Endpoint{}, fmt.Errorf("docker context %q (from %s) is not in the context store (%w): "+
			"run `docker context ls` and `docker context use <name>`, or set DOCKER_CONTEXT or DOCKER_HOST", name, source, err)
	}
	var meta struct {
		Endpoints map[string]struct {
			Host          string
			SkipTLSVerify bool
		}
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return Endpoint{}, fmt.Errorf("docker context %q: %s is not JSON (%v): recreate the context with `docker context create`", name, metaPath, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok || ep.Host == "" {
		return Endpoint{}, fmt.Errorf("docker context %q has no Docker endpoint (%s): `docker context inspect %s` shows it; choose another with `docker context use`", name, metaPath, name)
	}
	out := Endpoint{Context: name, Host: ep.Host, Source: source, SkipTLSVerify: ep.SkipTLSVerify}
	if tls := filepath.Join(dir, "contexts", "tls", id, "docker"); isDir(tls) {
		out.TLSDir = tls
	}
	return out, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Fix says what to try when the endpoint does not answer.
func (e Endpoint) Fix() string {
	switch {
	case strings.HasPrefix(e.Host, "ssh://"):
		return "ssh endpoints need the docker CLI's ssh helper, which embedwizard does not have: forward the remote socket " +
			"(ssh -L /tmp/docker.sock:/var/run/docker.sock …) and set DOCKER_HOST=unix:///tmp/docker.sock"
	case e.Source == "DOCKER_HOST":
		return "check DOCKER_HOST (" + e.Host + "), or unset it to use the current docker context; `docker info` should answer with the same setting"
	case e.Context != "default":
		return fmt.Sprintf("start the engine behind context %q (Colima: colima start; OrbStack, Rancher Desktop, Podman: start the app or `podman machine start`), "+
			"or switch with `docker context use default`; `docker --context %s info` should answer", e.Context, e.Context)
	}
	return ""
}
