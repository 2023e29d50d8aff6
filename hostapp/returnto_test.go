package hostapp

import (
	"net/url"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/internal/sso"
)

// goodReturnTo are return_to values a user may send, and what Metabase then gets (with the default UI options).
var goodReturnTo = []struct{ in, want string }{
	{"", "/dashboard/1?logo=false&top_nav=false"},
	{"/dashboard/1", "/dashboard/1?logo=false&top_nav=false"},
	{"/dashboard/1?", "/dashboard/1?logo=false&top_nav=false"},
	{"/", "/?logo=false&top_nav=false"},
	{"/dashboard/2?tab=5-overview", "/dashboard/2?tab=5-overview&logo=false&top_nav=false"},
	{"/dashboard/1?logo=true", "/dashboard/1?logo=true&top_nav=false"},
	{"/dashboard/1?top_nav=true&logo=true", "/dashboard/1?top_nav=true&logo=true"},
	{"/dashboard/1?search=true&top_nav=true", "/dashboard/1?search=true&top_nav=true&logo=false"},
	{"/question/5-invoices", "/question/5-invoices?logo=false&top_nav=false"},
	{"/question#eyJkYXRhc2V0X3F1ZXJ5Ijp7fX0=", "/question?logo=false&top_nav=false#eyJkYXRhc2V0X3F1ZXJ5Ijp7fX0="},
	{"/dashboard/1#refresh=60", "/dashboard/1?logo=false&top_nav=false#refresh=60"},
	{"/collection/root", "/collection/root?logo=false&top_nav=false"},
	{"/dashboard/1?date=2024-01-01~2024-12-31", "/dashboard/1?date=2024-01-01~2024-12-31&logo=false&top_nav=false"},
	{"/dashboard/1?category=A%2FB", "/dashboard/1?category=A%2FB&logo=false&top_nav=false"},
	{"/dashboard/entity/Hm7x_Ab12?tab=x", "/dashboard/entity/Hm7x_Ab12?tab=x&logo=false&top_nav=false"},
	{"/browse/databases", "/browse/databases?logo=false&top_nav=false"},
	{"/search?q=invoices+2024", "/search?q=invoices+2024&logo=false&top_nav=false"},
	{"/question/1?x=1&x=2", "/question/1?x=1&x=2&logo=false&top_nav=false"},
	{"/question/5-revenue-%C3%A9", "/question/5-revenue-%C3%A9?logo=false&top_nav=false"},
	{"/dashboard/1?locale=es", "/dashboard/1?locale=es&logo=false&top_nav=false"},
	{"/model/3:invoices", "/model/3:invoices?logo=false&top_nav=false"},
	{"/dashboard/1?a=%20b", "/dashboard/1?a=%20b&logo=false&top_nav=false"},
	{"/dashboard/1?next=//evil.example", "/dashboard/1?next=//evil.example&logo=false&top_nav=false"}, // a query value, still on Metabase
}

// hostileReturnTo are refused: each could send the browser off Metabase, or be decoded into something that does.
var hostileReturnTo = []string{
	"https://evil.example/", "http://metabase.test:3000/dashboard/1", "//evil.example", "///evil.example",
	`/\evil.example`, `\\evil.example`, `/dashboard/1\..\x`, "javascript:alert(1)", "JaVaScRiPt:alert(1)",
	"data:text/html,<script>alert(1)</script>", "/%2F%2Fevil.example", "/%2f%2fevil.example", "/%5Cevil.example",
	"/%255C%255Cevil.example", "/%252F%252Fevil.example", "/\t/evil.example", "/\n/evil.example", "/%09/evil.example",
	"/%0d%0aSet-Cookie:x=1", "/dashboard/../../evil", "/dashboard/%2e%2e/admin", "/.", "/..", " /dashboard/1",
	"/dashboard/1 ", "evil.example/dashboard", "/dash\x00board", "/é", "/%", "/%zz", "/dashboard/1?x=%5C",
	"/<script>", "/dashboard/1?next=%0a", "http:/evil.example", "/" + strings.Repeat("a", maxPathLen),
}

func TestLocalPath(t *testing.T) {
	for _, tt := range goodReturnTo {
		if tt.in == "" {
			continue // absent return_to means the dashboard; an empty path itself is refused
		}
		if err := localPath(tt.in); err != nil {
			t.Errorf("localPath(%q) = %v, want accepted", tt.in, err)
		}
	}
	for _, in := range append(hostileReturnTo, "") {
		err := localPath(in)
		if err == nil {
			t.Errorf("localPath(%q) accepted, want refused", in)
			continue
		}
		// The reason is shown to the user: it must say something, in printable text.
		if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\x00\t\n\r") {
			t.Errorf("localPath(%q) reason %q is not printable", in, msg)
		}
	}
}

// FuzzLocalPath checks the property behind return_to and next: whatever localPath accepts, with or without
// the UI options, stays on Metabase's origin as url.Parse resolves it, as a browser reads it (dropping
// tabs and newlines, "\" as "/") and after one more decoding.
func FuzzLocalPath(f *testing.F) {
	for _, g := range goodReturnTo {
		f.Add(g.in)
	}
	for _, h := range hostileReturnTo {
		f.Add(h)
	}
	base, _ := url.Parse("http://metabase.test:3000/")
	s := &settings{options: sso.NewUIOptions(map[string]string{"logo": "false", "top_nav": "false"})}
	browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/")
	f.Fuzz(func(t *testing.T, p string) {
		if localPath(p) != nil {
			return
		}
		for _, cand := range []string{p, s.options.Apply(p)} {
			// Options may push a path at the length bound over it; the composed value is never checked again.
			if err := localPath(cand); err != nil && len(cand) <= maxPathLen {
				t.Fatalf("options.Apply(%q) = %q, which localPath refuses: %v", p, cand, err)
			}
			u, err := base.Parse(cand)
			if err != nil {
				t.Fatalf("accepted %q does not parse: %v", cand, err)
			}
			if u.Scheme != base.Scheme || u.Host != base.Host || u.User != nil {
				t.Fatalf("accepted %q resolves to %s, off Metabase's origin", cand, u)
			}
			if seen := browser.Replace(cand); !strings.HasPrefix(seen, "/") || strings.HasPrefix(seen, "//") {
				t.Fatalf("accepted %q reads as %q in a browser", cand, seen)
			}
			path, _, _ := strings.Cut(cand, "?")
			path, _, _ = strings.Cut(path, "#")
			if dec, err := url.PathUnescape(path); err == nil && (strings.HasPrefix(dec, "//") || strings.ContainsAny(dec, "\\\t\n\r")) {
				t.Fatalf("accepted %q decodes to %q", cand, dec)
			}
			if back, err := url.QueryUnescape(url.QueryEscape(cand)); err != nil || back != cand {
				t.Fatalf("accepted %q does not survive URL-encoding into return_to: %q", cand, back)
			}
		}
	})
}
