#!/usr/bin/env bash
# The project's test command (README: ./gatehouse test [pytest args]; CI: .ci/run).
# Sets the machine up (with the browser), then runs, stopping at the first failure:
#   ruff check, ruff format --check (when ruff is configured), mypy (when configured), lint-imports (when
#   .importlinter exists), scripts/check_infra.sh (when present), and pytest -q tests/ with any extra arguments.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ "${CI:-}" = "true" ]; then
  export PYTHONUNBUFFERED=1 NO_COLOR=1 DEBIAN_FRONTEND=noninteractive
fi

SUMMARY=()
START=$SECONDS

finish() {
  local rc=$1
  echo
  echo "== summary ($((SECONDS - START)) s)"
  local line
  for line in "${SUMMARY[@]}"; do echo "   $line"; done
  if [ "$rc" = 0 ]; then echo "== all checks passed"; else echo "== FAILED"; fi
  exit "$rc"
}

step() {
  local name=$1
  shift
  local began=$SECONDS
  echo "== $name"
  "$@"
  local rc=$?
  if [ "$rc" = 0 ]; then
    SUMMARY+=("ok      $name ($((SECONDS - began)) s)")
  else
    SUMMARY+=("FAILED  $name (exit $rc)")
    finish "$rc"
  fi
}

skip() { SUMMARY+=("skipped $1 ($2)"); }

has_pyproject_section() { [ -f pyproject.toml ] && grep -Eq "^\[$1([].]|$)" pyproject.toml; }

step "setup" scripts/setup.sh --with-browser
BIN=.venv/bin

step "ruff check" "$BIN/ruff" check .
if [ -f ruff.toml ] || [ -f .ruff.toml ] || has_pyproject_section "tool\.ruff"; then
  step "ruff format --check" "$BIN/ruff" format --check .
else
  skip "ruff format --check" "no ruff configuration"
fi

if [ -f mypy.ini ] || [ -f .mypy.ini ] || has_pyproject_section "tool\.mypy"; then
  if grep -Eqs "^files *=" mypy.ini .mypy.ini || (has_pyproject_section "tool\.mypy" && grep -Eq "^files *=" pyproject.toml); then
    step "mypy" "$BIN/mypy"
  else
    step "mypy" "$BIN/mypy" app.py chalicelib infra
  fi
else
  skip "mypy" "no mypy configuration"
fi

if [ -f .importlinter ]; then
  step "lint-imports" "$BIN/lint-imports"
else
  skip "lint-imports" "no .importlinter"
fi

if [ -f scripts/check_infra.sh ]; then
  step "infra checks" bash scripts/check_infra.sh
else
  skip "infra checks" "no scripts/check_infra.sh"
fi

# tests/ unless the arguments already name what to run (a path, or a node id such as file.py::test)
TARGET=(tests/)
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *::*) TARGET=() ;;
    *) if [ -e "$arg" ]; then TARGET=(); fi ;;
  esac
done
step "pytest" "$BIN/python" -m pytest -q "${TARGET[@]}" "$@"
finish 0
