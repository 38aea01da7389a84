#!/usr/bin/env bash
# Local PostgreSQL (Debian's package) for development and tests.
#
#   scripts/pg.sh up       install postgresql if absent, start the cluster, wait, create the
#                          role tac/tac and the database tac_test (idempotent)
#   scripts/pg.sh down     stop the cluster
#   scripts/pg.sh status   "up" / "down" (exit 0 / 3)
#
# Tests connect with postgresql+psycopg://tac:tac@127.0.0.1:5432/tac_test (password auth over
# TCP on 127.0.0.1). Needs root (apt-get, runuser).
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
PG_CLUSTER=main
DB_ROLE=tac
DB_PASSWORD=tac
DB_NAMES=(tac_test)
WAIT_S=${TAC_PG_WAIT_S:-60}

die() { echo "pg: $*" >&2; exit 1; }
say() { echo "pg: $*"; }

# psql as the postgres superuser over the unix socket (peer auth). cd / first: postgres cannot
# read root's home, and psql warns about it.
su_psql() {
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@")
}

server_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

install_server() {
  server_installed && return 0
  [[ $(id -u) == 0 ]] || die "postgresql is not installed and this is not root: apt-get install -y postgresql"
  say "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null 9>&-
  server_installed || die "apt-get install postgresql did not provide pg_ctlcluster and a server"
}

# The version of the newest existing "main" cluster whose server is installed (what
# `ls /etc/postgresql` shows), else the newest installed server (e.g. 15 on Debian 12).
pg_version() {
  local ver dir
  for dir in $(ls -d /etc/postgresql/*/"$PG_CLUSTER" 2>/dev/null | sort -V -r); do
    ver=$(basename "$(dirname "$dir")")
    if [[ -x /usr/lib/postgresql/$ver/bin/postgres ]]; then
      echo "$ver"
      return
    fi
  done
  ver=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null \
    | awk -F/ '{print $5}' | sort -V | tail -n 1)
  [[ -n $ver ]] || die "no PostgreSQL server under /usr/lib/postgresql"
  echo "$ver"
}

ensure_cluster() {
  local ver=$1
  if [[ ! -f /etc/postgresql/$ver/$PG_CLUSTER/postgresql.conf ]]; then
    say "creating cluster $ver/$PG_CLUSTER on port $PG_PORT"
    pg_createcluster --port "$PG_PORT" "$ver" "$PG_CLUSTER" >/dev/null
  fi
  local port
  port=$(pg_conftool -s "$ver" "$PG_CLUSTER" show port 2>/dev/null || echo "$PG_PORT")
  [[ $port == "$PG_PORT" ]] \
    || die "cluster $ver/$PG_CLUSTER uses port $port, tests expect $PG_PORT (/etc/postgresql/$ver/$PG_CLUSTER/postgresql.conf)"
  # Password (scram/md5) auth over TCP from 127.0.0.1: Debian's default pg_hba.conf has it;
  # add it if someone removed it.
  local hba=/etc/postgresql/$ver/$PG_CLUSTER/pg_hba.conf
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+(scram-sha-256|md5)' "$hba"; then
    say "allowing password logins from 127.0.0.1 in $hba"
    printf '\n# added by scripts/pg.sh (TAC tests)\nhost    all    all    127.0.0.1/32    scram-sha-256\n' >>"$hba"
    HBA_CHANGED=1
  fi
}

cluster_running() {
  local ver=$1
  pg_ctlcluster "$ver" "$PG_CLUSTER" status >/dev/null 2>&1
}

wait_ready() {
  local deadline=$((SECONDS + WAIT_S))
  until pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; do
    ((SECONDS < deadline)) || die "PostgreSQL is not accepting connections on $PG_HOST:$PG_PORT after ${WAIT_S}s"
    sleep 0.3
  done
}

ensure_role_and_databases() {
  su_psql -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_ROLE') THEN
    CREATE ROLE $DB_ROLE LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_ROLE LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  END IF;
END
\$\$;
-- The tests drop each throwaway database WITH (FORCE). An autovacuum worker still
-- connected to it runs as no role, so terminating it needs pg_signal_backend
-- (PostgreSQL's TerminateOtherDBBackends); without it the drop fails at random.
GRANT pg_signal_backend TO $DB_ROLE;
SQL
  local db
  for db in "${DB_NAMES[@]}"; do
    if [[ -z $(su_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
      say "creating database $db owned by $DB_ROLE"
      su_psql -d postgres -c "CREATE DATABASE $db OWNER $DB_ROLE"
    fi
  done
}

cmd_up() {
  local t0=$SECONDS ver
  HBA_CHANGED=0
  install_server
  ver=$(pg_version)
  ensure_cluster "$ver"
  if cluster_running "$ver"; then
    ((HBA_CHANGED)) && pg_ctlcluster "$ver" "$PG_CLUSTER" reload 9>&-
    say "cluster $ver/$PG_CLUSTER already running"
  else
    say "starting cluster $ver/$PG_CLUSTER"
    pg_ctlcluster "$ver" "$PG_CLUSTER" start 9>&-  # the server must not inherit the lock
  fi
  wait_ready
  ensure_role_and_databases
  say "ready at postgresql://$DB_ROLE:***@$PG_HOST:$PG_PORT/${DB_NAMES[0]} ($((SECONDS - t0)) s)"
}

cmd_down() {
  if ! server_installed; then
    say "not installed"
    return 0
  fi
  local ver
  ver=$(pg_version)
  if [[ -f /etc/postgresql/$ver/$PG_CLUSTER/postgresql.conf ]] && cluster_running "$ver"; then
    pg_ctlcluster "$ver" "$PG_CLUSTER" stop
    say "stopped cluster $ver/$PG_CLUSTER"
  else
    say "not running"
  fi
}

cmd_status() {
  if server_installed; then
    local ver
    ver=$(pg_version)
    if [[ -f /etc/postgresql/$ver/$PG_CLUSTER/postgresql.conf ]] && cluster_running "$ver"; then
      say "up (cluster $ver/$PG_CLUSTER, $PG_HOST:$PG_PORT)"
      return 0
    fi
  fi
  say "down"
  return 3
}

case ${1:-} in
  up | down)
    # PostgreSQL is machine-wide: one up/down at a time on this machine.
    exec 9>/tmp/tac-pg.lock
    flock -w 300 9 || die "another scripts/pg.sh holds /tmp/tac-pg.lock"
    "cmd_$1"
    ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
