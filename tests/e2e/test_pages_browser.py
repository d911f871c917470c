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

    wait_for(counted, timeout=90)
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

    metrics = api.get(f"/v1/projects/{api.project}/metrics").json()
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
    scoped = api.get(f"/v1/projects/{api.project}/metrics?module=checkout").json()
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
    # the last run: pay, flip (first attempt) and card failed; search and flip's retry passed
    assert counts == {"passed": "2", "failed": "3", "blocked": "0", "skipped": "0"}
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


def test_an_executive_summary_pdf_opens_in_a_real_reader(
    stack: dict[str, Any], history: dict[str, Any], tmp_path: Path
) -> None:
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    api = Api(stack)
    response = api.post(
        f"/v1/projects/{api.project}/reports",
        json={"type": "executive-summary", "format": "pdf"},
        role="viewer",
    )
    assert response.status_code == 202, response.text
    report_id = response.json()["reportId"]

    def done() -> dict[str, Any] | None:
        got = api.get(f"/v1/projects/{api.project}/reports/{report_id}").json()
        return got if got["status"] in ("done", "failed") else None

    report = wait_for(done, timeout=60)
    assert report["status"] == "done", report
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(requests.get(report["downloadUrl"], timeout=30).content)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    metrics = api.get(f"/v1/projects/{api.project}/metrics").json()
    assert f"{api.project} executive summary" in text
    assert "Pass-rate trend" in text and "Open defects by severity" in text
    assert str(metrics["testExecution"]["totalTests"]) in text
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(SHOTS / "summary")],
        check=True,
    )
    assert any(SHOTS.glob("summary*.png"))
