"""A Python grpcio client of `gongkai serve`: proof that systems not written in
Rust can call gongkai from nothing but proto/.

Stubs are generated from proto/ with grpcio-tools into a temporary directory
at test time; nothing generated is committed. The real binary is started on
127.0.0.1:0 in local-trial mode with a temporary store.

    pip install grpcio grpcio-tools grpcio-status googleapis-common-protos pytest
    cargo build --bin gongkai
    GONGKAI_BIN=target/debug/gongkai python3 -m pytest -q tests/python

GONGKAI_BIN names the binary (default target/debug/gongkai, relative to the
current directory or else to the repository root). See README.md here.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"
SAMPLE_MD = ROOT / "testdata/reports/baoqing-county-2024.md"
INVALID_JSON = ROOT / "testdata/json/baoqing-county-2024.json"
CORRECTED_JSON = ROOT / "testdata/json/baoqing-county-2024-corrected.json"

USCC = "11330700099033995K"  # 宝清县人民政府 here
DEPT_USCC = "11341702486344515H"  # a department under it
REPORT = f"agencies/{USCC}/reports/2024"
START_TIMEOUT = float(os.environ.get("GONGKAI_START_TIMEOUT", "30"))
CALL_TIMEOUT = 15.0

# The subset of grpc.reflection.{v1,v1alpha} this test uses (the two versions
# share field numbers), so reflection can be exercised without grpcio-reflection.
REFLECTION_PROTO = """
syntax = "proto3";
package clienttest.reflection;
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_containing_symbol = 4;
    string list_services = 7;
  }
}
message ServiceResponse { string name = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
"""


# --------------------------------------------------------------- stubs


class Stubs:
    """The generated modules, imported from the temporary directory."""

    def __init__(self, out: Path) -> None:
        sys.path.insert(0, str(out))
        imp = importlib.import_module
        self.report = imp("gongkai.v1.report_pb2")
        self.resources = imp("gongkai.v1.resources_pb2")
        self.agency = imp("gongkai.v1.agency_service_pb2")
        self.agency_grpc = imp("gongkai.v1.agency_service_pb2_grpc")
        self.reports = imp("gongkai.v1.report_service_pb2")
        self.reports_grpc = imp("gongkai.v1.report_service_pb2_grpc")
        self.review_grpc = imp("gongkai.v1.review_service_pb2_grpc")
        self.audit = imp("gongkai.v1.audit_service_pb2")
        self.audit_grpc = imp("gongkai.v1.audit_service_pb2_grpc")
        self.store = imp("gongkai.store.v1.store_pb2")
        self.reflection = imp("clienttest_reflection_pb2")


def protoc(args: list[str]) -> None:
    # `python -m grpc_tools.protoc` adds grpcio-tools' own include directory,
    # which holds google/protobuf/timestamp.proto.
    run = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", *args],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"protoc {' '.join(args)}:\n{run.stderr}"


@pytest.fixture(scope="session")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Stubs:
    out = tmp_path_factory.mktemp("stubs")
    files = sorted(
        str(p.relative_to(PROTO))
        for d in ("gongkai/v1", "gongkai/store/v1")
        for p in (PROTO / d).glob("*.proto")
    )
    assert "gongkai/v1/report_service.proto" in files, files
    protoc(["-I", str(PROTO), f"--python_out={out}", f"--grpc_python_out={out}", *files])
    (out / "clienttest_reflection.proto").write_text(REFLECTION_PROTO, encoding="utf-8")
    protoc(["-I", str(out), f"--python_out={out}", "clienttest_reflection.proto"])
    return Stubs(out)


# -------------------------------------------------------------- server


def binary() -> Path:
    given = Path(os.environ.get("GONGKAI_BIN", "target/debug/gongkai"))
    for candidate in (given, ROOT / given):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    pytest.fail(f"GONGKAI_BIN={given}: no such executable (cargo build --bin gongkai)")


class Server:
    def __init__(self, proc: subprocess.Popen, addr: str, token: str, lines: list[str]):
        self.proc = proc
        self.addr = addr
        self.token = token
        self.lines = lines


def clean_env() -> dict[str, str]:
    # The server must see only the flags given here.
    return {k: v for k, v in os.environ.items() if not k.startswith("GONGKAI_")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("store") / "data"
    err = open(tmp_path_factory.mktemp("log") / "server.err", "w+", encoding="utf-8")
    proc = subprocess.Popen(
        [str(binary()), "serve", "--listen", "127.0.0.1:0", "--data", str(data), "--local-trial"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
        encoding="utf-8",
        env=clean_env(),
    )
    # stdout is read to its end by a thread, so the server never blocks on it;
    # the lines arrive here, and the start-up wait is bounded.
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    addr = token = None
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while addr is None or token is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no listening/token lines within {START_TIMEOUT}s: {seen}")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                err.seek(0)
                raise AssertionError(
                    f"the server exited ({proc.wait()}) before listening: {seen}\n{err.read()}"
                )
            seen.append(line)
            if m := re.fullmatch(r"gongkai listening on (\S+) \(plaintext\)", line):
                addr = m.group(1)
            elif m := re.fullmatch(r"token: (gk_[0-9a-f]+)", line):
                token = m.group(1)
        yield Server(proc, addr, token, seen)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        err.close()


@pytest.fixture(scope="module")
def channel(server: Server):
    ch = grpc.insecure_channel(server.addr)
    grpc.channel_ready_future(ch).result(timeout=START_TIMEOUT)
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def auth(server: Server) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {server.token}")]


@pytest.fixture(scope="module")
def county(stubs: Stubs, channel, auth) -> str:
    """Registers 宝清县人民政府 and one department under it."""
    agencies = stubs.agency_grpc.AgencyServiceStub(channel)
    r = stubs.resources
    resp = agencies.RegisterAgency(
        stubs.agency.RegisterAgencyRequest(
            agency=r.Agency(
                uscc=USCC,
                display_name="宝清县人民政府",
                region_code="230523",
                level=stubs.report.AGENCY_LEVEL_COUNTY,
                kind=r.AGENCY_KIND_GOVERNMENT,
            ),
            request_id="py-register-county",
        ),
        metadata=auth,
        timeout=CALL_TIMEOUT,
    )
    assert resp.agency == r.Agency(
        name=f"agencies/{USCC}",
        uscc=USCC,
        display_name="宝清县人民政府",
        region_code="230523",
        level=stubs.report.AGENCY_LEVEL_COUNTY,
        kind=r.AGENCY_KIND_GOVERNMENT,
        version=1,
    )
    dept = agencies.RegisterAgency(
        stubs.agency.RegisterAgencyRequest(
            agency=r.Agency(
                uscc=DEPT_USCC,
                display_name="宝清县财政局",
                region_code="230523",
                level=stubs.report.AGENCY_LEVEL_COUNTY,
                kind=r.AGENCY_KIND_DEPARTMENT,
                supervisor=f"agencies/{USCC}",
            ),
            request_id="py-register-department",
        ),
        metadata=auth,
        timeout=CALL_TIMEOUT,
    )
    assert dept.agency.supervisor == f"agencies/{USCC}"
    assert dept.agency.version == 1
    return USCC


def load_report(stubs: Stubs, path: Path):
    """The fixture JSON as a gongkai.v1.AnnualReport (proto3 JSON mapping)."""
    return json_format.Parse(path.read_text(encoding="utf-8"), stubs.report.AnnualReport())


def latest_revision(stubs: Stubs, channel, auth) -> int:
    """The report's latest revision, 0 when there is none."""
    reports = stubs.reports_grpc.ReportServiceStub(channel)
    try:
        got = reports.GetReport(
            stubs.reports.GetReportRequest(name=REPORT), metadata=auth, timeout=CALL_TIMEOUT
        )
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e
        return 0
    return got.revision.revision


# --------------------------------------------------------------- tests


def test_fixtures_are_the_imported_sample(stubs: Stubs) -> None:
    """testdata/json/ holds exactly what `gongkai import` reads from the
    published sample, and the corrected one differs only in R25."""
    run = subprocess.run(
        [str(binary()), "import", str(SAMPLE_MD)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env(),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    imported = json_format.Parse(run.stdout, stubs.report.AnnualReport())
    sample = load_report(stubs, INVALID_JSON)
    assert sample == imported
    corrected = load_report(stubs, CORRECTED_JSON)
    r25 = sample.applications.carried_forward
    assert (r25.natural_person, r25.total) == (1, 1)
    sample.applications.carried_forward.natural_person = 0
    sample.applications.carried_forward.total = 0
    assert corrected == sample


def test_local_trial_is_announced(server: Server) -> None:
    assert any(line.startswith("LOCAL TRIAL MODE") for line in server.lines), server.lines


def test_health_serving_without_token(channel) -> None:
    # grpc.health.v1.HealthCheckRequest{} is empty; the response
    # HealthCheckResponse{status: SERVING (1)} encodes as 08 01.
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    assert check(b"", timeout=CALL_TIMEOUT) == b"\x08\x01"


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_lists_services_and_error_details(stubs: Stubs, channel, version) -> None:
    R = stubs.reflection
    info = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=R.ServerReflectionRequest.SerializeToString,
        response_deserializer=R.ServerReflectionResponse.FromString,
    )
    listed, files = info(
        iter(
            [
                R.ServerReflectionRequest(list_services=""),
                R.ServerReflectionRequest(file_containing_symbol="google.rpc.BadRequest"),
            ]
        ),
        timeout=CALL_TIMEOUT,
    )
    assert listed.WhichOneof("message_response") == "list_services_response", listed
    assert {s.name for s in listed.list_services_response.service} >= {
        "gongkai.v1.AgencyService",
        "gongkai.v1.ReportService",
        "gongkai.v1.ReviewService",
        "gongkai.v1.AuditService",
        "grpc.health.v1.Health",
        # Each version lists both reflection services.
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert files.WhichOneof("message_response") == "file_descriptor_response", files
    assert files.file_descriptor_response.file_descriptor_proto, files


def test_calls_without_a_valid_token_are_unauthenticated(stubs: Stubs, channel) -> None:
    agencies = stubs.agency_grpc.AgencyServiceStub(channel)
    for metadata in ([], [("authorization", "Bearer gk_0000")]):
        with pytest.raises(grpc.RpcError) as err:
            agencies.ListAgencies(
                stubs.agency.ListAgenciesRequest(), metadata=metadata, timeout=CALL_TIMEOUT
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, err.value


def test_invalid_sample_is_refused_with_decodable_details(
    stubs: Stubs, channel, auth, county
) -> None:
    reports = stubs.reports_grpc.ReportServiceStub(channel)
    before = latest_revision(stubs, channel, auth)
    with pytest.raises(grpc.RpcError) as err:
        reports.SubmitReport(
            stubs.reports.SubmitReportRequest(
                name=REPORT,
                report=load_report(stubs, INVALID_JSON),
                expected_revision=before,
                request_id="py-submit-sample",
            ),
            metadata=auth,
            timeout=CALL_TIMEOUT,
        )
    call = err.value
    assert call.code() == grpc.StatusCode.FAILED_PRECONDITION, call
    assert call.details() == "the report has 2 error finding(s) and cannot be submitted"

    status = rpc_status.from_call(call)
    assert status is not None, "no grpc-status-details-bin trailer"
    assert status.code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    bad_request = error_details_pb2.BadRequest()
    info = error_details_pb2.ErrorInfo()
    kinds = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            detail.Unpack(bad_request)
            kinds.append("BadRequest")
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
            kinds.append("ErrorInfo")
        else:
            kinds.append(detail.type_url)
    assert sorted(kinds) == ["BadRequest", "ErrorInfo"]

    assert [v.field for v in bad_request.field_violations] == [
        "t3.R25.natural_person",
        "t3.R25.total",
    ]
    for v in bad_request.field_violations:
        assert v.description.startswith("t3.balance: "), v.description
        assert v.description.endswith("(expected 78, actual 79)"), v.description
    assert info.reason == "REPORT_INVALID"
    assert info.domain == "gongkai"
    assert info.metadata["errors"] == "2"
    assert info.metadata["ruleset_version"]

    # The same findings come back from ValidateReport, so callers need not
    # parse errors; and the refusal wrote nothing.
    validated = reports.ValidateReport(
        stubs.reports.ValidateReportRequest(report=load_report(stubs, INVALID_JSON)),
        metadata=auth,
        timeout=CALL_TIMEOUT,
    )
    assert validated.verdict == stubs.report.VERDICT_INVALID
    errors = [f for f in validated.findings if f.severity == stubs.report.SEVERITY_ERROR]
    assert [(f.rule, f.location.path, f.expected, f.actual) for f in errors] == [
        ("t3.balance", "t3.R25.natural_person", "78", "79"),
        ("t3.balance", "t3.R25.total", "78", "79"),
    ]
    assert validated.ruleset_version == info.metadata["ruleset_version"]
    assert latest_revision(stubs, channel, auth) == before


def test_corrected_report_is_submitted_and_read_back(stubs: Stubs, channel, auth, county) -> None:
    reports = stubs.reports_grpc.ReportServiceStub(channel)
    corrected = load_report(stubs, CORRECTED_JSON)
    before = latest_revision(stubs, channel, auth)
    submitted = reports.SubmitReport(
        stubs.reports.SubmitReportRequest(
            name=REPORT,
            report=corrected,
            expected_revision=before,
            request_id="py-submit-corrected",
        ),
        metadata=auth,
        timeout=CALL_TIMEOUT,
    )
    rev = submitted.revision
    assert submitted.verdict == stubs.report.VERDICT_VALID
    assert rev.state == stubs.resources.REVIEW_STATE_SUBMITTED
    # Submitting with a report is one new revision, already submitted.
    assert rev.revision == before + 1
    assert rev.previous_revision == before
    assert rev.name == f"{REPORT}/revisions/{rev.revision}"
    assert rev.report == corrected
    assert rev.author == "local-trial"
    assert not [f for f in rev.findings if f.severity == stubs.report.SEVERITY_ERROR]

    # A retry with the same request id returns the first result.
    again = reports.SubmitReport(
        stubs.reports.SubmitReportRequest(
            name=REPORT,
            report=corrected,
            expected_revision=before,
            request_id="py-submit-corrected",
        ),
        metadata=auth,
        timeout=CALL_TIMEOUT,
    )
    assert again.revision == rev

    got = reports.GetReport(
        stubs.reports.GetReportRequest(name=REPORT), metadata=auth, timeout=CALL_TIMEOUT
    )
    assert got.revision == rev
    assert got.revision.report == corrected
    assert got.revision.report.active_disclosure.fees.wan_yuan == "14852.1812"
    t3 = got.revision.report.applications
    assert (t3.newly_received.total, t3.total_handled.total, t3.carried_forward.total) == (
        78,
        78,
        0,
    )

    by_revision = reports.GetReport(
        stubs.reports.GetReportRequest(name=rev.name), metadata=auth, timeout=CALL_TIMEOUT
    )
    assert by_revision.revision == rev

    revisions = reports.ListRevisions(
        stubs.reports.ListRevisionsRequest(name=REPORT), metadata=auth, timeout=CALL_TIMEOUT
    )
    assert [(r.revision, r.state) for r in revisions.revisions][-1:] == [
        (before + 1, stubs.resources.REVIEW_STATE_SUBMITTED),
    ]

    # A stale writer is refused.
    with pytest.raises(grpc.RpcError) as err:
        reports.SubmitReport(
            stubs.reports.SubmitReportRequest(
                name=REPORT,
                report=corrected,
                expected_revision=before,
                request_id="py-submit-stale",
            ),
            metadata=auth,
            timeout=CALL_TIMEOUT,
        )
    assert err.value.code() == grpc.StatusCode.ABORTED, err.value


def test_audit_chain_is_intact(stubs: Stubs, channel, auth, county) -> None:
    audit = stubs.audit_grpc.AuditServiceStub(channel)
    verified = audit.VerifyAuditChain(
        stubs.audit.VerifyAuditChainRequest(), metadata=auth, timeout=CALL_TIMEOUT
    )
    assert verified.intact, verified
    assert verified.broken_event == 0
    assert verified.events >= 2  # at least the two registrations
    events = audit.ListAuditEvents(
        stubs.audit.ListAuditEventsRequest(agency=f"agencies/{USCC}", page_size=1000),
        metadata=auth,
        timeout=CALL_TIMEOUT,
    )
    actions = [e.action for e in events.events]
    assert actions[0] == stubs.resources.AUDIT_ACTION_AGENCY_REGISTERED
    assert [e.sequence for e in events.events] == sorted(e.sequence for e in events.events)


def test_store_records_are_generated_too(stubs: Stubs) -> None:
    """gongkai/store/v1 compiles with the API (it imports gongkai/v1)."""
    head = stubs.store.ReportHead(latest_revision=2, latest_state=2)
    assert stubs.store.ReportHead.FromString(head.SerializeToString()) == head
