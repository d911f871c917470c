"""Large test-case imports through a presigned upload on moto: the file lands in S3, its
notification runs the import (validate every row streaming, then write in batches), progress and
errors by row and column are read back; an invalid file writes nothing; a redelivered
notification writes nothing twice."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.services import testcase_imports
from tests.integration.conftest import Demo
from tests.integration.test_drafts import s3_notification

BASE = "/v1/projects/DEMO/test-cases"
HEADER = "Test Case ID,Title,Module,Priority,Requirements,Steps,Expected Result\n"


def rows(n: int, bad: dict[int, str] | None = None) -> bytes:
    lines = [HEADER]
    for i in range(n):
        priority = (bad or {}).get(i, "high")
        lines.append(
            f'TC-UP-{i:04d},Case {i},up{i % 3},{priority},REQ-UP-{i % 5},"1. Open\n2. Click",'
            f'"1. Shown\n2. Done"\r\n'
        )
    return ("\ufeff" + "".join(lines)).encode()


def upload(api: Any, demo: Demo, aws: dict[str, Any], body: bytes, **request: Any) -> dict:
    from chalicelib.handlers import handle_upload_events

    made = api.post(f"{BASE}/imports", headers=demo.auth("lead"), body=json.dumps(request))
    assert made.status_code == 201, made.body
    out = made.json_body
    assert out["status"] == "waiting_for_upload" and out["url"] and out["fields"]["key"]
    key = out["fields"]["key"]
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=body)
    event = s3_notification(aws["bucket"], key, len(body))
    assert handle_upload_events(event) == {"batchItemFailures": []}
    assert handle_upload_events(event) == {"batchItemFailures": []}  # redelivered: no-op
    got = api.get(f"{BASE}/imports/{out['importId']}", headers=demo.auth("viewer"))
    assert got.status_code == 200, got.body
    return dict(got.json_body)


def test_a_large_file_imports_in_batches_all_or_nothing(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(testcase_imports, "BATCH", 7)  # several batches of a small file

    bad = upload(api, demo, aws, rows(30, {3: "urgent", 25: "soon"}))
    assert bad["status"] == "invalid" and bad["errorCount"] == 2, bad
    assert [e["field"] for e in bad["errors"]] == ["rows[5].Priority", "rows[27].Priority"]
    assert bad["summary"]["invalid"] == 2 and bad["summary"]["created"] == 28
    assert api.get(f"{BASE}/TC-UP-0000", headers=demo.auth("viewer")).status_code == 404

    dry = upload(api, demo, aws, rows(30), dryRun=True)
    assert dry["status"] == "validated" and dry["summary"]["created"] == 30, dry
    assert api.get(f"{BASE}/TC-UP-0000", headers=demo.auth("viewer")).status_code == 404

    done = upload(api, demo, aws, rows(30))
    assert done["status"] == "completed", done
    assert done["summary"]["created"] == 30 and done["written"] == 30
    case = api.get(f"{BASE}/TC-UP-0029", headers=demo.auth("viewer")).json_body
    assert case["version"] == 1 and len(case["steps"]) == 2
    assert case["requirements"] == ["REQ-UP-4"]

    again = upload(api, demo, aws, rows(30))  # the same file again changes nothing
    assert again["summary"]["unchanged"] == 30 and again["written"] == 0, again


def test_an_interrupted_write_pass_resumes_without_writing_twice(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.bootstrap import container
    from chalicelib.handlers import handle_upload_events

    monkeypatch.setattr(testcase_imports, "BATCH", 10)
    made = api.post(f"{BASE}/imports", headers=demo.auth("lead"), body=json.dumps({})).json_body
    key = made["fields"]["key"]
    body = rows(25)
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=body)
    service = container().test_cases
    real = service.write
    calls = []

    def dies_on_the_second_batch(plan: Any, by: Any) -> int:
        calls.append(len(plan.writes))
        if len(calls) == 2:
            raise RuntimeError("the Lambda timed out")
        return real(plan, by)

    monkeypatch.setattr(service, "write", dies_on_the_second_batch)
    event = s3_notification(aws["bucket"], key, len(body))
    assert handle_upload_events(event)["batchItemFailures"]  # SQS will redeliver
    status = api.get(f"{BASE}/imports/{made['importId']}", headers=demo.auth("viewer")).json_body
    assert status["status"] == "writing" and status["written"] == 10
    monkeypatch.setattr(service, "write", real)
    assert handle_upload_events(event) == {"batchItemFailures": []}
    status = api.get(f"{BASE}/imports/{made['importId']}", headers=demo.auth("viewer")).json_body
    assert status["status"] == "completed" and status["summary"]["created"] == 25, status
    assert status["written"] == 25 and calls == [10, 10]
    versions = api.get(f"{BASE}/TC-UP-0000/versions", headers=demo.auth("viewer")).json_body
    assert len(versions["items"]) == 1  # the first batch was not written again


def test_bad_requests_and_unreadable_files(api: Any, demo: Demo, aws: dict[str, Any]) -> None:
    refused = api.post(f"{BASE}/imports", headers=demo.auth("tester"), body="{}")
    assert refused.status_code == 403
    wrong = api.post(
        f"{BASE}/imports", headers=demo.auth("lead"), body=json.dumps({"format": "xml"})
    )
    assert wrong.status_code == 422 and "format" in wrong.body.decode()
    missing = api.get(f"{BASE}/imports/ti_nope", headers=demo.auth("viewer"))
    assert missing.status_code == 404
    latin = upload(api, demo, aws, HEADER.encode() + "TC-1,Caf\xe9\n".encode("latin-1"))
    assert latin["status"] == "failed" and "not readable" in latin["error"]["message"]
    no_title = upload(api, demo, aws, b"Test Case ID\nTC-1\n")
    assert no_title["status"] == "invalid" and no_title["errors"][0]["field"] == "rows[1].header"
    as_json = upload(
        api,
        demo,
        aws,
        json.dumps({"testCases": [{"testCaseId": "TC-J-1", "title": "From JSON"}]}).encode(),
        format="json",
    )
    assert as_json["status"] == "completed" and as_json["written"] == 1, as_json
