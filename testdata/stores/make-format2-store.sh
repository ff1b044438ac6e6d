#!/usr/bin/env bash
# Makes testdata/stores/format2/: a store written by the release before
# issue 14 (store format 2, request fingerprints named by the message verbs
# of that release), for crates/store/tests/upgrade.rs, which opens it with
# today's code and retries every request id below.
#
#   bash testdata/stores/make-format2-store.sh PATH/TO/gongkai
#
# PATH/TO/gongkai must be built from commit a53ce50 (main before the store
# split): `git worktree add /tmp/a53ce50 a53ce50 && cargo build --release
# --bin gongkai` there. What it does, through the public API only:
#   serve --local-trial --seed-sample   (four agencies, the sample as a draft)
#   SaveDraft      upgrade/draft       the corrected sample, revision 2
#   SubmitReport   upgrade/submit      revision 2 submitted as it is (3)
#   ReturnReport   upgrade/return      with one comment (4)
#   SubmitReport   upgrade/resubmit    new content, submitted at once (5)
#   ApproveReport  upgrade/approve     (6)
#   UpdateAgencySupervisor upgrade/move   教育局 under the city (version 2)
#   RegisterAgency upgrade/register    a fifth agency under the county
# Each answer is kept in answers.json; then the server is stopped (SIGTERM,
# so the store is flushed) and the store's directory is copied here.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="${1:?usage: $0 PATH/TO/gongkai (built from a53ce50)}"
OUT=testdata/stores/format2
command -v grpcurl >/dev/null || { echo "grpcurl not on PATH" >&2; exit 1; }

TMP="$(mktemp -d)"
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

"$BIN" serve --local-trial --seed-sample --listen 127.0.0.1:0 --data "$TMP/data" \
    >"$TMP/out" 2>"$TMP/err" &
SERVER=$!
for _ in $(seq 1 300); do
    grep -q '^gongkai listening on ' "$TMP/out" 2>/dev/null && break
    sleep 0.1
done
ADDR="$(sed -n 's/^gongkai listening on \([^ ]*\) .*/\1/p' "$TMP/out")"
[ -n "$ADDR" ] || { cat "$TMP/err" >&2; exit 1; }
TOKEN="$(cat "$TMP/data/local-trial.token")"

COUNTY=112305230123456785
CITY=11230500012345678T
EDUCATION=11230523012345694T
NEW=11230523012345700T
REPORT="agencies/$COUNTY/reports/2024"
CORRECTED="$(cat testdata/json/baoqing-county-2024-corrected.json)"

call() { # METHOD JSON
    grpcurl -plaintext -H "authorization: Bearer $TOKEN" -d "$2" "$ADDR" "gongkai.v1.$1"
}

{
    echo '{'
    printf '"upgrade/draft": %s,\n' "$(call ReportService/SaveDraft \
        "{\"name\": \"$REPORT\", \"expected_revision\": 1, \"request_id\": \"upgrade/draft\", \"report\": $CORRECTED}")"
    printf '"upgrade/submit": %s,\n' "$(call ReportService/SubmitReport \
        "{\"name\": \"$REPORT\", \"expected_revision\": 2, \"request_id\": \"upgrade/submit\"}")"
    printf '"upgrade/return": %s,\n' "$(call ReviewService/ReturnReport \
        "{\"name\": \"$REPORT\", \"expected_revision\": 3, \"request_id\": \"upgrade/return\", \"comments\": [{\"text\": \"请核对第三部分\", \"cell\": \"t3.R25.total\"}]}")"
    printf '"upgrade/resubmit": %s,\n' "$(call ReportService/SubmitReport \
        "{\"name\": \"$REPORT\", \"expected_revision\": 4, \"request_id\": \"upgrade/resubmit\", \"report\": $CORRECTED}")"
    printf '"upgrade/approve": %s,\n' "$(call ReviewService/ApproveReport \
        "{\"name\": \"$REPORT\", \"expected_revision\": 5, \"request_id\": \"upgrade/approve\"}")"
    printf '"upgrade/move": %s,\n' "$(call AgencyService/UpdateAgencySupervisor \
        "{\"name\": \"agencies/$EDUCATION\", \"supervisor\": \"agencies/$CITY\", \"expected_version\": 1, \"request_id\": \"upgrade/move\"}")"
    printf '"upgrade/register": %s\n' "$(call AgencyService/RegisterAgency \
        "{\"request_id\": \"upgrade/register\", \"agency\": {\"uscc\": \"$NEW\", \"display_name\": \"宝清县民政局\", \"region_code\": \"230523\", \"level\": \"AGENCY_LEVEL_COUNTY\", \"kind\": \"AGENCY_KIND_DEPARTMENT\", \"supervisor\": \"agencies/$COUNTY\"}}")"
    echo '}'
} >"$TMP/answers.json"
python3 -m json.tool "$TMP/answers.json" >/dev/null

kill -TERM "$SERVER"
wait "$SERVER" || true
SERVER=

rm -rf "$OUT"
mkdir -p "$OUT"
# The store as the release left it, but the trial token (a secret of that run).
cp -r "$TMP/data/." "$OUT/"
rm -f "$OUT/local-trial.token"
cp "$TMP/answers.json" "$OUT/../format2-answers.json"
"$BIN" verify --data "$OUT"
du -sh "$OUT"
