#!/usr/bin/env bash
# The project's test command (README.md). It installs what the tests need (Chromium and tmux from Debian),
# makes sure the parts that must be tested are really there (Docker, Chromium, tmux), then vets and runs every
# Go test.
# A missing Docker daemon or Chromium is a failure, not a skip: a skipped suite is a failed suite.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "Go is not installed: install Go 1.26 (https://go.dev/dl/) and run this again."

chromium_path() { command -v chromium || command -v chromium-browser || command -v google-chrome || true; }
# Debian packages the tests drive: Chromium (browser end-to-end test) and tmux (the wizard in a terminal).
missing=()
[ -n "$(chromium_path)" ] || missing+=(chromium)
command -v tmux >/dev/null || missing+=(tmux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing from Debian: ${missing[*]}"
    apt-get update -qq || die "apt-get update failed (see above): install ${missing[*]} by hand and run this again."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed (see above): install them by hand and run this again."
  else
    die "missing: ${missing[*]}: run 'sudo apt-get install ${missing[*]}' (the end-to-end tests need them)."
  fi
fi
[ -n "$(chromium_path)" ] || die "Chromium is still missing after the install: see the apt-get output above."
command -v tmux >/dev/null || die "tmux is still missing after the install: see the apt-get output above."
say "chromium: $("$(chromium_path)" --version 2>/dev/null | head -1)"

# The Docker tests talk to the engine through the SDK; check it answers before spending minutes building.
if ! go run ./scripts/dockerping >/dev/null 2>&1; then
  go run ./scripts/dockerping || true
  die "the Docker daemon is not reachable: start Docker (sudo systemctl start docker) and run this again."
fi
say "docker: reachable"

say "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go') 2>/dev/null || true)
[ -z "$unformatted" ] || die "these files are not gofmt'ed: $unformatted"
say "go vet ./..."
go vet ./...

mkdir -p artifacts
export EMBEDWIZARD_ARTIFACTS="${EMBEDWIZARD_ARTIFACTS:-$PWD/artifacts}"

# The pull tests run a local registry built from distribution/v3. It is a module of its own (scripts/registry), so
# that its dependencies stay out of the product's go.mod. Build it once, here: from a cold cache that takes
# minutes, and the test packages that need it run in parallel.
say "building the local registry for the pull tests (scripts/registry)"
go -C scripts/registry build -o "$PWD/artifacts/bin/registry" . ||
  die "building the local registry failed (see above): the pull tests need it."
export EMBEDWIZARD_REGISTRY_BIN="$PWD/artifacts/bin/registry"

# The emulator and the plan hold shared state behind locks: run them under the race detector.
say "go test -race (emulator, client, plan, host app)"
go test -race -count=1 -timeout 10m ./stack/metabase/... ./wizard/plan/... ./hostapp/...

say "go test ./... (Docker, browser and terminal end-to-end tests included)"
go test -count=1 -timeout 25m ./...
