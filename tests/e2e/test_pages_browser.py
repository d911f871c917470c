"""The pages in a real browser: headless Chromium (Debian's, driven by Playwright for Python)
against the local stack, with a seeded history of runs. Asserts what a person sees: text, chart
elements, table numbers equal to the metrics endpoint's, the link-for-cookie trade, the 401 page,
keyboard access and contrast basics; screenshots go to build/e2e-screenshots/.

Skipped when no Chromium is installed (`apt-get install chromium`; .ci/run installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Api, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "e2e-screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAYS = 6  # runs on the days before today, so the trend has points


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # A persistent context on a fresh temporary directory: the probe's fresh --user-data-dir.
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def _result(scenario: str, status: str, run: str, **extra: Any) -> dict[str, Any]:
    failed = status == "failed"
    return {
        "scenarioId": scenario,
        "testCaseId": f"TC-{scenario.rsplit('.', 1)[-1]}",
        "title": f"Scenario {scenario}",
        "module": scenario.split(".", 1)[0],
        "status": status,
        "expected": "Order confirmed",
        "actual": "HTTP 500 on /pay from the payment gateway" if failed else "ok",
        "reporter": "alice@example.com",
        "durationMs": 1200,
        "requirements": ["REQ-PAY-1"],
        **(
            {
                "error": {
                    "type": "GatewayError",
                    "message": "payment gateway returned 500 for order 1234",
                }
            }
            if failed
            else {}
        ),
        **extra,
    }


@pytest.fixture(scope="module")
def history(stack: dict[str, Any]) -> dict[str, Any]:
    """Runs over several days: a scenario that fails in every run (its draft gathers
    occurrences), one that fails the same way in another module (a look-alike), one that passes,
    one that flips (flaky on retry). The change stream is waited for."""
    api = Api(stack)
    import uuid

    uid = uuid.uuid4().hex[:6]
    pay, card, search, flip = (
        f"checkout.pay-{uid}",
        f"search.card-{uid}",
        f"search.find-{uid}",
        f"checkout.flip-{uid}",
    )
    tickets: dict[str, str] = {}
    runs = []
    posted = 0
    for day in range(DAYS):
        run = f"nightly-{uid}-{day}"
        runs.append(run)
        results = [
            _result(pay, "failed", run),
            _result(search, "passed", run),
            _result(flip, "failed" if day % 2 else "passed", run, attempt=1),
        ]
        if day % 2:
            results.append(_result(flip, "passed", run, attempt=2))
        if day == DAYS - 1:
            results.append(_result(card, "failed", run))
        body = {
            "run": {
                "id": run,
                "name": "nightly regression",
                "ciUrl": f"https://ci.example.com/{run}",
                "environment": "staging",
            },
            "results": results,
        }
        response = api.post(f"/v1/projects/{api.project}/results", json=body, role="ci")
        assert response.status_code == 200, response.text
        posted += len(results)
        for item, sent in zip(response.json()["results"], results, strict=True):
            if item["ticket"]:
                tickets.setdefault(sent["scenarioId"], item["ticket"]["id"])

    def counted() -> bool:  # every execution went through the change stream
        figures = api.get(f"/v1/projects/{api.project}/metrics").json()
        return bool(figures["testExecution"]["totalTests"] >= posted)

    # generous: in the full suite the stack's change stream is behind other tests' writes
    wait_for(counted, timeout=300, every=1.0)
    return {"uid": uid, "runs": runs, "tickets": tickets, "pay": pay, "card": card}


def view_link(api: Api, page: str, ident: str | None = None, role: str = "viewer") -> str:
    body = {"page": page, **({"id": ident} if ident else {})}
    response = api.post(f"/v1/projects/{api.project}/page-links", json=body, role=role)
    assert response.status_code == 201, response.text
    out = response.json()
    assert set(out) == {"url", "expiresAt"}
    return str(out["url"])


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def luminance(rgb: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", rgb)[:3])

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def table_numbers(page: Any, section: str) -> dict[str, str]:
    rows = page.locator(f"#{section} table tbody tr")
    out = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("th, td")
        if cells.count() < 2:
            continue  # the "none" row of an empty table
        # text_content, not inner_text: a table of more than ten rows sits in a closed <details>,
        # and Chromium's innerText of content that is not rendered is empty
        out[(cells.nth(0).text_content() or "").strip()] = (
            cells.nth(1).text_content() or ""
        ).strip()
    return out


def settled(page: Any, api: Api, query: str) -> dict[str, Any]:
    """The metrics endpoint's figures as the page shows them: other tests' writes still flow
    through the shared stack's change stream, so read the endpoint before and after loading
    the page until both readings agree."""
    url = f"/v1/projects/{api.project}/metrics{query}"
    for _ in range(30):
        before = api.get(url).json()
        page.reload()
        if api.get(url).json() == before:
            return dict(before)
    pytest.fail("the metrics kept changing for 30 page loads")


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value))


def test_without_a_link_the_page_says_how_to_get_one(stack: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    browser.clear_cookies()
    response = page.goto(f"{stack['api']}/dashboard/{stack['project']}")
    assert response.status == 401
    assert "page-links" in page.inner_text("main")
    assert "Nothing was changed" in page.inner_text("main")
    shot(page, "401")
    page.close()


def test_the_dashboard_shows_the_metrics_endpoints_numbers(
    stack: dict[str, Any], browser: Any, history: dict[str, Any]
) -> None:
    api = Api(stack)
    browser.clear_cookies()
    page = browser.new_page()
    link = view_link(api, "dashboard")
    response = page.goto(link)
    # the link was traded for a cookie and the address is clean
    assert page.url == f"{stack['api']}/dashboard/{stack['project']}"
    assert response.status == 200
    cookies = {c["name"]: c for c in browser.cookies()}
    session = cookies["fb_page"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert page.locator("script").count() == 0

    metrics = settled(page, api, "")
    main = page.inner_text("main")
    assert "Pass-rate trend" in main and "Recent activity" in main
    assert page.inner_text("#card-tests .value") == str(metrics["testExecution"]["totalTests"])
    assert page.inner_text("#card-open .value") == str(metrics["openDefects"]["total"])
    # every chart is an SVG image with a name, and its numbers are in a table
    trend = metrics["trends"]["passRateTrend"]
    assert page.locator("#pass-rate-trend svg[role=img] circle.point").count() == len(trend)
    assert table_numbers(page, "pass-rate-trend") == {p["date"]: fmt(p["value"]) for p in trend}
    defect_trend = metrics["trends"]["defectTrend"]
    assert table_numbers(page, "defect-trend") == {p["date"]: fmt(p["value"]) for p in defect_trend}
    by_module = metrics["defects"]["byModule"]
    assert table_numbers(page, "defects-by-module") == {k: str(v) for k, v in by_module.items()}
    assert page.locator("#defects-by-module svg rect.bar").count() == len(by_module)
    times = table_numbers(page, "times")
    assert times["Re-test success (%)"] == fmt(metrics["retestSuccessRate"])
    assert times["Time to resolution, median (h)"] == fmt(
        metrics["timeToResolution"]["medianHours"]
    )
    flaky = page.inner_text("#flaky")
    assert f"checkout.flip-{history['uid']}" in flaky
    assert history["tickets"][history["pay"]] in page.inner_text("#activity")
    path = shot(page, "dashboard")
    assert path.stat().st_size > 10_000

    # keyboard: the first Tab reaches the skip link, the next ones the filters, with a
    # visible focus ring
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.tagName, document.activeElement.name,"
        " getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused[0] == "INPUT" and focused[2] != "none", focused
    # contrast basics: body text, muted text and card labels against white, AA (4.5:1)
    for selector in ("main p", ".muted", ".card .label", "header.top strong"):
        fg, bg = page.evaluate(
            """(s) => { const e = document.querySelector(s); let b = e, bg;
            while (b) { bg = getComputedStyle(b).backgroundColor;
              if (bg !== 'rgba(0, 0, 0, 0)') break; b = b.parentElement; }
            return [getComputedStyle(e).color, bg || 'rgb(255, 255, 255)']; }""",
            selector,
        )
        assert contrast(fg, bg) >= 4.5, (selector, fg, bg)

    # filters: a module narrows the figures to the endpoint's for that module
    page.select_option("select[name=module]", "checkout")
    page.click("form.filters button")
    assert "module=checkout" in page.url
    scoped = settled(page, api, "?module=checkout")
    assert page.inner_text("#card-tests .value") == str(scoped["testExecution"]["totalTests"])
    page.close()


def test_the_ticket_page_shows_evidence_occurrences_strip_and_look_alikes(
    stack: dict[str, Any], browser: Any, history: dict[str, Any]
) -> None:
    api = Api(stack)
    ticket_id = history["tickets"][history["pay"]]
    browser.clear_cookies()
    page = browser.new_page()
    page.goto(view_link(api, "ticket", ticket_id))
    assert page.url == f"{stack['api']}/pages/tickets/{ticket_id}"

    def strip_full() -> bool:
        page.reload()
        return page.locator("#strip svg g.result").count() == DAYS

    wait_for(strip_full, timeout=30)
    main = page.inner_text("main")
    assert "HTTP 500 on /pay" in main and "GatewayError" in main
    assert page.locator("#strip svg g.result.failed").count() == DAYS
    assert page.locator("#occurrences tbody tr").count() == DAYS
    look_alikes = page.inner_text("#look-alikes")
    assert history["tickets"][history["card"]] in look_alikes
    assert "ci.example.com" in (page.locator("#occurrences a").first.get_attribute("href") or "")
    shot(page, "ticket")
    # another project's or unknown ticket: not found, as a page
    response = page.goto(f"{stack['api']}/pages/tickets/does-not-exist")
    assert response.status == 404
    page.close()


def test_the_run_page_counts_the_run(
    stack: dict[str, Any], browser: Any, history: dict[str, Any]
) -> None:
    api = Api(stack)
    run = history["runs"][-1]
    browser.clear_cookies()
    page = browser.new_page()
    page.goto(view_link(api, "run", run))
    assert page.url == f"{stack['api']}/pages/runs/{run}?project={stack['project']}"
    counts = table_numbers(page, "counts")
    # the last run: pay and card failed; search passed, flip passed on its retry: test cases by
    # their last attempt, as the run's API summary counts them
    assert counts == {"passed": "2", "failed": "2", "blocked": "0", "skipped": "0"}
    summary = api.get(f"/v1/projects/{api.project}/runs/{run}").json()
    assert counts == {s: str(summary[s]) for s in ("passed", "failed", "blocked", "skipped")}
    assert page.locator("#counts svg rect.bar").count() == 4
    assert page.locator("#executions tbody tr").count() == 5
    shot(page, "run")
    page.close()


def test_a_lead_decides_from_the_slack_message_in_the_browser(
    stack: dict[str, Any], browser: Any, history: dict[str, Any]
) -> None:
    from tests.e2e.test_approvals import links_for

    api = Api(stack)
    ticket_id = history["tickets"][history["card"]]

    def aws_unused(_: str) -> Any:
        raise AssertionError

    links = links_for(stack, aws_unused, ticket_id)
    message = links["message"]
    # the message links the ticket page with a view link, not the JSON URL
    assert "/pages/tickets/" in message and "/v1/tickets/" not in message
    browser.clear_cookies()
    page = browser.new_page()
    page.goto(links["reject"])
    main = page.inner_text("main")
    assert "Decide on a draft defect" in main and "Open tickets that look like" in main
    assert history["tickets"][history["pay"]] in page.inner_text("#look-alikes")
    assert page.locator("input[name=csrf]").count() == 1
    shot(page, "approval")
    page.fill("textarea[name=reason]", "the gateway sandbox was down")
    page.click("button[type=submit]")
    assert "Decision recorded" in page.inner_text("h1")
    assert "rejected" in page.inner_text("main")
    status = api.get(f"/v1/tickets/{ticket_id}").json()["status"]
    assert status == "rejected"
    # a form posted without its CSRF token changes nothing
    forged = requests.post(links["approve"], data={"decision": "approve"}, timeout=30)
    assert forged.status_code in (403, 409)
    page.close()


def built_report(api: Api, spec: dict[str, Any]) -> bytes:
    """Ask for a report, wait for it to be built to S3 and fetch it by its presigned URL."""
    response = api.post(f"/v1/projects/{api.project}/reports", json=spec, role="viewer")
    assert response.status_code == 202, response.text
    report_id = response.json()["reportId"]

    def done() -> dict[str, Any] | None:
        got = api.get(f"/v1/projects/{api.project}/reports/{report_id}").json()
        return got if got["status"] in ("done", "failed") else None

    report = wait_for(done, timeout=60)
    assert report["status"] == "done", report
    fetched = requests.get(report["downloadUrl"], timeout=30)
    assert fetched.status_code == 200
    return fetched.content


def pdf_report(api: Api, spec: dict[str, Any], tmp_path: Path, name: str) -> str:
    """Ask for a PDF report, fetch it, render its first page with pdftoppm (into the
    screenshots) and return what pdftotext reads."""
    if not shutil.which("pdftotext") or not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils not installed")
    content = built_report(api, {**spec, "format": "pdf"})
    assert content.startswith(b"%PDF-")
    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(content)
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(SHOTS / name)],
        check=True,
    )
    assert any(SHOTS.glob(f"{name}*.png"))
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_an_executive_summary_pdf_opens_in_a_real_reader(
    stack: dict[str, Any], history: dict[str, Any], tmp_path: Path
) -> None:
    api = Api(stack)
    text = pdf_report(api, {"type": "executive-summary"}, tmp_path, "summary")
    metrics = api.get(f"/v1/projects/{api.project}/metrics").json()
    assert f"{api.project} executive summary" in text
    assert "Pass-rate trend" in text and "Open defects by severity" in text
    assert str(metrics["testExecution"]["totalTests"]) in text


def test_a_test_run_pdf_counts_the_run_as_the_api_does(
    stack: dict[str, Any], history: dict[str, Any], tmp_path: Path
) -> None:
    api = Api(stack)
    run = history["runs"][-1]
    text = pdf_report(api, {"type": "test-run", "runId": run}, tmp_path, "test-run")
    summary = api.get(f"/v1/projects/{api.project}/runs/{run}").json()
    assert f"Test run {run}" in text
    for status in ("passed", "failed", "blocked", "skipped"):  # the table's rows: status, count
        assert re.search(rf"^\s*{status}\s+{summary[status]}\s*$", text, re.M), (status, text)
    for t in summary["tickets"]:  # every failure's ticket, whole (a reader looks it up)
        assert t["ticketId"] in text and t["scenarioId"] in text


def test_a_defects_pdf_lists_each_defect_as_the_api_does(
    stack: dict[str, Any], history: dict[str, Any], tmp_path: Path
) -> None:
    api = Api(stack)
    text = pdf_report(api, {"type": "defects"}, tmp_path, "defects")
    ticket = api.get(f"/v1/tickets/{history['tickets'][history['pay']]}").json()
    assert f"{api.project} defects" in text
    row = next((line for line in text.splitlines() if ticket["id"] in line), None)
    assert row is not None, text  # the ticket's id whole
    assert ticket["status"] in row and ticket["module"] in row
    assert ticket["title"] in " ".join(text.split())  # a long title wraps in its cell


def test_test_run_and_defect_reports_come_as_html_and_csv_too(
    stack: dict[str, Any], history: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    """The same reports as a self-contained HTML page (opened in the browser from the file, as
    someone who downloaded it does) and as CSV, their figures those of the API."""
    api = Api(stack)
    run = history["runs"][-1]
    summary = api.get(f"/v1/projects/{api.project}/runs/{run}").json()
    html = built_report(api, {"type": "test-run", "runId": run, "format": "html"})
    page_file = tmp_path / "test-run.html"
    page_file.write_bytes(html)
    page = browser.new_page()
    page.goto(page_file.as_uri())
    assert page.inner_text("h1") == f"Test run {run}"
    rows = {
        r.query_selector("th").inner_text(): r.query_selector("td").inner_text()
        for r in page.query_selector_all("section:first-of-type tbody tr")
    }
    for status in ("passed", "failed", "blocked", "skipped"):
        assert rows[status] == str(summary[status]), rows
    assert page.query_selector("section:first-of-type figure svg") is not None
    assert page.evaluate("document.scripts.length") == 0
    page.screenshot(path=str(SHOTS / "test-run-report-html.png"), full_page=True)
    page.close()

    rows_csv = built_report(api, {"type": "test-run", "runId": run, "format": "csv"})
    lines = rows_csv.decode().splitlines()
    assert lines[0].startswith("executionId,scenarioId,testCaseId,attempt,status,at")
    assert len(lines) - 1 == summary["executions"]

    defects = built_report(api, {"type": "defects", "format": "html"}).decode()
    ticket = api.get(f"/v1/tickets/{history['tickets'][history['pay']]}").json()
    assert f"{api.project} defects" in defects and ticket["id"] in defects
    assert "<script" not in defects


WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november"


def test_the_slack_digests_more_link_opens_the_drafts_waiting_in_the_browser(
    stack: dict[str, Any], browser: Any, history: dict[str, Any], aws: Any
) -> None:
    """More drafts than one digest lists (12 root causes): its "…and N more" link is the lead's
    view link to the drafts page, which lists them and lets the lead open each to decide.
    Slack answers 429 while the drafts are filed, so they all wait in the lead's outbox and go
    out in one digest once it takes messages again (however slow the machine)."""
    from tests.e2e.test_approvals import outbox

    api = Api(stack)
    uid = history["uid"]
    run = f"burst-{uid}"
    faults = f"{stack['slack']}/_sink/faults"

    def running() -> int:  # the workflow executions waiting for a decision
        executions = aws("stepfunctions").list_executions(
            stateMachineArn=stack["stateMachineArn"], statusFilter="RUNNING"
        )["executions"]
        return len(executions)

    waiting_before = running()
    held = requests.post(faults, json={"mode": "429", "count": -1, "retryAfter": "2"}, timeout=30)
    assert held.status_code == 201, held.text
    try:
        opened: set[str] = set()
        for i in range(0, len(WORDS.split()), 4):  # a few at a time: a draft costs a second
            results = [  # each its own root cause (no two share a signature)
                _result(
                    f"checkout.{word}-{uid}",
                    "failed",
                    run,
                    actual=f"the {word} service refused",
                    error={"type": f"{word.title()}Refused", "message": f"{word} refused it"},
                )
                for word in WORDS.split()[i : i + 4]
            ]
            body = {"run": {"id": run, "name": "burst"}, "results": results}
            response = api.post(f"/v1/projects/{api.project}/results", json=body, role="ci")
            assert response.status_code == 200, response.text
            opened |= {r["ticket"]["id"] for r in response.json()["results"]}
        assert len(opened) == 14
        lead = stack["modules"]["checkout"]["lead"]

        def all_queued() -> bool:
            items = aws("dynamodb").query(
                TableName=stack["table"],
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{lead}"}},
            )["Items"]
            return opened <= {i["sk"]["S"].rsplit("#", 1)[-1] for i in items}

        wait_for(all_queued, timeout=120, every=1.0)
    finally:
        requests.delete(faults, timeout=30)

    def more_link() -> str | None:
        for line in outbox(stack).read_text(encoding="utf-8").splitlines():
            if any(t in line for t in opened):
                found = re.search(r"more drafts\. <([^|>]+)\|See every draft waiting", line)
                if found:
                    return found.group(1)
        return None

    link = wait_for(more_link, timeout=60)
    assert "/v1/" not in link and "t=" in link  # a view link, not the JSON API
    browser.clear_cookies()
    page = browser.new_page()
    response = page.goto(link)
    drafts_url = f"{stack['api']}/pages/projects/{stack['project']}/drafts"
    assert response.status == 200 and page.url == drafts_url  # traded for the cookie
    assert "Drafts waiting for a decision" in page.inner_text("h1")
    shot(page, "drafts")
    listed: dict[str, str | None] = {}
    while True:  # every page of the list (25 a page)
        for row in page.locator("#drafts tbody tr").all():
            ticket_id = row.locator("td a").first.inner_text()
            decide = row.locator("a.decide")
            listed[ticket_id] = decide.get_attribute("href") if decide.count() else None
        if page.locator("nav.pager a").count() == 0:
            break
        page.click("nav.pager a")
    assert opened <= set(listed)
    # the lead's own drafts link their approval page; a ticket link opens its page
    mine = sorted(opened)[0]
    assert "/v1/approvals/" in (listed[mine] or "")
    page.click(f"#drafts a[href='/pages/tickets/{mine}']")
    assert page.url == f"{stack['api']}/pages/tickets/{mine}"
    assert "refused" in page.inner_text("main")
    page.goto(listed[mine] or "")
    assert "Decide on a draft defect" in page.inner_text("main")
    # decided, they leave the list (and their workflows end before the stack stops)
    for ticket_id in opened:
        decided = api.post(
            f"/v1/tickets/{ticket_id}/decision",
            json={"decision": "reject", "reason": "a burst of the e2e suite"},
            role="admin",
        )
        assert decided.status_code == 200, decided.text
    page.goto(drafts_url)
    assert not opened & set(page.locator("#drafts tbody tr td:first-child a").all_inner_texts())
    wait_for(lambda: running() <= waiting_before, timeout=60, every=0.5)
    page.close()
