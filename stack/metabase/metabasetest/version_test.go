package metabasetest

import (
	"strings"
	"testing"
)

// TestGenerationOf: every tag lands on the generation at or below its major line, and a tag that is not a
// generation's own says which one it got.
func TestGenerationOf(t *testing.T) {
	tests := []struct {
		tag     string
		want    Generation
		noteHas string // "" = no note
	}{
		{"v1.52.4", Gen52, ""},
		{"v1.55.9", Gen55, ""},
		{"v1.57.6", Gen57, ""},
		{"v1.60.3", Gen60, ""},
		{"v1.64.1", Gen64, ""},
		{"", Gen64, ""},
		{"v0.57.6", Gen57, "nearest"}, // the OSS build of the same line
		{"v1.58.2", Gen57, "nearest"},
		{"v1.63.1", Gen60, "nearest"},
		{"v1.66.0-beta", Gen64, "nearest"},
		{"v1.50.3", Gen52, "older than every"},
		{"latest", Gen64, "newest"},
		{"banana", Gen64, "not a Metabase tag"},
	}
	for _, tc := range tests {
		g, note := GenerationOf(tc.tag)
		if g != tc.want {
			t.Errorf("GenerationOf(%q) = %s, want %s", tc.tag, g, tc.want)
		}
		if tc.noteHas == "" && note != "" || tc.noteHas != "" && !strings.Contains(note, tc.noteHas) {
			t.Errorf("GenerationOf(%q) note = %q, want it to contain %q", tc.tag, note, tc.noteHas)
		}
	}
}

// TestPropertiesReportTheTag: the emulator reports the tag it was given, and answers as its generation.
func TestPropertiesReportTheTag(t *testing.T) {
	for _, tag := range []string{"v1.58.2", "v1.64.1"} {
		s := NewServer(Options{Version: tag})
		props := newRawClient(t, s.URL).obj(200, "GET", "/api/session/properties", nil)
		if got := props["version"].(map[string]any)["tag"]; got != tag {
			t.Errorf("version.tag = %v, want %s", got, tag)
		}
		_, tenants := props["token-features"].(map[string]any)["tenants"]
		if tenants != (s.Generation() >= Gen64) {
			t.Errorf("%s: token-features.tenants present = %v", tag, tenants)
		}
		s.Close()
	}
}
