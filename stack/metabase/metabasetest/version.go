package metabasetest

import (
	"fmt"
	"strconv"
	"strings"
)

// Generation is a span of Metabase releases whose API behaves alike for what the quick start uses. The
// emulator answers as its generation does; Options.Version (fakemetabase --metabase-version) selects it.
// What differs per generation, with the source of each fact, is in docs/metabase-api.md §G.
type Generation int

const (
	// Gen52 (v1.52.4): groups have no magic_group_type (Metabase finds its magic groups by name); the JWT's
	// attributes, the groups claim among them, go in login_attributes.
	Gen52 Generation = iota + 1
	// Gen55 (v1.55.9): permissions_group.magic_group_type exists.
	Gen55
	// Gen57 (v1.57.6): JWT attributes go in core_user.jwt_attributes, apart from login_attributes.
	Gen57
	// Gen60 (v1.60.3): the newest generation with the H2 Sample Database; password login may answer with an
	// MFA challenge (opt-in in the emulator, Options.MFA).
	Gen60
	// Gen64 (v1.64.1): SQLite Sample Database (schema nil), example content, the tenants feature (off).
	Gen64
)

// generationTags are the example tags, one per generation, oldest first.
var generationTags = []string{Gen52: "v1.52.4", Gen55: "v1.55.9", Gen57: "v1.57.6", Gen60: "v1.60.3", Gen64: "v1.64.1"}

// Generations lists every generation, oldest first, for table tests.
func Generations() []Generation { return []Generation{Gen52, Gen55, Gen57, Gen60, Gen64} }

// Tag is the example release tag of g ("v1.52.4" for Gen52).
func (g Generation) Tag() string {
	if g < Gen52 || g > Gen64 {
		return ""
	}
	return generationTags[g]
}

// Major is the major line of g's example tag (52 for Gen52).
func (g Generation) Major() int { m, _ := parseTag(g.Tag()); return m }

func (g Generation) String() string {
	if t := g.Tag(); t != "" {
		return fmt.Sprintf("generation %d (%s)", int(g), t)
	}
	return fmt.Sprintf("generation %d", int(g))
}

// DefaultVersion is the Metabase version the emulator reports unless Options.Version says otherwise: the
// newest generation's tag.
const DefaultVersion = "v1.64.1"

// GenerationOf maps a version tag ("v1.57.6", "v0.55.2", "1.61", "latest") to the generation that emulates it:
// the generation whose example tag is nearest at or below the tag's major line, and the oldest for tags below
// every generation. note is empty when tag is one of the example tags; otherwise it says which generation was
// chosen and why, for fakemetabase to print.
func GenerationOf(tag string) (g Generation, note string) {
	if tag == "" || strings.EqualFold(tag, "latest") {
		g = Gen64
		if tag == "" {
			return g, ""
		}
		return g, fmt.Sprintf("version %q: emulating the newest, %s", tag, g)
	}
	major, ok := parseTag(tag)
	if !ok {
		return Gen64, fmt.Sprintf("version %q is not a Metabase tag like v1.57.6: emulating the newest, %s", tag, Gen64)
	}
	g = Gen52
	for _, c := range Generations() {
		if c.Major() <= major {
			g = c
		}
	}
	if strings.TrimPrefix(tag, "v") == strings.TrimPrefix(g.Tag(), "v") {
		return g, ""
	}
	switch {
	case major < Gen52.Major():
		note = fmt.Sprintf("version %s is older than every emulated generation: emulating the oldest, %s", tag, g)
	default:
		note = fmt.Sprintf("version %s is not an emulated generation's tag: emulating the nearest, %s", tag, g)
	}
	return g, note
}

// parseTag returns the major line of "v1.57.6", "v0.57.6", "1.57" or "57.6"-less forms; ok is false when the
// tag does not look like a version.
func parseTag(tag string) (major int, ok bool) {
	t := strings.TrimPrefix(strings.TrimPrefix(tag, "v"), "V")
	if i := strings.IndexAny(t, "-+"); i >= 0 {
		t = t[:i]
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 {
		return 0, false
	}
	if parts[0] != "0" && parts[0] != "1" {
		return 0, false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// versionMajor turns "v1.63.1" or "v0.50.3" into 63 or 50 (0 when the tag does not parse).
func versionMajor(tag string) int { m, _ := parseTag(tag); return m }

// gen is the generation the server emulates, from Options.Version.
func (s *Server) gen() Generation { g, _ := GenerationOf(s.opts.Version); return g }

// Generation reports the generation the server emulates.
func (s *Server) Generation() Generation { return s.gen() }
