package hostapp

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// loopbackHosts are always answered: the names a browser on this machine uses for a loopback listener.
var loopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// allowedHosts is the list of host names the app answers to: the loopback names, the host of hostAppURL
// and extra. Names are compared without port and case-insensitively; a trailing dot (an absolute DNS name)
// is dropped.
func allowedHosts(hostAppURL string, extra []string) ([]string, error) {
	hosts := append([]string(nil), loopbackHosts...)
	if hostAppURL != "" {
		u, err := url.Parse(hostAppURL)
		if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return hosts, fmt.Errorf("HostAppURL %q is not an http(s) URL with a host: use the host app's address, e.g. http://localhost:8080", hostAppURL)
		}
		hosts = append(hosts, normalHost(u.Hostname()))
	}
	for _, h := range extra {
		n := normalHost(strings.Trim(strings.TrimSpace(h), "[]"))
		if n == "" || strings.ContainsAny(n, "/:@ ") && net.ParseIP(n) == nil {
			return hosts, fmt.Errorf("AllowedHosts %q: give a host name or IP address without scheme or port, e.g. demo.example.com", h)
		}
		hosts = append(hosts, n)
	}
	return hosts, nil
}

func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// hostAllowed reports whether the request's Host header (host[:port]) names this app. An empty Host (an
// HTTP/1.0 request without one) is refused too: every browser sends it.
func (s *settings) hostAllowed(hostport string) bool {
	h := hostport
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i] // drop the port; "[::1]:8080" → "[::1]"
	}
	h = normalHost(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) // no allocation for a lower-case name
	if h == "" {
		return false
	}
	for _, ok := range s.hosts {
		if ok == h {
			return true
		}
	}
	return false
}

// misdirected answers a request for a host name the app was not configured with. The body names the
// names it does answer to, so that someone who reached it through a new name knows what to configure.
func (a *App) misdirected(w http.ResponseWriter, r *http.Request) {
	a.s.log.Warn("refused Host header", "host", r.Host, "ip", clientIP(r))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusMisdirectedRequest)
	fmt.Fprintf(w, "421 Misdirected Request: this host app answers only to %s, not to the host name in this request.\n"+
		"If you reach it under another name, add that name to the host app's allowed hosts.\n", strings.Join(a.s.hosts, ", "))
}
