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

// TestReturnToParam: return_to as the iframe's link sends it (encoded whole) and as Metabase's /auth/sso
// sends it to the identity provider when it has no jwt (appended unencoded, so its own query splits into
// more parameters). Every UI option survives.
func TestReturnToParam(t *testing.T) {
	tests := []struct{ name, raw, want, wantErr string }{
		{"absent", "", "", ""},
		{"empty", "return_to=", "", ""},
		{"encoded whole", "return_to=" + url.QueryEscape("/dashboard/1?logo=false&top_nav=false"), "/dashboard/1?logo=false&top_nav=false", ""},
		{"from Metabase, split in two", "return_to=/dashboard/1?logo=false&top_nav=false", "/dashboard/1?logo=false&top_nav=false", ""},
		{"from Metabase, all nine options", "return_to=/dashboard/1?logo=false&top_nav=false&search=false&new_button=false&side_nav=false&header=false&additional_info=false&breadcrumbs=false&action_buttons=false",
			"/dashboard/1?logo=false&top_nav=false&search=false&new_button=false&side_nav=false&header=false&additional_info=false&breadcrumbs=false&action_buttons=false", ""},
		{"from Metabase, no query", "return_to=/question/5", "/question/5", ""},
		{"from Metabase, a plus stays a plus", "return_to=/search?q=invoices+2024&logo=false", "/search?q=invoices+2024&logo=false", ""},
		{"from Metabase, browser-encoded space", "return_to=/search?q=a%20b&top_nav=false", "/search?q=a%20b&top_nav=false", ""},
		{"identity provider URI with its own query", "tenant=acme&return_to=/dashboard/1?logo=false&top_nav=false", "/dashboard/1?logo=false&top_nav=false", ""},
		{"encoded, options split off after it", "return_to=%2Fdashboard%2F1&logo=false&top_nav=false", "/dashboard/1?logo=false&top_nav=false", ""},
		{"encoded with a query, option after it", "return_to=%2Fdashboard%2F1%3Ftab%3D2&logo=false", "/dashboard/1?tab=2&logo=false", ""},
		{"encoded with a fragment, option after it", "return_to=%2Fquestion%23abc&logo=false", "/question?logo=false#abc", ""},
		{"from Metabase, an & in the path", "return_to=/a&b", "/a&b", ""},
		{"encoded, trailing question mark, option after it", "return_to=%2Fdashboard%2F1%3F&logo=false", "/dashboard/1?logo=false", ""},
		{"first return_to wins, later ones are its query", "return_to=/a?x=1&return_to=/b", "/a?x=1&return_to=/b", ""},
		{"bad escape", "return_to=%zz", "", "not URL-encoded"},
		{"only options after an empty return_to", "return_to=&logo=false", "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := returnToParam(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("returnToParam(%q) = %q, %v; want an error about %q", tt.raw, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("returnToParam(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}

// FuzzReturnToParam: any path localPath accepts (a browser sends no fragment) comes back whole, whether
// it arrives encoded or as Metabase sends it; and whatever a raw query yields that localPath accepts stays
// on Metabase's origin once the options are applied.
func FuzzReturnToParam(f *testing.F) {
	for _, g := range goodReturnTo {
		f.Add(g.in)
		f.Add("return_to=" + g.in)
	}
	for _, h := range hostileReturnTo {
		f.Add("return_to=" + h)
	}
	base, _ := url.Parse("http://metabase.test:3000/")
	opts := sso.NewUIOptions(map[string]string{"logo": "false", "top_nav": "false"})
	f.Fuzz(func(t *testing.T, s string) {
		if p, _, _ := strings.Cut(s, "#"); localPath(p) == nil {
			for _, raw := range []string{"return_to=" + url.QueryEscape(p), "return_to=" + p} {
				if got, err := returnToParam(raw); err != nil || got != p {
					t.Fatalf("returnToParam(%q) = %q, %v; want %q back", raw, got, err, p)
				}
			}
		}
		got, err := returnToParam(s)
		if err != nil || got == "" || localPath(got) != nil {
			return
		}
		u, err := base.Parse(opts.Apply(got))
		if err != nil || u.Host != base.Host || u.Scheme != base.Scheme || u.User != nil {
			t.Fatalf("returnToParam(%q) = %q resolves off Metabase: %v %v", s, got, u, err)
		}
	})
}
