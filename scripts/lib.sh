# Shell functions the scripts in scripts/ share: sourced, never run. A script sets SCRIPT_NAME
# (the prefix of its messages) and LOCAL_DIR (where apt's log goes) before using them.

die() { echo "$SCRIPT_NAME: $*" >&2; exit 1; }
say() { echo "$SCRIPT_NAME: $*"; }

# True when pid $1 exists and is not a zombie (PID 1 in a container may not reap it).
alive() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# Prints the pid recorded in file $1 while that process runs and its command line (NUL-separated
# arguments as lines) matches one of the grep patterns after it; else fails. A recorded pid can
# have been reused by an unrelated process after a reboot: the command line tells them apart.
recorded_pid() { # recorded_pid PID_FILE GREP_ARGS...
  local file=$1 pid
  shift
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$@" || return 1
  echo "$pid"
}

# True when something accepts TCP connections on host $1, port $2 (bash's /dev/tcp: no nc needed).
tcp_open() { # tcp_open HOST PORT
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# As root with apt-get, a missing command is installed from Debian; otherwise one line names it.
apt_install_or_die() { # apt_install_or_die COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "$1 not found: installing Debian's $2"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2"; } \
      >"$LOCAL_DIR/apt.log" 2>&1 || die "installing $2 failed (log: ${LOCAL_DIR#"$ROOT"/}/apt.log)"
    command -v "$1" >/dev/null 2>&1 && return 0
  fi
  die "$1 not found: install it with 'apt-get install -y $2'"
}

# Stops what this checkout started: SIGTERM to pid $1, SIGKILL to $2 (the pid, or "-PGID" for its
# whole process group) after 30 s, then waits up to 10 s for host $3 port $4 to close: the pid can be
# gone (or a zombie) while its last threads still hold the listener. Removes the pid file $5.
stop_started() { # stop_started PID KILL_TARGET HOST PORT PID_FILE
  local pid=$1 target=$2 host=$3 port=$4 pid_file=$5
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.3; done
  if alive "$pid"; then
    say "still running after 30 s: SIGKILL"
    kill -KILL -- "$target" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$pid_file"
  local port_deadline=$((SECONDS + 10))
  while tcp_open "$host" "$port" && ((SECONDS < port_deadline)); do sleep 0.2; done
  say "stopped"
}

# `down` when no pid of ours runs: forget a stale pid file, and say whether something else listens.
nothing_of_ours_running() { # nothing_of_ours_running HOST PORT PID_FILE
  rm -f "$3"
  if tcp_open "$1" "$2"; then
    say "not started by this checkout, but something listens on $1:$2 (left alone)"
  else
    say "not running"
  fi
}
