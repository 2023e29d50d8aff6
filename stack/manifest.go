package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/distribution/reference"
)

// The engine's pull stream names a layer's size only when that layer's download begins, so a total
// built from it grows as the pull goes. The registry's manifest lists every layer with its size; this
// file reads it anonymously (Docker Hub hands out pull tokens without credentials for public images).
// It is best effort: an image it cannot read (private, odd registry) still pulls, with a total that
// says "at least".

const (
	mediaIndex        = "application/vnd.oci.image.index.v1+json"
	mediaList         = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaOCIManifest  = "application/vnd.oci.image.manifest.v1+json"
	mediaDockerSchema = "application/vnd.docker.distribution.manifest.v2+json"
)

type manifest struct {
	MediaType string `json:"mediaType"`
	Manifests []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Platform  struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
		} `json:"platform"`
	} `json:"manifests"`
	Layers []struct {
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
	} `json:"layers"`
}

// layerSizes maps the engine's short layer ids (the first 12 hex digits of the layer digest) to
// their compressed sizes, for the engine's platform.
func (s *Stack) layerSizes(ctx context.Context, ref string) (map[string]int64, error) {
	named, err := parseImage(ref)
	if err != nil {
		return nil, err
	}
	info, err := s.eng.info(ctx)
	if err != nil {
		return nil, err
	}
	r := registryClient{http: s.http, named: named}
	m, err := r.manifest(ctx, manifestRef(named))
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) > 0 {
		arch := goArch(info.Arch)
		digest := ""
		for _, d := range m.Manifests {
			if d.Platform.OS == info.OSType && d.Platform.Architecture == arch {
				digest = d.Digest
				break
			}
		}
		if digest == "" {
			return nil, fmt.Errorf("no %s/%s image in the index", info.OSType, arch)
		}
		if m, err = r.manifest(ctx, digest); err != nil {
			return nil, err
		}
	}
	if len(m.Layers) == 0 {
		return nil, errors.New("the manifest lists no layers")
	}
	sizes := make(map[string]int64, len(m.Layers))
	for _, l := range m.Layers {
		_, hex, _ := strings.Cut(l.Digest, ":")
		sizes[hex[:min(12, len(hex))]] = l.Size
	}
	return sizes, nil
}

func manifestRef(named reference.Named) string {
	if d, ok := named.(reference.Digested); ok {
		return d.Digest().String()
	}
	if t, ok := named.(reference.Tagged); ok {
		return t.Tag()
	}
	return "latest"
}

// goArch turns the engine's uname architecture (Info.Architecture) into an OCI platform name.
func goArch(a string) string {
	switch a {
	case "x86_64", "":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return a
}

type registryClient struct {
	http  *http.Client
	named reference.Named
	token string
}

// base is the registry's URL. Like the engine, it talks plain HTTP to registries on loopback only.
func (r *registryClient) base() string {
	host := reference.Domain(r.named)
	if host == "docker.io" {
		host = "registry-1.docker.io"
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
		return "http://" + host
	}
	return "https://" + host
}

func (r *registryClient) manifest(ctx context.Context, ref string) (manifest, error) {
	u := r.base() + "/v2/" + reference.Path(r.named) + "/manifests/" + ref
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return manifest{}, err
		}
		req.Header.Set("Accept", strings.Join([]string{mediaIndex, mediaList, mediaOCIManifest, mediaDockerSchema}, ", "))
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		resp, err := r.http.Do(req)
		if err != nil {
			return manifest{}, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return manifest{}, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			if r.token, err = r.anonymousToken(ctx, resp.Header.Get("WWW-Authenticate")); err != nil {
				return manifest{}, err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return manifest{}, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		var m manifest
		if err := json.Unmarshal(body, &m); err != nil {
			return manifest{}, fmt.Errorf("GET %s: %w", u, err)
		}
		return m, nil
	}
}

// anonymousToken follows a Bearer challenge (realm, service, scope) without credentials.
func (r *registryClient) anonymousToken(ctx context.Context, challenge string) (string, error) {
	scheme, params, _ := strings.Cut(challenge, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("the registry wants %q authentication", scheme)
	}
	p := map[string]string{}
	for _, kv := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		p[k] = strings.Trim(v, `"`)
	}
	realm, err := url.Parse(p["realm"])
	if err != nil || realm.Scheme != "https" && realm.Scheme != "http" {
		return "", fmt.Errorf("bad token realm %q", p["realm"])
	}
	q := realm.Query()
	if p["service"] != "" {
		q.Set("service", p["service"])
	}
	if p["scope"] == "" {
		p["scope"] = "repository:" + reference.Path(r.named) + ":pull"
	}
	q.Set("scope", p["scope"])
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token from %s: %s", realm.Host, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t); err != nil {
		return "", err
	}
	if t.Token == "" {
		t.Token = t.AccessToken
	}
	return t.Token, nil
}
