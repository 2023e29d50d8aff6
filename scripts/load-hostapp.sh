#!/usr/bin/env bash
# Load the bundled host app on loopback and report requests/s, p50/p90/p99 and the host app's memory for
# /sso/metabase and /analytics with 64 concurrent clients.
#
#   scripts/load-hostapp.sh                    # 10 s per path
#   DURATION=60s scripts/load-hostapp.sh       # the memory-flatness run
#   scripts/load-hostapp.sh -check -c 32       # extra flags go to cmd/hostload
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/hostload" ./cmd/hostload
"$bin/hostload" -duration "${DURATION:-10s}" -c "${CLIENTS:-64}" "$@"
