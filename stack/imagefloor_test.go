package stack

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseImageVersion(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		want string // String() of the parsed version, "" = ErrVersionUnknown
	}{
		{"v1.58.31", "v1.58.31"},
		{"v0.63.5", "v0.63.5"},
		{"1.60.24.2", "v1.60.24.2"},
		{"v0.57.2.x", "v0.57.2.x"},
		{"v1.64.0-beta", "v1.64.0-beta"},
		{"v1.46.0-RC1", "v1.46.0-RC1"},
		{"metabase/metabase-enterprise:v1.62.16", "v1.62.16"},
		{"metabase/metabase-enterprise:v1.62.16@sha256:" + strings.Repeat("a", 64), "v1.62.16"},
		{"localhost:5000/metabase/metabase:v0.61.18", "v0.61.18"},
		{"latest", ""},
		{"metabase/metabase-enterprise:latest", ""},
		{"metabase/metabase-enterprise", ""},
		{"localhost:5000/metabase", ""},
		{"metabase/metabase@sha256:" + strings.Repeat("b", 64), ""},
		{"v2.58.31", ""},
		{"v1.58", ""},
		{"dev", ""},
	} {
		v, err := ParseImageVersion(tc.ref)
		switch {
		case tc.want == "" && !errors.Is(err, ErrVersionUnknown):
			t.Errorf("ParseImageVersion(%q) = %v, %v; want ErrVersionUnknown", tc.ref, v, err)
		case tc.want != "" && (err != nil || v.String() != tc.want):
			t.Errorf("ParseImageVersion(%q) = %v, %v; want %s", tc.ref, v, err, tc.want)
		}
	}
}

// Below, at and above each line's floor, in both editions.
func TestFloorPerLine(t *testing.T) {
	floors := map[int]int{58: 31, 59: 28, 60: 24, 61: 18, 62: 16, 63: 13}
	for major, point := range floors {
		for _, edition := range []int{0, 1} {
			at := fmt.Sprintf("v%d.%d.%d", edition, major, point)
			below := fmt.Sprintf("v%d.%d.%d", edition, major, point-1)
			above := fmt.Sprintf("v%d.%d.%d.1", edition, major, point)
			if _, err := CheckImageVersion(at, Allow{}); err != nil {
				t.Errorf("%s (the floor) refused: %v", at, err)
			}
			if _, err := CheckImageVersion(above, Allow{}); err != nil {
				t.Errorf("%s (above the floor) refused: %v", above, err)
			}
			_, err := CheckImageVersion(below, Allow{})
			var ve *VulnerableError
			if !errors.As(err, &ve) || !errors.Is(err, ErrVulnerable) {
				t.Fatalf("%s (below the floor): err = %v, want a *VulnerableError", below, err)
			}
			want := fmt.Sprintf("use v%d.%d.%d or later", edition, major, point)
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "GHSA-") {
				t.Errorf("%s: %q, want the advisory and %q", below, err, want)
			}
		}
	}
}

// The advisory named is the oldest fix the version misses; the others are listed.
func TestFloorNamesTheAdvisory(t *testing.T) {
	for _, tc := range []struct {
		tag, first string
		also       []string
	}{
		{"v1.58.23", "CVE-2026-72898 / GHSA-vwf4-m7j8-wcjf", []string{"GHSA-r495-55cx-fjh7", "Metabase minimum safe release"}},
		{"v1.58.24", "GHSA-r495-55cx-fjh7", []string{"Metabase minimum safe release"}},
		{"v1.58.28", "Metabase minimum safe release", nil},
		{"v0.63.4", "CVE-2026-72898", []string{"GHSA-r495-55cx-fjh7"}},
		{"v1.61.11", "Metabase minimum safe release", nil}, // the advisory's own 61 fix is UNVERIFIED: no row
		{"v1.60.0", "CVE-2026-72898", nil},
	} {
		_, err := CheckImageVersion(tc.tag, Allow{Prerelease: true})
		if err == nil {
			t.Errorf("%s accepted, want refused", tc.tag)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "it is below") || !strings.Contains(msg[strings.Index(msg, "fixing"):], tc.first) {
			t.Errorf("%s: %q, want it to name %s first", tc.tag, msg, tc.first)
		}
		for _, a := range tc.also {
			if !strings.Contains(msg, a) {
				t.Errorf("%s: %q, want it to list %s too", tc.tag, msg, a)
			}
		}
	}
}

func TestFloorOldAndNewLines(t *testing.T) {
	for _, tc := range []struct {
		tag     string
		refused bool
	}{
		{"v1.52.4", true}, // end of life: no fixed release in the line
		{"v1.57.6", true},
		{"v1.64.1", false}, // newer than every advisory
		{"v1.65.3", false},
	} {
		_, err := CheckImageVersion(tc.tag, Allow{})
		if got := err != nil; got != tc.refused {
			t.Errorf("%s: err = %v, refused %v, want %v", tc.tag, err, got, tc.refused)
		}
		if tc.refused && (!errors.Is(err, ErrVulnerable) || !strings.Contains(err.Error(), "58.31")) {
			t.Errorf("%s: %v, want ErrVulnerable naming the oldest safe release 58.31", tc.tag, err)
		}
	}
}

func TestFloorAllowVulnerableWarns(t *testing.T) {
	v, err := CheckImageVersion("metabase/metabase-enterprise:v1.63.1", Allow{Vulnerable: true})
	if err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "VULNERABLE") || !strings.Contains(v.Warnings[0], "v1.63.13") {
		t.Errorf("warnings = %q, want one VULNERABLE warning naming v1.63.13", v.Warnings)
	}
	if v, _ := CheckImageVersion("v1.63.13", Allow{Vulnerable: true}); len(v.Warnings) != 0 {
		t.Errorf("a safe version allowed-vulnerable warns: %q", v.Warnings)
	}
}

func TestImageVersionPrereleaseRefused(t *testing.T) {
	for _, tc := range []struct {
		tag string
		pre bool
	}{
		{"v1.64.0-beta", true},
		{"v1.65.0-RC2", true},
		{"v1.64.0", true}, // from 57 on, x.N.0 is the major's beta
		{"v1.64.1", false},
		{"v1.46.0", false}, // before 57, x.N.0 was the gold release (but end of life)
		{"v0.57.2.x", false},
	} {
		_, err := CheckImageVersion(tc.tag, Allow{Vulnerable: true})
		if got := errors.Is(err, ErrPrerelease); got != tc.pre {
			t.Errorf("%s: err = %v, prerelease refusal %v, want %v", tc.tag, err, got, tc.pre)
		}
		if tc.pre {
			v, err := CheckImageVersion(tc.tag, Allow{Vulnerable: true, Prerelease: true})
			if err != nil || len(v.Warnings) == 0 {
				t.Errorf("%s forced: %v %q, want accepted with a warning", tc.tag, err, v.Warnings)
			}
		}
	}
}

func TestImageVersionLatestCheckedAfterPull(t *testing.T) {
	for _, ref := range []string{"latest", "metabase/metabase-enterprise:latest", "metabase/metabase-enterprise"} {
		if _, err := CheckImageVersion(ref, Allow{Vulnerable: true, Prerelease: true}); !errors.Is(err, ErrVersionUnknown) {
			t.Errorf("%s: err = %v, want ErrVersionUnknown", ref, err)
		}
	}
}

func TestImageVersionVolumeDowngrade(t *testing.T) {
	for _, tc := range []struct {
		image, recorded string
		refused         bool
	}{
		{"v1.63.13", "v1.63.13", false},
		{"v1.64.1", "v1.63.13", false}, // upgrade
		{"v1.63.13", "v1.64.1", true},  // older major
		{"v1.63.13", "v1.63.14", true}, // older point
		{"v1.63.13", "v1.63.13.1", true},
		{"v0.63.13", "v1.63.13", false}, // edition only
		{"v1.63.13.x", "v1.63.13.2", false},
		{"latest", "v1.64.1", false}, // unknown until pulled
		{"v1.63.13", "", false},      // fresh volume
	} {
		err := CheckVolumeVersion(tc.image, tc.recorded, false)
		if got := errors.Is(err, ErrDowngrade); got != tc.refused {
			t.Errorf("image %s on volume %s: err = %v, refused %v, want %v", tc.image, tc.recorded, err, got, tc.refused)
		}
		if tc.refused && CheckVolumeVersion(tc.image, tc.recorded, true) != nil {
			t.Errorf("image %s on volume %s: forced, still refused", tc.image, tc.recorded)
		}
	}
}

func TestFloorTableCitesSources(t *testing.T) {
	seen := map[int]bool{}
	for _, r := range FloorTable() {
		seen[r.Major] = true
		if r.Advisory.URL == "" || r.Advisory.ID == "" || r.Source == "" {
			t.Errorf("row %+v lacks its advisory or source", r)
		}
	}
	for m := oldestPatchedLine; m <= newestListedLine; m++ {
		if !seen[m] {
			t.Errorf("line %d has no floor row", m)
		}
	}
}
