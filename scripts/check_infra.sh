#!/usr/bin/env bash
# Offline checks of the infrastructure code (run by scripts/test.sh; needs scripts/setup.sh to have run):
#   1. cdk synth       infra/app.py into a temp dir with the venv's Python (no AWS credentials, no CDK CLI;
#                      chalice fetches manylinux wheels from PyPI once per requirements.txt, cached in .chalice/)
#   2. cfn-lint        the pinned cfn-lint on every synthesized template: any error or warning fails
#   3. lambda ABI      no native extension in the Lambda assets is built for another Python than the runtime
#   4. asl-validator   every infra/statemachines/*.asl.json (skipped when there is none)
# Prints one line per check, the log of each failed one, and exits non-zero if any failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=.venv/bin/python
CFN_LINT=.venv/bin/cfn-lint
for tool in "$PY" "$CFN_LINT"; do
  [ -x "$tool" ] || { echo "check_infra: $tool is missing; run scripts/setup.sh first" >&2; exit 2; }
done
# jsii (aws-cdk-lib) prints a multi-line banner on an end-of-life Node; the Node version is setup.sh's choice.
if command -v node >/dev/null 2>&1; then
  export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-$(node -p 'process.versions.node.split(".")[0]')}"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-infra.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
OUT="$WORK/cdk.out"
FAILED=0

# check NAME CMD... : run CMD with its output in a log; print "ok"/"FAILED" with the time, and the log on failure
check() {
  local name=$1 began=$SECONDS log
  shift
  log="$WORK/check-$RANDOM.log"
  if "$@" >"$log" 2>&1; then
    echo "ok      $name ($((SECONDS - began)) s)"
  else
    echo "FAILED  $name (exit $?)"
    sed 's/^/    /' "$log"
    FAILED=1
  fi
}

check "cdk synth (infra/app.py)" env CDK_OUTDIR="$OUT" "$PY" infra/app.py

shopt -s nullglob
templates=("$OUT"/*.template.json)
if [ "${#templates[@]}" = 0 ]; then
  echo "FAILED  cfn-lint (no template was synthesized)"
  FAILED=1
fi
for template in "${templates[@]}"; do
  check "cfn-lint $("$CFN_LINT" --version | cut -d' ' -f2) $(basename "$template")" "$CFN_LINT" -- "$template"
done

if [ "${#templates[@]}" != 0 ]; then
  check "lambda assets match the function runtime" "$PY" - "$OUT" <<'PY'
"""Fail if a Lambda asset holds a CPython extension built for another Python than the functions' runtime."""
import json, re, sys, zipfile
from pathlib import Path

out = Path(sys.argv[1])
runtimes = {
    resource["Properties"].get("Runtime")
    for template in out.glob("*.template.json")
    for resource in json.loads(template.read_text())["Resources"].values()
    if resource["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")
}
runtimes.discard(None)
if len(runtimes) != 1:
    sys.exit(f"expected one Python runtime across the functions, found {sorted(runtimes)}")
want = "cp" + runtimes.pop().removeprefix("python").replace(".", "")
bad = [
    f"{archive.name}: {name}"
    for archive in sorted(out.glob("asset.*.zip"))
    for name in zipfile.ZipFile(archive).namelist()
    if (tag := re.search(r"\.cpython-(\d+)-", name)) and "cp" + tag.group(1) != want
]
print(f"runtime ABI {want}; {len(bad)} mismatched extension module(s)")
sys.exit("\n".join(bad) if bad else 0)
PY
fi

definitions=(infra/statemachines/*.asl.json)
if [ "${#definitions[@]}" = 0 ]; then
  echo "skipped asl-validator (no infra/statemachines/*.asl.json)"
fi
for definition in "${definitions[@]}"; do
  check "asl-validator $definition" npx --no-install asl-validator --json-path "$definition"
done

exit "$FAILED"
