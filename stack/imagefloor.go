package stack

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The version floor: the oldest Metabase release of each major line that embedwizard runs without
// --allow-vulnerable. Each row is the first release of a line that fixes one advisory; a version's floor is the
// highest row of its line. The sources are listed with each row and in docs/reset-notes.md. Metabase numbers the
// enterprise build of a fix 1.x and the open-source one 0.x with the same major.point.hotfix, so the table
// ignores the edition digit.

// Advisory is a security advisory the floor table cites.
type Advisory struct {
	ID       string // "GHSA-vwf4-m7j8-wcjf"
	CVE      string // "CVE-2026-72898", "" when none was assigned
	Title    string
	Severity string  // as the advisory rates it
	CVSS     float64 // 0 when not published
	URL      string  // the advisory itself
}

// FloorRow is the first release of one major line that fixes one advisory.
type FloorRow struct {
	Major    int
	Fixed    ImageVersion // edition-agnostic: compare with SameRelease / Less
	Advisory Advisory
	Source   string // where the fixed version was read, when it is not the advisory's own page
	// Unverified is true when the fixed version comes only from second-hand reports or a fixture, not a
	// Metabase publication read here.
	Unverified bool
}

var (
	advisorySQLi = Advisory{
		ID: "GHSA-vwf4-m7j8-wcjf", CVE: "CVE-2026-72898", Severity: "critical", CVSS: 10.0,
		Title: "unauthenticated SQL injection through POST /api/session/reset_password (admin takeover)",
		URL:   "https://github.com/metabase/metabase/security/advisories/GHSA-vwf4-m7j8-wcjf",
	}
	advisoryMulti = Advisory{
		ID: "GHSA-r495-55cx-fjh7", Severity: "critical",
		Title: "multiple vulnerabilities across query validation, permissions, and network exposure",
		URL:   "https://github.com/metabase/metabase/security/advisories/GHSA-r495-55cx-fjh7",
	}
	// advisoryMinimumSafe is not an advisory but Metabase's own list of the lowest release it calls safe per
	// line, published after both (security-focused release announcement of 2026-08-12, last updated 2026-08-14).
	advisoryMinimumSafe = Advisory{
		ID: "Metabase minimum safe release (2026-08-14)", Severity: "critical",
		Title: "the lowest release Metabase calls safe after GHSA-vwf4-m7j8-wcjf and GHSA-r495-55cx-fjh7",
		URL:   "https://www.metabase.com/blog/security-focused-release-announcement-2026-08-12",
	}
)

const (
	srcSQLiRanges = "per-line fixed versions of GHSA-vwf4-m7j8-wcjf as reported from the advisory (JPCERT/CC at260023, The Hacker News 2026-10-08 table); the advisory page itself was not readable here"
	srcMinSafe    = "Metabase's minimum safe releases as tabulated by The Hacker News (2026-10-08) and Clever Cloud (2026-08-15, for 61-63) from the announcement; the announcement itself was not readable here"
	srcMultiPR    = "cal-itp/data-infra#5660 quoting the advisory's \"Versions with the fix\" (x.58.28)"
	srcMultiTest  = "a fixture of Metabase's release tooling (alert-upgrade-versions test) with the advisory's ranges for 58, 59 and 63"
)

func row(major, point int, a Advisory, src string, unverified bool) FloorRow {
	return FloorRow{Major: major, Fixed: ImageVersion{Major: major, Point: point}, Advisory: a, Source: src, Unverified: unverified}
}

// floorTable holds every row; the lines below 58 have none (CVE-2026-72898 does not affect them; see
// oldLineAdvisory for GHSA-r495-55cx-fjh7).
var floorTable = []FloorRow{
	row(58, 24, advisorySQLi, srcSQLiRanges, false),
	row(59, 21, advisorySQLi, srcSQLiRanges, false),
	row(60, 17, advisorySQLi, srcSQLiRanges, false),
	row(61, 11, advisorySQLi, srcSQLiRanges, false),
	row(62, 9, advisorySQLi, srcSQLiRanges, false),
	row(63, 5, advisorySQLi, srcSQLiRanges, false),

	row(58, 28, advisoryMulti, srcMultiPR, false),
	row(59, 25, advisoryMulti, srcMultiTest, true),
	row(63, 10, advisoryMulti, srcMultiTest, true),
	// 60, 61, 62: the advisory's fixed versions for these lines were not found (UNVERIFIED); the minimum safe
	// rows below are higher than any plausible value and cover them.

	row(58, 31, advisoryMinimumSafe, srcMinSafe, false),
	row(59, 28, advisoryMinimumSafe, srcMinSafe, false),
	row(60, 24, advisoryMinimumSafe, srcMinSafe, false),
	row(61, 18, advisoryMinimumSafe, srcMinSafe, false),
	row(62, 16, advisoryMinimumSafe, srcMinSafe, false),
	row(63, 13, advisoryMinimumSafe, srcMinSafe, false),
}

// oldestPatchedLine is the oldest major line with a fixed release. Older lines are end of life: GHSA-r495-55cx-fjh7
// carries a standalone "< x.58.28" range, so every older line is affected with no fix of its own (quoted by a
// 2026-09-09 assessment that found v0.53.7.1 affected, and in the fixture behind srcMultiTest; the advisory page
// itself was not readable here).
const oldestPatchedLine = 58

// newestListedLine is the newest line the advisories list; newer lines were released after the fixes.
const newestListedLine = 63

// FloorTable returns a copy of the table, for docs and the doctor screen.
func FloorTable() []FloorRow { return append([]FloorRow(nil), floorTable...) }

// FloorOf is the release a version of major line must reach, and the rows that set it; ok is false when the
// line has no row (newer than every advisory, or older than oldestPatchedLine).
func FloorOf(major int) (floor ImageVersion, rows []FloorRow, ok bool) {
	for _, r := range floorTable {
		if r.Major != major {
			continue
		}
		rows = append(rows, r)
		if !ok || floor.Less(r.Fixed) {
			floor, ok = r.Fixed, true
		}
	}
	return floor, rows, ok
}

// ImageVersion is a Metabase release tag: v{edition}.{major}.{point}[.{hotfix}][-{pre}].
type ImageVersion struct {
	Edition int // 0 open source, 1 enterprise
	Major   int
	Point   int
	Hotfix  int
	// AnyHotfix is the ".x" placeholder tag (v0.57.2.x): whatever hotfix of the point release is newest.
	AnyHotfix bool
	// Pre is a pre-release suffix ("beta", "RC2"); see Prerelease for the x.N.0 betas.
	Pre string
}

func (v ImageVersion) String() string {
	s := fmt.Sprintf("v%d.%d.%d", v.Edition, v.Major, v.Point)
	switch {
	case v.AnyHotfix:
		s += ".x"
	case v.Hotfix > 0:
		s += "." + strconv.Itoa(v.Hotfix)
	}
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}

// release is v without its edition, as the advisories write it ("58.24").
func (v ImageVersion) release() string {
	s := fmt.Sprintf("%d.%d", v.Major, v.Point)
	if v.Hotfix > 0 {
		s += "." + strconv.Itoa(v.Hotfix)
	}
	return s
}

// Less orders releases by major, point and hotfix, ignoring the edition; a ".x" tag counts as the newest
// hotfix of its point release and a pre-release as older than the release.
func (v ImageVersion) Less(o ImageVersion) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Point != o.Point {
		return v.Point < o.Point
	}
	if v.AnyHotfix != o.AnyHotfix {
		return o.AnyHotfix
	}
	if v.Hotfix != o.Hotfix {
		return v.Hotfix < o.Hotfix
	}
	return v.Pre != "" && o.Pre == ""
}

// Prerelease reports whether v is a beta or release candidate: a -beta/-RC suffix, or, from 57 on, the x.N.0
// release, which Metabase's versioning page (developers-guide/versioning, master docs at v0.57) calls the beta
// of a major version.
func (v ImageVersion) Prerelease() bool {
	return v.Pre != "" || (v.Major >= 57 && v.Point == 0 && v.Hotfix == 0 && !v.AnyHotfix)
}

// ErrVersionUnknown: the tag names no version ("latest", a digest, a custom tag); check the version Metabase
// reports once the image is pulled (GET /api/session/properties "version").
var ErrVersionUnknown = errors.New("version unknown until the image is pulled")

// ErrPrerelease is a beta or release-candidate tag.
var ErrPrerelease = errors.New("a Metabase beta or release candidate")

// ErrDowngrade is an image older than the Metabase that last wrote the data volume.
var ErrDowngrade = errors.New("older than the Metabase that last wrote the data volume")

// ErrVulnerable is a version below its line's floor; the *VulnerableError says which advisory and what to use.
var ErrVulnerable = errors.New("a Metabase version with a known critical vulnerability")

// VulnerableError is a version below its line's floor.
type VulnerableError struct {
	Version ImageVersion
	Floor   ImageVersion // the release to use at least ("" Major when the line has no fixed release)
	Rows    []FloorRow   // the advisories the version misses, the first one named in Error
	EOL     bool         // the line has no fixed release at all
}

func (e *VulnerableError) Error() string {
	if e.EOL {
		oldest, _, _ := FloorOf(oldestPatchedLine)
		newest, _, _ := FloorOf(newestListedLine)
		return fmt.Sprintf("Metabase %s is refused: line %d has no release fixing %s (%s, %s); use v%d.%s or later, or at least v%d.%s",
			e.Version, e.Version.Major, advisoryMulti.ID, advisoryMulti.Title, advisoryMulti.URL,
			e.Version.Edition, newest.release(), e.Version.Edition, oldest.release())
	}
	a := e.Rows[0].Advisory
	name := a.ID
	if a.CVE != "" {
		name = a.CVE + " / " + a.ID
	}
	more := ""
	if len(e.Rows) > 1 {
		ids := make([]string, 0, len(e.Rows)-1)
		for _, r := range e.Rows[1:] {
			ids = append(ids, r.Advisory.ID)
		}
		more = " (also below: " + strings.Join(ids, ", ") + ")"
	}
	return fmt.Sprintf("Metabase %s is refused: it is below %s, the first %d.x release fixing %s (%s, %s)%s; use v%d.%s or later of this line",
		e.Version, e.Rows[0].Fixed.release(), e.Version.Major, name, a.Title, a.URL, more, e.Version.Edition, e.Floor.release())
}

func (e *VulnerableError) Unwrap() error { return ErrVulnerable }

// ParseImageVersion reads the version from a tag ("v1.58.31", "v0.57.2.x", "v1.64.0-beta") or a whole image
// reference ("metabase/metabase-enterprise:v1.60.24@sha256:…"). "latest", digests and other tags are
// ErrVersionUnknown.
func ParseImageVersion(ref string) (ImageVersion, error) {
	tag := ref
	if i := strings.Index(tag, "@"); i >= 0 {
		tag = tag[:i]
	}
	if i := strings.LastIndex(tag, ":"); i >= 0 && !strings.Contains(tag[i:], "/") {
		tag = tag[i+1:]
	} else if strings.Contains(ref, "/") || tag == "" {
		return ImageVersion{}, fmt.Errorf("image %q: %w (no tag)", ref, ErrVersionUnknown)
	}
	t := strings.TrimPrefix(strings.TrimPrefix(tag, "v"), "V")
	var v ImageVersion
	if i := strings.Index(t, "-"); i >= 0 {
		t, v.Pre = t[:i], t[i+1:]
	}
	parts := strings.Split(t, ".")
	if len(parts) < 3 || len(parts) > 4 || (parts[0] != "0" && parts[0] != "1") {
		return ImageVersion{}, fmt.Errorf("image tag %q: %w (not a Metabase release like v1.58.31)", tag, ErrVersionUnknown)
	}
	nums := make([]int, 0, 4)
	for i, p := range parts {
		if i == 3 && strings.EqualFold(p, "x") {
			v.AnyHotfix = true
			break
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return ImageVersion{}, fmt.Errorf("image tag %q: %w (not a Metabase release like v1.58.31)", tag, ErrVersionUnknown)
		}
		nums = append(nums, n)
	}
	v.Edition, v.Major, v.Point = nums[0], nums[1], nums[2]
	if len(nums) == 4 {
		v.Hotfix = nums[3]
	}
	if v.Major == 0 {
		return ImageVersion{}, fmt.Errorf("image tag %q: %w (major version 0)", tag, ErrVersionUnknown)
	}
	return v, nil
}

// Allow lists the refusals of CheckImageVersion a user overrode (a downgrade is CheckVolumeVersion's force).
type Allow struct {
	Vulnerable bool // --allow-vulnerable
	Prerelease bool // a beta or RC on purpose
}

// Verdict is the outcome of CheckImageVersion: the version and, when Allow overrode a refusal, the warning
// every screen must show.
type Verdict struct {
	Version  ImageVersion
	Warnings []string
}

// CheckImageVersion refuses a tag below its line's floor (a *VulnerableError naming the advisory and the
// release to use) and a beta or RC tag (ErrPrerelease), unless allow overrides them, in which case the refusal
// becomes a warning in the Verdict. "latest" and other tags without a version are ErrVersionUnknown: pull, then
// check the version Metabase reports.
func CheckImageVersion(tag string, allow Allow) (Verdict, error) {
	v, err := ParseImageVersion(tag)
	if err != nil {
		return Verdict{}, err
	}
	verdict := Verdict{Version: v}
	if v.Prerelease() {
		if !allow.Prerelease {
			return verdict, fmt.Errorf("Metabase %s is %w; use a release (e.g. v%d.%d.1) or force it on purpose", v, ErrPrerelease, v.Edition, v.Major)
		}
		verdict.Warnings = append(verdict.Warnings, fmt.Sprintf("Metabase %s is a beta or release candidate", v))
	}
	if verr := vulnerability(v); verr != nil {
		if !allow.Vulnerable {
			return verdict, verr
		}
		verdict.Warnings = append(verdict.Warnings, "VULNERABLE (allowed by --allow-vulnerable): "+verr.Error())
	}
	return verdict, nil
}

// vulnerability is the *VulnerableError for v, nil when v is at or above its floor.
func vulnerability(v ImageVersion) *VulnerableError {
	if v.Major > newestListedLine {
		return nil
	}
	if v.Major < oldestPatchedLine {
		return &VulnerableError{Version: v, EOL: true}
	}
	floor, rows, ok := FloorOf(v.Major)
	if !ok || !v.Less(floor) {
		return nil
	}
	var missed []FloorRow
	for _, r := range rows {
		if v.Less(r.Fixed) {
			missed = append(missed, r)
		}
	}
	// Name the most severe miss first: the lowest fix (the oldest advisory) the version does not reach.
	for i := 1; i < len(missed); i++ {
		for j := i; j > 0 && missed[j].Fixed.Less(missed[j-1].Fixed); j-- {
			missed[j], missed[j-1] = missed[j-1], missed[j]
		}
	}
	return &VulnerableError{Version: v, Floor: floor, Rows: missed}
}

// CheckVolumeVersion refuses running image on a data volume last written by a newer Metabase (recorded is the
// version saved with the volume, "" when none): Metabase will not start on an application database migrated by
// a newer release without first running `migrate down` with that newer release. force turns the refusal into
// nil. Unknown versions on either side are not refused here; check again once the version is known.
func CheckVolumeVersion(image, recorded string, force bool) error {
	if recorded == "" || force {
		return nil
	}
	have, err := ParseImageVersion(image)
	if err != nil {
		return nil
	}
	was, err := ParseImageVersion(recorded)
	if err != nil {
		return nil
	}
	if have.Less(was) && !(have.Major == was.Major && have.Point == was.Point && have.AnyHotfix != was.AnyHotfix) {
		return fmt.Errorf("Metabase %s is %w (%s): Metabase refuses to run on an application database migrated by a newer release; use %s or newer, or start from a fresh data volume (embedwizard down --volumes deletes it)", have, ErrDowngrade, was, was)
	}
	return nil
}
