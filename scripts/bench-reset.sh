#!/usr/bin/env bash
# Side by side, in one run: the three ways `embedwizard reset` brings a demo sandbox back, against the
# emulator's container booting as slowly as a real Metabase (60 s by default, BOOT_SECONDS to change it):
#   fast    `up --fast-reset`, then `reset`: Metabase's own snapshot, restored without a restart;
#   volume  `up`, then `reset`: the volume snapshot, restored with a restart (a full boot);
#   full    `reset --full`: a new app database, the whole plan again (a full boot and the configuration).
# Each reset also verifies every checkpoint. Needs go and a running Docker Engine; uses loopback ports only.
# Everything it creates carries the label embedwizard.bench=<this run>; only that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

BOOT_SECONDS=${BOOT_SECONDS:-60}
STEP_TIMEOUT=${STEP_TIMEOUT:-600} # seconds any one command may take
RUN=bench-$$-$(date +%s)
LABEL="embedwizard.bench=$RUN"
IMAGE="embedwizard-bench/fakemetabase:$RUN"
# The emulator's test license (it accepts no other); passed in the environment only, never as an argument.
LICENSE=e2e0000000000000000000000000000000000000000000000000000000e2e028

die() { printf 'bench-reset.sh: %s\n' "$*" >&2; exit 1; }
command -v go >/dev/null || die "Go is not installed: install Go (https://go.dev/dl/) and run this again."
command -v docker >/dev/null || die "the docker CLI is not installed: install Docker and run this again."
docker info >/dev/null 2>&1 || die "the Docker Engine does not answer (docker info failed): start it and run this again."

WORK=$(mktemp -d)
cleanup() {
  # The two ups run in the background: stop them (by their own ids) before removing what they made.
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # KEEP_LOGS=DIR keeps every command's output there (they hold no secret: embedwizard masks them).
  [ -n "${KEEP_LOGS:-}" ] && mkdir -p "$KEEP_LOGS" && cp "$WORK"/*.log "$KEEP_LOGS"/ 2>/dev/null || true
  for dir in "$WORK/fast" "$WORK/volume"; do
    [ -d "$dir" ] && timeout 120 "$WORK/embedwizard" down --volumes --state-dir "$dir" >/dev/null 2>&1 || true
  done
  # What `down` could not remove (a run cut short before the state was saved): ours by label only.
  ids=$(docker ps -aq --filter "label=$LABEL")
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1 || true
  for dir in "$WORK/fast" "$WORK/volume"; do
    vols=$(docker volume ls -q --filter "label=embedwizard.statedir=$dir")
    [ -n "$vols" ] && docker volume rm -f $vols >/dev/null 2>&1 || true
  done
  docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> building embedwizard and the emulator image (FROM scratch, boot delay ${BOOT_SECONDS}s)"
go build -o "$WORK/embedwizard" ./cmd/embedwizard
mkdir -p "$WORK/image/tmp" && chmod 1777 "$WORK/image/tmp"
CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$WORK/image/fakemetabase" ./cmd/fakemetabase
# The product creates its container with MB_* variables only, so the boot delay rides in the image's
# environment, as a real image carries its own startup.
cat >"$WORK/image/Dockerfile" <<EOF
FROM scratch
COPY fakemetabase /fakemetabase
COPY tmp /tmp
ENV FAKEMETABASE_BOOT_SECONDS=$BOOT_SECONDS
LABEL embedwizard.bench=$RUN
EXPOSE 3000
ENTRYPOINT ["/fakemetabase"]
EOF
docker build -q -t "$IMAGE" "$WORK/image" >"$WORK/build.log" 2>&1 ||
  { cat "$WORK/build.log" >&2; die "docker build of the emulator image failed (output above)"; }

free_port() { # a loopback port nothing listens on
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free loopback port found"
}

ew() { # embedwizard with the license in its environment, bounded in time; output to $WORK/<log>
  local log=$1 rc=0; shift
  MB_PREMIUM_EMBEDDING_TOKEN=$LICENSE timeout "$STEP_TIMEOUT" "$WORK/embedwizard" "$@" >"$WORK/$log.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$WORK/$log.log" >&2
    [ "$rc" -eq 124 ] && die "embedwizard $1 did not end within ${STEP_TIMEOUT}s (output above)"
    die "embedwizard $1 failed with exit $rc (output above)"
  fi
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

up() { # name, extra flags...
  local name=$1; shift
  ew "up-$name" up --yes --configure-only --image "$IMAGE" --pull never --state-dir "$WORK/$name" \
    --metabase-port "$(free_port)" --host-port "$(free_port)" "$@"
}

echo "==> two configured sandboxes, booting side by side: one with --fast-reset, one without"
start=$(now)
up fast --fast-reset &
fast_up=$!
up volume &
volume_up=$!
wait $fast_up || die "up --fast-reset failed"
wait $volume_up || die "up failed"
echo "    both configured in $(since "$start") s"
grep -q "fast-reset snapshot taken" "$WORK/up-fast.log" || { cat "$WORK/up-fast.log" >&2; die "up --fast-reset took no fast snapshot"; }

expect() { # log, text: the command's output must say text
  grep -q "$2" "$WORK/$1.log" || { cat "$WORK/$1.log" >&2; die "$1 does not say \"$2\" (output above)"; }
}
start=$(now); ew reset-fast reset --state-dir "$WORK/fast"; fast=$(since "$start")
expect reset-fast "no restart"; expect reset-fast "back to its configured state"
echo "    fast reset: $fast s"
start=$(now); ew reset-volume reset --state-dir "$WORK/volume"; volume=$(since "$start")
expect reset-volume "back to its configured state"
echo "    volume snapshot reset: $volume s"
start=$(now); ew reset-full reset --full --state-dir "$WORK/volume"; full=$(since "$start")
expect reset-full "every checkpoint was verified"
echo "    full reset: $full s"

echo
echo "reset against the emulator's container, boot ${BOOT_SECONDS}s (each reset verifies every checkpoint):"
printf '| path | seconds |\n| --- | --- |\n'
printf '| fast (up --fast-reset, reset: Metabase snapshot, no restart) | %s |\n' "$fast"
printf '| volume snapshot (up, reset: restart) | %s |\n' "$volume"
printf '| full (reset --full: rebuild and configure) | %s |\n' "$full"
awk -v f="$fast" -v v="$volume" -v u="$full" 'BEGIN {
  printf "fast is %.0fx faster than the volume snapshot and %.0fx faster than --full; target: under 5 s and at least 10x: %s\n",
    v / f, u / f, (f < 5 && v / f >= 10) ? "met" : "NOT met" }'
