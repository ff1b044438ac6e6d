#!/usr/bin/env bash
# Runs the README's walkthrough exactly as written (the ```sh walkthrough
# block), as a new user would paste it, and checks what it printed.
set -euo pipefail
cd "$(dirname "$0")/.."

block="$(awk '/^```sh walkthrough$/ {on=1; next} on && /^```$/ {exit} on {print}' README.md)"
[ -n "$block" ] || { echo "no walkthrough block in README.md"; exit 1; }
rm -rf walkthrough-data walkthrough-creds.toml walkthrough-server.log walkthrough-server.pid \
       operator.token city.token county.token submit.json corrected.md walkthrough.out
cleanup() {
  if [ -f walkthrough-server.pid ] && kill -0 "$(cat walkthrough-server.pid)" 2>/dev/null; then
    kill "$(cat walkthrough-server.pid)" || true
  fi
}
trap cleanup EXIT

# The block's own lines, one shell, stop at the first failure.
bash -euo pipefail -c "$block" > walkthrough.out 2>&1 || { cat walkthrough.out; echo "walkthrough failed"; exit 1; }
cat walkthrough.out

expect() {
  grep -qF -- "$1" walkthrough.out || { echo "walkthrough output lacks: $1"; exit 1; }
}
expect 'gongkai.v1.ReportService'
expect 'Code: FailedPrecondition'
expect '"field":"t3.R25.natural_person"'
expect '"field":"t3.R25.total"'
expect 'REPORT_INVALID'
expect 'corrected.md: valid (0 errors, 0 warnings, 0 info)'
expect '"state": "REVIEW_STATE_APPROVED"'
expect '"intact": true'
expect '"approvedReports": "1"'
expect 'not_started LATE 2025-01-31 112305230123456860 宝清县财政局'
expect 'agencies/112305230123456785,宝清县人民政府,4,78,0,0'
states="$(grep -o 'REVIEW_STATE_[A-Z]*' walkthrough.out | tail -4 | tr '\n' ' ')"
[ "$states" = "REVIEW_STATE_SUBMITTED REVIEW_STATE_RETURNED REVIEW_STATE_SUBMITTED REVIEW_STATE_APPROVED " ] \
  || { echo "revision states: $states"; exit 1; }
# The server stopped cleanly on SIGTERM.
for _ in $(seq 1 50); do kill -0 "$(cat walkthrough-server.pid)" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$(cat walkthrough-server.pid)" 2>/dev/null; then echo "server still running after SIGTERM"; exit 1; fi
grep -q 'store flushed' walkthrough-server.log || { echo "server did not flush on SIGTERM"; cat walkthrough-server.log; exit 1; }
echo "README walkthrough: ok"
