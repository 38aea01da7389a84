#!/usr/bin/env bash
# Creates/updates the project's virtualenv (.venv) from requirements.lock. Idempotent and fast
# when nothing changed: the sync is skipped while .venv/.lock-stamp holds the sha256 of
# requirements.lock, pyproject.toml (the editable install depends on it) and the sync's options.
#
# Environment: PYTHON  interpreter to create .venv with (default: python3.11, else python3 if
#                      it is 3.11)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

VENV=$ROOT/.venv
STAMP=$VENV/.lock-stamp
LOCK=$ROOT/requirements.lock
# uv is not in requirements.lock (it installs it); pin it so every machine resolves alike.
UV_VERSION=${TAC_UV_VERSION:-0.13.9}

die() { echo "install: $*" >&2; exit 1; }
say() { echo "install: $*"; }

find_python() {
  if [[ -n ${PYTHON:-} ]]; then
    echo "$PYTHON"
    return
  fi
  local candidate
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return
    fi
  done
  die "no Python 3.11 found: install it with 'apt-get install -y python3 python3-venv' (Debian 12)"
}

t0=$SECONDS

# One install at a time per checkout (make -j, or several people in one tree).
mkdir -p "$ROOT/.local"
exec 9>"$ROOT/.local/install.lock"
flock -w 600 9 || die "another scripts/install.sh holds .local/install.lock"

if [[ ! -x $VENV/bin/python ]]; then
  py=$(find_python)
  "$py" -c 'import ensurepip, venv' 2>/dev/null \
    || die "$py cannot create virtualenvs: install it with 'apt-get install -y python3-venv'"
  say "creating .venv with $py ($("$py" --version 2>&1))"
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
fi

"$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die ".venv is not Python 3.11 ($("$VENV/bin/python" --version 2>&1)): remove .venv and rerun"

if [[ ! -x $VENV/bin/uv ]] || [[ $("$VENV/bin/uv" --version 2>/dev/null | awk '{print $2}') != "$UV_VERSION" ]]; then
  say "installing uv $UV_VERSION into .venv"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

# `npm ci` in folder $1 from its package-lock.json while node_modules is missing or the lock
# changed (a stamp like .venv's). $2 says what needs it, for the error when npm is missing.
npm_ci() { # npm_ci DIR PURPOSE
  local dir=$1 purpose=$2
  [[ -f $dir/package-lock.json ]] || return 0
  command -v npm >/dev/null 2>&1 || die "npm not found (needed for $purpose): apt-get install -y nodejs npm"
  local stamp=$dir/node_modules/.lock-stamp want have=""
  want=$(cat "$dir/package-lock.json" "$dir/package.json" | sha256sum | cut -d' ' -f1)
  [[ -f $stamp ]] && have=$(<"$stamp")
  if [[ ! -d $dir/node_modules || $want != "$have" ]]; then
    say "npm ci (${dir#"$ROOT"/})"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >"$stamp"
  fi
}

# The official AsyncAPI parser, which the unit tests run on schemas/asyncapi.yaml.
install_node_tools() {
  npm_ci "$ROOT/tools/asyncapi" "the AsyncAPI document check in the tests"
}

# The web service's front-end assets (services/web): its npm packages, then the stylesheet
# compiled from GOV.UK Frontend's Sass into services/web/build/ (git-ignored) when it is missing
# or its sources changed. Nothing is fetched by the running service.
WEB=$ROOT/services/web
install_web_assets() {
  [[ -f $WEB/package-lock.json ]] || return 0
  npm_ci "$WEB" "services/web's GOV.UK Frontend"
  local npm_stamp=$WEB/node_modules/.lock-stamp
  local css=$WEB/build/tac.css css_stamp=$WEB/build/.css-stamp css_want css_have=""
  css_want=$(cat "$npm_stamp" "$WEB"/assets/scss/*.scss | sha256sum | cut -d' ' -f1)
  [[ -f $css_stamp ]] && css_have=$(<"$css_stamp")
  if [[ ! -f $css || $css_want != "$css_have" ]]; then
    say "compiling services/web/build/tac.css"
    mkdir -p "$WEB/build"
    (cd "$WEB" && node_modules/.bin/sass --no-source-map --style=compressed --load-path=node_modules \
      --quiet-deps assets/scss/tac.scss build/tac.css)
    echo "$css_want" >"$css_stamp"
  fi
}

# Bytecode compiled once here, not by every process that starts: Python writes no .pyc where
# PYTHONDONTWRITEBYTECODE is set (as on CI machines), and then compiled every imported module
# at each start. Importing a service took 4.9 s that way and 2.0-2.4 s with the .pyc files, and a
# service's first authenticated request compiled anyio's thread backend (~0.4 s) on the spot.
SYNC_OPTIONS=(--compile-bytecode)

want=$( (cat "$LOCK" "$ROOT/pyproject.toml"; echo "${SYNC_OPTIONS[*]}") | sha256sum | cut -d' ' -f1)
have=""
[[ -f $STAMP ]] && have=$(<"$STAMP")
if [[ $want == "$have" ]]; then
  install_web_assets
  install_node_tools
  say ".venv up to date with requirements.lock ($((SECONDS - t0)) s)"
  exit 0
fi

rm -f "$STAMP"
export VIRTUAL_ENV=$VENV
say "syncing .venv with requirements.lock"
"$VENV/bin/uv" pip sync --quiet "${SYNC_OPTIONS[@]}" --python "$VENV/bin/python" "$LOCK"
say "installing the project (editable)"
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" -e . --no-deps
echo "$want" >"$STAMP"
install_web_assets
install_node_tools
say "done ($((SECONDS - t0)) s)"
