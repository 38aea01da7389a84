#!/usr/bin/env bash
# A local Keycloak (a real OpenID Connect provider) for development and browser tests, without
# Docker: realm `tac` with the people of demo/cast.py, imported from deploy/keycloak/tac-realm.json.
#
#   scripts/idp.sh up       start it (if needed) and wait until the realm `tac` answers
#   scripts/idp.sh down     stop it (SIGTERM, then SIGKILL after 30 s)
#   scripts/idp.sh status   "up (pid N)" / "down" (exit 0 / 3)
#   scripts/idp.sh reset    stop it and forget its data (the realm is imported afresh at next up)
#
# The distribution is Maven Central's org.keycloak:keycloak-quarkus-dist zip (fetched into ~/.m2
# with `mvn dependency:get` when absent), unzipped into .local/keycloak/ (git-ignored) with its
# H2 database, logs and pid. `start-dev` is development mode only: HTTP, dev database, and
# passwords that are documented in deploy/keycloak/README.md — never use it for real people.
#
# The realm is imported at start (`--import-realm`); Keycloak skips a realm that already exists,
# so a later `up` keeps what the admin API changed (a parent's `children`). When the realm file
# changes, `up` forgets the old data so the new file is imported.
#
# Environment:
#   TAC_IDP_PORT                 HTTP port (default 8380), on 127.0.0.1
#   TAC_IDP_WAIT_S               how long `up` waits for the realm (default 180)
#   KC_BOOTSTRAP_ADMIN_USERNAME  master-realm admin created at the first start (default admin)
#   KC_BOOTSTRAP_ADMIN_PASSWORD  its password (default admin; development only)
#   TAC_M2_REPOSITORY            Maven local repository (default ~/.m2/repository)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

KC_VERSION=26.5.6
ARTIFACT=org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip
M2=${TAC_M2_REPOSITORY:-$HOME/.m2/repository}
ZIP=$M2/org/keycloak/keycloak-quarkus-dist/$KC_VERSION/keycloak-quarkus-dist-$KC_VERSION.zip

REALM=tac
REALM_FILE=$ROOT/deploy/keycloak/tac-realm.json
LOCAL_DIR=$ROOT/.local/keycloak
DIST=$LOCAL_DIR/keycloak-$KC_VERSION
PID_FILE=$LOCAL_DIR/keycloak.pid
OUT_FILE=$LOCAL_DIR/keycloak.out
REALM_STAMP=$LOCAL_DIR/realm.sha256
LOCK_FILE=$LOCAL_DIR/.lock

HOST=127.0.0.1
PORT=${TAC_IDP_PORT:-8380}
WAIT_S=${TAC_IDP_WAIT_S:-180}
BASE_URL=http://$HOST:$PORT
WELL_KNOWN=$BASE_URL/realms/$REALM/.well-known/openid-configuration

SCRIPT_NAME=idp
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

# Prints the pid of the Keycloak this checkout started, if it is still running: the leader of
# its own process group, either kc.sh (with the JVM as its child) or, when kc.sh re-augmented
# the build and exec'd, the JVM itself (its -Dkc.home.dir names this distribution).
idp_pid() {
  recorded_pid "$PID_FILE" -xF -e "$DIST/bin/kc.sh" -e "-Dkc.home.dir=$DIST/bin/.."
}

port_open() { tcp_open "$HOST" "$PORT"; }

# True when the realm's discovery document answers 200 (python3: no curl needed).
realm_answers() {
  python3 - "$WELL_KNOWN" <<'EOF' 2>/dev/null
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

ensure_zip() {
  [[ -s $ZIP ]] && return 0
  apt_install_or_die mvn maven
  say "fetching $ARTIFACT with Maven (~165 MB, once)"
  local log=$LOCAL_DIR/mvn.log
  if ! mvn -q -B dependency:get -Dartifact="$ARTIFACT" -Dtransitive=false \
      -Dmaven.repo.local="$M2" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "mvn dependency:get $ARTIFACT failed (full output: ${log#"$ROOT"/})"
  fi
  [[ -s $ZIP ]] || die "mvn dependency:get succeeded but $ZIP is absent"
}

# Unzips the distribution once (into a temporary folder, moved into place when complete).
ensure_dist() {
  [[ -x $DIST/bin/kc.sh && -f $DIST/.unzipped ]] && return 0
  ensure_zip
  say "unzipping Keycloak $KC_VERSION into ${DIST#"$ROOT"/}"
  local tmp=$LOCAL_DIR/unzip.tmp
  rm -rf "$tmp" "$DIST"
  mkdir -p "$tmp"
  # python3's zipfile rather than unzip(1), which a fresh machine may lack; it drops the
  # executable bits, so the scripts get them back.
  python3 -m zipfile -e "$ZIP" "$tmp" || die "unzipping $ZIP failed"
  [[ -d $tmp/keycloak-$KC_VERSION/bin ]] || die "$ZIP holds no keycloak-$KC_VERSION/bin"
  chmod +x "$tmp/keycloak-$KC_VERSION"/bin/*.sh
  mv "$tmp/keycloak-$KC_VERSION" "$DIST"
  rm -rf "$tmp"
  touch "$DIST/.unzipped"
}

# Puts the realm file where --import-realm reads it. A changed realm file means the dev
# database is dropped, since Keycloak never re-imports a realm that exists.
stage_realm() {
  [[ -f $REALM_FILE ]] || die "no realm file at ${REALM_FILE#"$ROOT"/}"
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$REALM_FILE" \
    || die "${REALM_FILE#"$ROOT"/} is not valid JSON"
  local want have=""
  want=$(sha256sum "$REALM_FILE" | cut -d' ' -f1)
  [[ -f $REALM_STAMP ]] && have=$(<"$REALM_STAMP")
  if [[ $want != "$have" && -d $DIST/data/h2 ]]; then
    say "the realm file changed since the last import: dropping the dev database"
    rm -rf "$DIST/data/h2"
  fi
  mkdir -p "$DIST/data/import"
  cp "$REALM_FILE" "$DIST/data/import/$REALM-realm.json"
  echo "$want" >"$REALM_STAMP"
}

start_idp() {
  apt_install_or_die java openjdk-17-jre-headless
  ensure_dist
  stage_realm
  rm -f "$PID_FILE"
  echo "=== $(date -Is) starting Keycloak $KC_VERSION (start-dev) on $BASE_URL" >>"$OUT_FILE"
  # setsid + nohup: own session and process group, immune to the caller's SIGHUP/SIGINT, so it
  # outlives make. 9>&- : do not hand the lock below to Keycloak.
  KC_BOOTSTRAP_ADMIN_USERNAME=${KC_BOOTSTRAP_ADMIN_USERNAME:-admin} \
  KC_BOOTSTRAP_ADMIN_PASSWORD=${KC_BOOTSTRAP_ADMIN_PASSWORD:-admin} \
    setsid nohup "$DIST/bin/kc.sh" start-dev --http-port="$PORT" --http-host="$HOST" --import-realm \
    </dev/null >>"$OUT_FILE" 2>&1 9>&- &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  say "started Keycloak (pid $pid), log in ${OUT_FILE#"$ROOT"/}; ready in ~40 s the first time (build + import), ~10-20 s later"
}

wait_ready() { # wait_ready PID DEADLINE
  local pid=$1 deadline=$2
  until realm_answers; do
    if [[ -n $pid ]] && ! alive "$pid"; then
      rm -f "$PID_FILE"
      echo "--- ${OUT_FILE#"$ROOT"/} (last lines)" >&2
      tail -n 30 "$OUT_FILE" >&2 || true
      die "Keycloak exited during start-up (see ${OUT_FILE#"$ROOT"/})"
    fi
    ((SECONDS < deadline)) || die "realm '$REALM' does not answer at $WELL_KNOWN after ${WAIT_S}s (log: ${OUT_FILE#"$ROOT"/})"
    sleep 1
  done
}

cmd_up() {
  local t0=$SECONDS pid=""
  if pid=$(idp_pid); then
    say "already running (pid $pid)"
  elif port_open; then
    pid=""
    if realm_answers; then
      say "a Keycloak not started by this checkout already serves realm '$REALM' at $BASE_URL; using it"
      return 0
    fi
    die "port $PORT is taken by something that does not serve realm '$REALM' (set TAC_IDP_PORT)"
  else
    start_idp
    pid=$(<"$PID_FILE")
  fi
  wait_ready "$pid" $((t0 + WAIT_S))
  say "ready at $BASE_URL/realms/$REALM ($((SECONDS - t0)) s)"
}

cmd_down() {
  local pid
  if ! pid=$(idp_pid); then
    nothing_of_ours_running "$HOST" "$PORT" "$PID_FILE"
    return 0
  fi
  say "stopping Keycloak (pid $pid)"
  # kc.sh forwards SIGTERM to its JVM and waits for it (or the pid is the JVM itself); a SIGKILL
  # goes to the whole process group, so the JVM does not outlive kc.sh.
  stop_started "$pid" "-$pid" "$HOST" "$PORT" "$PID_FILE"
}

cmd_status() {
  local pid
  if pid=$(idp_pid); then
    if realm_answers; then
      say "up (pid $pid) at $BASE_URL/realms/$REALM"
    else
      say "up (pid $pid), starting: realm '$REALM' does not answer yet"
    fi
    return 0
  fi
  if realm_answers; then
    say "up at $BASE_URL/realms/$REALM (not started by this checkout: no pid recorded)"
    return 0
  fi
  say "down"
  return 3
}

cmd_reset() {
  cmd_down
  rm -rf "$DIST/data/h2" "$REALM_STAMP"
  say "dev database dropped: the realm is imported afresh at the next up"
}

main() {
  local cmd=${1:-}
  case $cmd in
    up | down | status | reset) ;;
    *) echo "usage: $0 up|down|status|reset" >&2; exit 2 ;;
  esac
  mkdir -p "$LOCAL_DIR"
  if [[ $cmd != status ]]; then
    # One up/down at a time per checkout (make -j, or tests and a developer at once).
    exec 9>"$LOCK_FILE"
    flock -w 240 9 || die "another idp.sh up/down holds $LOCK_FILE"
  fi
  "cmd_$cmd"
}

main "$@"
