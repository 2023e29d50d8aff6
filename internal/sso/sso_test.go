package sso

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestSignIsWhatMetabaseReads(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	key := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	tok, err := Sign(key, Identity{Email: "rene@acme.example", FirstName: "Rene", LastName: "Mueller", Groups: []string{"Customer-Acme"}, AccountID: "28"}, now)
	if err != nil {
		t.Fatal(err)
	}
	var got jwt.MapClaims
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return now })).
		ParseWithClaims(tok, &got, func(*jwt.Token) (any, error) { return key, nil })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"email": "rene@acme.example", "first_name": "Rene", "last_name": "Mueller",
		"account_id": "28", // a string: Metabase compares attributes as strings
		"iat":        float64(now.Unix()), "exp": float64(now.Add(10 * time.Minute).Unix()),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("claim %s = %#v, want %#v", k, got[k], v)
		}
	}
	if g, _ := got["groups"].([]any); len(g) != 1 || g[0] != "Customer-Acme" {
		t.Errorf("groups = %#v", got["groups"])
	}

	tok, _ = Sign(key, Identity{Email: "x@example.com"}, now)
	got = jwt.MapClaims{}
	jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return now })).ParseWithClaims(tok, &got, func(*jwt.Token) (any, error) { return key, nil })
	if g, ok := got["groups"].([]any); !ok || len(g) != 0 {
		t.Errorf("a user of no tenant must sign groups: [] (not null), got %#v", got["groups"])
	}
}

func TestApply(t *testing.T) {
	o := NewUIOptions(map[string]string{"top_nav": "false", "logo": "false"})
	for _, tc := range []struct{ in, want string }{
		{"/dashboard/1", "/dashboard/1?logo=false&top_nav=false"},
		{"", "?logo=false&top_nav=false"},
		{"/question/2?a=1", "/question/2?a=1&logo=false&top_nav=false"},
		{"/dashboard/1?logo=true", "/dashboard/1?logo=true&top_nav=false"}, // the path's own choice wins
		{"/dashboard/1#tab", "/dashboard/1?logo=false&top_nav=false#tab"},
		{"/dashboard/1?top_nav=true&logo=true", "/dashboard/1?top_nav=true&logo=true"},
	} {
		if got := o.Apply(tc.in); got != tc.want {
			t.Errorf("Apply(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := NewUIOptions(map[string]string{"locale": "es"}).Query(); got != "locale=es" {
		t.Errorf("Query = %q", got)
	}
	if got := NewUIOptions(nil).Apply("/dashboard/1"); got != "/dashboard/1" {
		t.Errorf("no options: %q", got)
	}
}
