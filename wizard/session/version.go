package session

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/embedwizard/embedwizard/internal/secretfile"
	"github.com/embedwizard/embedwizard/stack"
)

// The version floor, wired into a run (the table and its sources: stack/imagefloor.go, docs/reset-notes.md §3).
// A tag that names a version is judged in the preflight, before any pull or write. "latest" and other tags
// without a version are judged by the version Metabase reports once it runs; a copy of such a tag already on
// this machine that this state directory saw run below the floor is pulled again first. A refusal is a missing
// prerequisite (exit 3): a patched Metabase is one, like Docker or a license. Overridden refusals become
// banners that every screen shows (Banners, and Warning events with Banner set).

// Overrides are the version floor's refusals the user overrode on purpose.
type Overrides struct {
	Vulnerable bool // --allow-vulnerable: a version below its line's floor
	Prerelease bool // --allow-prerelease: a beta or release candidate
	Downgrade  bool // --allow-downgrade: older than the Metabase that last wrote the data volume
}

// Register defines the three flags on fs; their help lives here, with the rule.
func (o *Overrides) Register(fs *flag.FlagSet) {
	fs.BoolVar(&o.Vulnerable, "allow-vulnerable", false, "run a Metabase below its line's security floor (a critical advisory it lacks the fix for), under a warning on every screen; never with real data")
	fs.BoolVar(&o.Prerelease, "allow-prerelease", false, "run a Metabase beta or release candidate (-beta, -RC, and x.N.0 from 57 on)")
	fs.BoolVar(&o.Downgrade, "allow-downgrade", false, "run a Metabase older than the one that last ran on the data volume (Metabase itself refuses an app database a newer release migrated)")
}

func (o Overrides) allow() stack.Allow {
	return stack.Allow{Vulnerable: o.Vulnerable, Prerelease: o.Prerelease}
}

// checkVersion is the name of the preflight line for the image's version.
const checkVersion = "version"

// FloorWarnings are what the floor says of a version that runs (status, doctor, an external Metabase):
// "VULNERABLE …" naming the advisory and the release to use, or that it is a beta. None for a version at or
// above its floor, or one that cannot be read.
func FloorWarnings(version string) []string {
	v, _ := stack.CheckImageVersion(version, stack.Allow{Vulnerable: true, Prerelease: true})
	return v.Warnings
}

// Running is the exact Metabase that runs: up's ready line and status show it.
type Running struct {
	Version  string   `json:"version,omitempty"`      // as Metabase reports it (GET /api/session/properties)
	Image    string   `json:"image,omitempty"`        // the reference the container was made from
	ImageID  string   `json:"image_id,omitempty"`     // the local image, sha256:…
	Digest   string   `json:"image_digest,omitempty"` // the registry's digest; "" for an image built locally
	Warnings []string `json:"warnings,omitempty"`     // FloorWarnings of Version
}

// RunningOf is Running from what Status found; version is the one Metabase reported, else the one recorded.
func RunningOf(s stack.Status, recorded string) Running {
	r := Running{Version: s.Version, Image: s.Image, ImageID: s.ImageID, Digest: s.ImageDigest}
	if r.Version == "" {
		r.Version = recorded
	}
	r.Warnings = FloorWarnings(r.Version)
	return r
}

// String is the one line the screens show: "Metabase v1.64.1, image REF (sha256:… digest)".
func (r Running) String() string {
	s := "Metabase " + cmpOr(r.Version, "(version unknown)") + ", image " + r.Image
	switch {
	case r.Digest != "":
		s += " (" + r.Digest + ")"
	case r.ImageID != "":
		s += " (built locally, " + r.ImageID + ")"
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Banners are the warnings every screen of this run shows: the floor's refusals overridden. The TUI shows
// them on each screen; they also come as Warning events with Banner set, for the line front ends.
func (s *Session) Banners() []string { return append([]string(nil), s.banners...) }

// showBanners emits every banner again, for the line front ends' next screen.
func (s *Session) showBanners(emit func(Event)) {
	for _, b := range s.banners {
		orNop(emit)(Event{Kind: Warning, Message: b, Banner: true})
	}
}

// banner adds a persistent warning, once, and emits it.
func (s *Session) banner(msg string, emit func(Event)) {
	for _, b := range s.banners {
		if b == msg {
			return
		}
	}
	s.banners = append(s.banners, msg)
	orNop(emit)(Event{Kind: Warning, Message: msg, Banner: true})
}

// versionCheck is the preflight's line for the image: a tagged version below its floor, a beta, or a
// downgrade of the data volume fail it (unless overridden); a "latest" seen below the floor here is marked
// for a new pull. It reads only (Docker's image list and the state directory).
func (s *Session) versionCheck(ctx context.Context, stk *stack.Stack) Check {
	c := Check{Name: checkVersion, OK: true}
	image, recorded, o := s.cfg.Stack.Image, s.volumeVersion(), s.cfg.Overrides
	verdict, err := stack.CheckImageVersion(image, o.allow())
	version := verdict.Version.String()
	switch {
	case errors.Is(err, stack.ErrVersionUnknown):
		known, pulled := s.localVersion(ctx, stk)
		if known == "" {
			c.Detail = image + " names no version: it is checked against the security floor once Metabase reports its version"
			c.quiet = true
			break
		}
		if _, err := stack.CheckImageVersion(known, stack.Allow{}); err != nil && pulled && s.cfg.Stack.Pull != stack.PullNever {
			// A stale copy of a moving tag: the registry's is newer (every line's floor is out).
			s.cfg.Stack.Pull, s.cfg.Stack.Recreate = stack.PullAlways, true
			c.Warn, c.Detail = true, fmt.Sprintf("%s here is Metabase %s, below its line's security floor: up pulls it again before use", image, known)
			s.staleNote = c.Detail
			return c
		}
		if verdict, err = stack.CheckImageVersion(known, o.allow()); err != nil { // built here: no newer copy to pull
			c.OK, c.Detail, c.Fix = false, image+" here is "+err.Error(), floorFix(err, image)
			return c
		}
		version = known
		c.Detail = fmt.Sprintf("%s here is Metabase %s (seen running); checked again once it runs", image, known)
	case err != nil:
		c.OK, c.Detail, c.Fix = false, err.Error(), floorFix(err, image)
		return c
	default:
		c.Detail = "Metabase " + version + " is at or above its line's security floor"
	}
	for _, w := range verdict.Warnings {
		c.Warn = true
		s.banner(w, nil)
	}
	if err := stack.CheckVolumeVersion(version, recorded, false); err != nil {
		if !o.Downgrade {
			c.OK, c.Detail, c.Fix = false, err.Error(), floorFix(err, image)
			return c
		}
		c.Warn = true
		s.banner(fmt.Sprintf("DOWNGRADE (allowed by --allow-downgrade): Metabase %s on a data volume last run by %s; Metabase may refuse to start", version, recorded), nil)
	}
	return c
}

// refuseBeforeStart applies the preflight's version line again just before the stack starts, without Docker:
// the wizard's form may have changed the image since the preflight ran.
func (s *Session) refuseBeforeStart(ctx context.Context, emit func(Event)) error {
	if c := s.versionCheck(ctx, nil); !c.OK {
		return Kind(ErrPrereq, &Failure{Err: fmt.Errorf("%s; nothing was changed", c.Detail), Hint: c.Hint()})
	}
	if s.staleNote != "" { // the line front ends show only failed checks: say why this pull happens
		orNop(emit)(Event{Kind: Info, Message: s.staleNote})
	}
	return nil
}

// floorFix is what to do about a refusal of the floor.
func floorFix(err error, image string) string {
	repo := image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	var ve *stack.VulnerableError
	switch {
	case errors.As(err, &ve) && !ve.EOL:
		return fmt.Sprintf("use --image %s:v%d.%d.%d or later, or leave --image out for the latest release; --allow-vulnerable runs it anyway, for a throwaway test only",
			repo, ve.Version.Edition, ve.Floor.Major, ve.Floor.Point)
	case errors.Is(err, stack.ErrVulnerable):
		return "use a supported release (leave --image out for the latest); --allow-vulnerable runs it anyway, for a throwaway test only"
	case errors.Is(err, stack.ErrPrerelease):
		return "use a release tag, or --allow-prerelease to run the beta on purpose"
	case errors.Is(err, stack.ErrDowngrade):
		return "use that release or a newer one (--image), start from a fresh data volume (embedwizard down --volumes), or --allow-downgrade"
	}
	return ""
}

// checkRunning judges the version Metabase reports once it runs (the only one there is for "latest"). Below
// the floor: a tag without a version is pulled again once; otherwise the container is stopped (a vulnerable
// Metabase must not stay up) and the run refused. It records the version for the next run's downgrade check.
func (s *Session) checkRunning(ctx context.Context, stk *stack.Stack, info stack.Info, emit func(Event)) (retry bool, err error) {
	v, recorded := info.MetabaseVersion, s.volumeVersion()
	if v == "" {
		emit(Event{Kind: Warning, Message: "Metabase reported no version: the security floor could not be checked"})
		return false, nil
	}
	refuse := func(err error) (bool, error) {
		if derr := stk.Down(ctx, false); derr != nil {
			emit(Event{Kind: Warning, Message: "could not stop the refused Metabase: " + derr.Error()})
		}
		return false, Kind(ErrPrereq, &Failure{Err: fmt.Errorf("Metabase at %s reports %s: %w; it was stopped, its data volume kept", info.URL, v, err),
			Hint: Hint{What: checkVersion, Why: err.Error(), Do: floorFix(err, s.cfg.Stack.Image)}})
	}
	verdict, err := stack.CheckImageVersion(v, s.cfg.Overrides.allow())
	if err != nil && !errors.Is(err, stack.ErrVersionUnknown) {
		_, tagErr := stack.ParseImageVersion(s.cfg.Stack.Image)
		// A tag without a version may have a newer copy in the registry; an image built here has none.
		if tagErr != nil && info.ImageDigest != "" && !s.repulled && s.cfg.Stack.Pull != stack.PullNever {
			s.repulled = true
			s.cfg.Stack.Pull, s.cfg.Stack.Recreate = stack.PullAlways, true
			emit(Event{Kind: Info, Message: fmt.Sprintf("%s here is Metabase %s, below its line's security floor: pulling it again", s.cfg.Stack.Image, v)})
			s.remember(info.ImageID, v, true)
			return true, nil
		}
		return refuse(err)
	}
	for _, w := range verdict.Warnings {
		s.banner(w, emit)
	}
	if err := stack.CheckVolumeVersion(v, recorded, false); err != nil {
		if !s.cfg.Overrides.Downgrade {
			return refuse(err)
		}
		s.banner(fmt.Sprintf("DOWNGRADE (allowed by --allow-downgrade): Metabase %s on a data volume last run by %s", v, recorded), emit)
	}
	s.remember(info.ImageID, v, true)
	return false, nil
}

func verdictVersion(v string) stack.ImageVersion {
	iv, _ := stack.ParseImageVersion(v)
	return iv
}

// VersionsFile records, in the state directory, the newest Metabase that ran on the data volume (for the
// downgrade check; plan.State.MetabaseVersion is the version last seen, which a forced downgrade lowers) and
// which version each local image reported when it ran here, so that a "latest" whose tag says no version is
// judged before it runs again.
const VersionsFile = "versions.json"

type versions struct {
	Volume string            `json:"volume,omitempty"`
	Images map[string]string `json:"images,omitempty"` // image id -> version reported
}

func loadVersions(dir string) versions {
	var v versions
	if b, err := os.ReadFile(filepath.Join(dir, VersionsFile)); err == nil {
		json.Unmarshal(b, &v)
	}
	if v.Images == nil {
		v.Images = map[string]string{}
	}
	return v
}

func (v versions) save(dir string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return secretfile.Write(filepath.Join(dir, VersionsFile), b)
}

// volumeVersion is the newest Metabase recorded on the data volume, "" when none.
func (s *Session) volumeVersion() string {
	if s.cfg.StateDir == "" {
		return ""
	}
	return loadVersions(s.cfg.StateDir).Volume
}

// remember notes what image id reported and, when ranOnVolume, raises the volume's record to it; a failure
// only costs the early checks next time.
func (s *Session) remember(imageID, version string, ranOnVolume bool) {
	if s.cfg.StateDir == "" {
		return
	}
	v := loadVersions(s.cfg.StateDir)
	if imageID != "" {
		v.Images[imageID] = version
	}
	if was, err := stack.ParseImageVersion(v.Volume); ranOnVolume && (err != nil || !verdictVersion(version).Less(was)) {
		v.Volume = version // the newest that ran on the volume: a forced downgrade does not lower it
	}
	v.save(s.cfg.StateDir)
}

// forgetVolumeVersion drops the record of a data volume that is gone.
func forgetVolumeVersion(dir string) {
	if dir == "" {
		return
	}
	v := loadVersions(dir)
	if v.Volume != "" {
		v.Volume = ""
		v.save(dir)
	}
}

// localVersion is the version of the configured image on this machine, as its label or an earlier run says
// ("" when unknown), and whether it came from a registry (which may have a newer one).
func (s *Session) localVersion(ctx context.Context, stk *stack.Stack) (version string, pulled bool) {
	if stk == nil {
		return "", false
	}
	img, ok, err := stk.LocalImage(ctx)
	if err != nil || !ok {
		return "", false
	}
	if _, err := stack.ParseImageVersion(img.Version); err == nil {
		return img.Version, img.Digest != ""
	}
	return loadVersions(s.cfg.StateDir).Images[img.ID], img.Digest != ""
}
