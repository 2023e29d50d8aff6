// Package metabase is a typed client of the part of Metabase's HTTP API that the interactive-embedding quick
// start uses. Each method is one call of the contract in metabase-api.md; the section it follows is named in its
// comment. The client knows nothing about the quick start itself: wizard/plan decides what to call and when.
package metabase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Client talks to one Metabase. It is safe for concurrent use; the auth it carries is set by Login, Setup,
// UseSession or UseAPIKey.
type Client struct {
	base *url.URL
	http *http.Client

	mu      sync.RWMutex
	session string
	apiKey  string
	props   *Properties // read once, see Properties
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default HTTP client (30 s timeout per request).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client for the Metabase at baseURL (e.g. http://localhost:3000). It makes no call.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("metabase URL %q: want http(s)://host[:port], e.g. http://localhost:3000", baseURL)
	}
	c := &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// URL is the Metabase base URL, without a trailing slash.
func (c *Client) URL() string { return c.base.String() }

// UseSession authenticates later calls with a session key (X-Metabase-Session).
func (c *Client) UseSession(id string) {
	c.mu.Lock()
	c.session, c.apiKey = id, ""
	c.mu.Unlock()
}

// UseAPIKey authenticates later calls with an API key (X-API-Key, contract §2 "API keys").
func (c *Client) UseAPIKey(key string) {
	c.mu.Lock()
	c.apiKey, c.session = key, ""
	c.mu.Unlock()
}

// Session is the session key in use, "" when none.
func (c *Client) Session() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.session
}

// As returns a client for the same Metabase authenticated with another session key, e.g. a user signed in
// through SSO. It shares the HTTP client, not the cached properties (they depend on who asks).
func (c *Client) As(session string) *Client {
	return &Client{base: c.base, http: c.http, session: session}
}

// APIError is a non-2xx answer from Metabase. Message is Metabase's own: the plain-text body, or the JSON
// body's "message", or its per-field "errors" (contract §0 "Error body shape").
type APIError struct {
	Method   string
	Endpoint string // path, without the query
	Status   int
	Message  string
	// Errors are per-field messages of a 400, flattened to dotted paths: a validation failure of a nested
	// body comes as {"errors": {"user": {"password": "password is too common."}}, "specific-errors": {…}}
	// (metabase.api.macros decode-and-validate-params, asserted by e.g. dashboard_test.clj
	// create-dashboard-validation-test, master 2025), which reads here as Errors["user.password"].
	Errors map[string]string
	// Code is the JSON body's "status" when it is a code such as "error-sso-disabled"
	// (enterprise sso/integrations/jwt_test.clj "SSO requests fail if they don't have a valid premium-features
	// token": 400 {"status": "error-sso-disabled", "message": "SSO has not been enabled and/or configured"}).
	Code string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: Metabase answered %d: %s", e.Method, e.Endpoint, e.Status, msg)
}

// Field returns the message of a field error by its dotted path ("user.password"), also when Metabase
// reported it flat ("password"), as older versions did.
func (e *APIError) Field(path string) string {
	if e == nil {
		return ""
	}
	if m := e.Errors[path]; m != "" {
		return m
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return e.Errors[path[i+1:]]
	}
	return ""
}

// IsStatus reports whether err is an *APIError with the given status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// do sends one request. body is marshalled to JSON unless nil; out, unless nil, receives the JSON answer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	_, err := c.doResp(ctx, method, path, query, body, out)
	return err
}

func (c *Client) doResp(ctx context.Context, method, path string, query url.Values, body, out any) (*http.Response, error) {
	u := *c.base
	u.Path = c.base.Path + path
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.mu.RLock()
	if c.session != "" {
		req.Header.Set("X-Metabase-Session", c.session)
	}
	if c.apiKey != "" {
		req.Header.Set("X-API-Key", c.apiKey)
	}
	c.mu.RUnlock()

	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the URL, which never holds a secret here (they travel in headers and bodies).
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, parseAPIError(method, path, resp.StatusCode, raw)
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp, nil
}

// parseAPIError reads Metabase's error body: plain text, {"message": …} or {"errors": {field: msg}} with
// fields possibly nested ({"errors": {"user": {"password": msg}}}).
func parseAPIError(method, path string, status int, raw []byte) *APIError {
	e := &APIError{Method: method, Endpoint: path, Status: status}
	text := strings.TrimSpace(string(raw))
	var j struct {
		Message json.RawMessage `json:"message"`
		Status  json.RawMessage `json:"status"`
		Errors  map[string]any  `json:"errors"`
		// Specific is never shown: it repeats the value it
		// refused ("received: \"<the password>\"" for a weak setup password).
		Specific json.RawMessage `json:"specific-errors"`
	}
	if strings.HasPrefix(text, "{") && json.Unmarshal(raw, &j) == nil {
		var m string
		if json.Unmarshal(j.Message, &m) == nil {
			e.Message = m
		}
		var code string
		if json.Unmarshal(j.Status, &code) == nil && strings.HasPrefix(code, "error") {
			e.Code = code
		}
		if len(j.Errors) > 0 {
			e.Errors = map[string]string{}
			flattenErrors(e.Errors, "", j.Errors)
			if e.Message == "" {
				keys := slices.Sorted(maps.Keys(e.Errors))
				parts := make([]string, len(keys))
				for i, k := range keys {
					parts[i] = k + ": " + e.Errors[k]
				}
				e.Message = strings.Join(parts, "; ")
			}
		}
		if e.Message == "" && len(j.Specific) > 0 {
			e.Message = "the request was refused as invalid" // its details would repeat what was sent
		}
		if e.Message == "" {
			e.Message = truncate(text, 300)
		}
		return e
	}
	// Plain text, or an HTML error page from a proxy: keep it short.
	e.Message = truncate(text, 300)
	return e
}

// flattenErrors turns nested field errors into dotted paths; a list of messages is joined.
func flattenErrors(out map[string]string, prefix string, v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flattenErrors(out, key, x)
		}
	case []any:
		parts := make([]string, 0, len(t))
		for _, x := range t {
			parts = append(parts, fmt.Sprint(x))
		}
		out[prefix] = strings.Join(parts, ", ")
	case string:
		out[prefix] = t
	case nil:
	default:
		out[prefix] = fmt.Sprint(t)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
