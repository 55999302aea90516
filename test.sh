#!/usr/bin/env bash
# Runs every test in the solution against its own in-memory Azurite on free ports (so it never
# collides with a running ./run.sh), prints "N passed, N failed[, N skipped]" and exits non-zero on any failure.
set -euo pipefail
source "$(dirname "$0")/scripts/common.sh"

source "$ROOT/scripts/dashboard.sh"

require_tools
install_npm_packages
install_chromium
# The query app ships dashboard/dist as its wwwroot, so the dashboard is built before the solution.
build_dashboard

RESULTS="$ROOT/TestResults"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"

AZURITE_PID=""
cleanup() { trap - INT TERM EXIT; stop_pid "$AZURITE_PID"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BLOB=$(free_port); QUEUE=$(free_port); TABLE=$(free_port)
start_azurite "$BLOB" "$QUEUE" "$TABLE" --inMemoryPersistence
export WEIGHTLESS_TEST_STORAGE="$(connection_string "$BLOB" "$QUEUE" "$TABLE")"
export Logging__LogLevel__Default=Warning

log "Building the solution..."
dotnet build "$ROOT/Serverless.sln" -c Release -nologo -clp:ErrorsOnly -v quiet

log "Running the tests..."
set +e
log "Dashboard unit tests (Vitest)..."
test_dashboard_unit "$RESULTS/vitest.json"
vitest_status=$?
dotnet test "$ROOT/Serverless.sln" -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$RESULTS"
status=$?
set -e

# VSTest's summary is not a recognised closing line; count the outcomes from the TRX files.
read -r passed failed skipped < <(python3 - "$RESULTS" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    counters = ET.parse(path).getroot().find("t:ResultSummary/t:Counters", ns)
    if counters is None:
        continue
    p += int(counters.get("passed", 0))
    f += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
    s += int(counters.get("notExecuted", 0))
import json, os
vitest = os.path.join(sys.argv[1], "vitest.json")
if os.path.exists(vitest):
    report = json.load(open(vitest))
    p += report.get("numPassedTests", 0)
    f += report.get("numFailedTests", 0)
    s += report.get("numPendingTests", 0) + report.get("numTodoTests", 0)
print(p, f, s)
PY
)
if [ "$vitest_status" -ne 0 ] && [ "$status" -eq 0 ]; then status=$vitest_status; fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
line="$passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then line="$line, $skipped skipped"; fi
echo "$line"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
