package hostapp

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// maxPathLen bounds return_to and next; Metabase paths are short, and a bound keeps the check cheap.
const maxPathLen = 2048

// localPath accepts only a path on the same origin: "/dashboard/1?tab=2#x". It is the single check behind
// return_to (a Metabase path) and next (a host-app path), so an open redirect has one place to hide.
//
// Browsers are more forgiving than url.Parse: they drop tabs and newlines, read "\" as "/" and decode "%2e"
// as "."; so anything a browser could turn into "//host" is refused, not cleaned up: raw control characters,
// spaces and non-ASCII, backslashes in any form, encoded "/" and "." in the path, double encoding ("%25"),
// and dot segments.
func localPath(p string) error {
	switch {
	case p == "":
		return errors.New("it is empty")
	case len(p) > maxPathLen:
		return fmt.Errorf("it is longer than %d characters", maxPathLen)
	case p[0] != '/':
		return errors.New("it must be a path starting with \"/\", not a URL")
	case len(p) > 1 && (p[1] == '/' || p[1] == '\\'):
		return errors.New("it starts with \"//\", which browsers read as another host")
	}
	inPath := true
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '?' || c == '#':
			inPath = false
		case c == '\\':
			return fmt.Errorf("it contains a backslash at position %d", i+1)
		case c <= ' ' || c >= 0x7f:
			return fmt.Errorf("it contains the character %q at position %d: encode it or remove it", rune(c), i+1)
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return fmt.Errorf("it has a malformed %%-escape at position %d", i+1)
			}
			if err := escaped(unhex(p[i+1])<<4|unhex(p[i+2]), inPath); err != nil {
				return fmt.Errorf("it contains %q at position %d, %w", p[i:i+3], i+1, err)
			}
			i += 2
		case !isURLChar(c, inPath):
			return fmt.Errorf("it contains the character %q at position %d, which is not allowed there", rune(c), i+1)
		}
	}
	path, _, _ := strings.Cut(p, "?")
	path, _, _ = strings.Cut(path, "#")
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return errors.New("it contains a \".\" or \"..\" segment")
		}
	}
	return nil
}

// escaped refuses the %-escapes that decode to something a browser or a second decoder could turn into
// another host or another path.
func escaped(b byte, inPath bool) error {
	switch {
	case b < ' ' || b == 0x7f:
		return errors.New("an encoded control character")
	case b == '\\':
		return errors.New("an encoded backslash")
	case b == '%':
		return errors.New("which is double encoding")
	case inPath && (b == '/' || b == '.'):
		return errors.New("an encoded \"/\" or \".\" in the path")
	}
	return nil
}

// isURLChar reports whether c may appear literally: RFC 3986 pchar in the path, plus "/" and "?" after it.
func isURLChar(c byte, inPath bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		return true
	}
	return !inPath && c == '?'
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// returnToParam is the return_to of /sso/metabase's raw query, with every UI option kept.
//
// Two shapes reach the host app. The iframe's own link encodes return_to whole
// (return_to=%2Fdashboard%2F1%3Flogo%3Dfalse). But when Metabase's /auth/sso is reached without a jwt (its
// session inside the iframe expired), Metabase sends the browser to the identity provider URI — here —
// with its redirect parameter appended as it is, not re-encoded: the redirect-to-idp function in
// enterprise/backend/src/metabase_enterprise/sso/integrations/jwt.clj builds
// (str idp "?return_to=" redirect) from the already-decoded parameter (metabase/metabase, commit
// 00bcab5a40a05455de4513469c3ea2b63bab64b1; the same code in every stored version). So
// /dashboard/1?logo=false&top_nav=false arrives as return_to=/dashboard/1?logo=false and top_nav=false.
//
// The rule: a value starting with a literal "/" is that raw shape, and all of the query after "return_to="
// is the path, taken as it came (decoding it would turn a "+" of the original into a space). Otherwise the
// value is decoded, and any parameters after it (split off by an encoder that stopped short) are appended
// to its query. Parameters before return_to belong to the identity provider URI itself and are ignored.
// An absent or empty return_to is "".
func returnToParam(rawQuery string) (string, error) {
	const key = "return_to="
	var after string // rawQuery from just after the first "return_to="
	found := false
	for i := 0; i < len(rawQuery); {
		if strings.HasPrefix(rawQuery[i:], key) {
			after, found = rawQuery[i+len(key):], true
			break
		}
		j := strings.IndexByte(rawQuery[i:], '&')
		if j < 0 {
			break
		}
		i += j + 1
	}
	if !found || after == "" {
		return "", nil
	}
	if strings.HasPrefix(after, "/") {
		return after, nil // Metabase's shape: all of the rest is the path, "&"s and all
	}
	val, rest, _ := strings.Cut(after, "&")
	p, err := url.QueryUnescape(val)
	if err != nil {
		return "", fmt.Errorf("it is not URL-encoded properly (%w)", err)
	}
	if rest == "" {
		return p, nil
	}
	if p == "" {
		return "", errors.New("it is empty")
	}
	// Parameters split off after an encoded return_to go into its query, before any fragment.
	head, frag, hasFrag := strings.Cut(p, "#")
	sep := "?"
	if strings.Contains(head, "?") {
		sep = "&"
		if strings.HasSuffix(head, "?") || strings.HasSuffix(head, "&") {
			sep = ""
		}
	}
	p = head + sep + rest
	if hasFrag {
		p += "#" + frag
	}
	return p, nil
}
