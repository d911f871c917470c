"""Browser identity (view links, sessions, CSRF), the server-drawn charts, look-alike tickets,
report schedules and report files: the rules, without a stack."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.approval_tokens import ApprovalSigner
from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.page_links import PageSigner, link_url, page_path
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Forbidden, Gone, Unauthenticated
from chalicelib.services.pages import PageFeedReader, look_alike_score
from chalicelib.web import charts

KEYS = "k2:new-secret,k1:old-secret"
NOW = 1_800_000_000


def signer(spec: str = KEYS) -> PageSigner:
    return PageSigner.from_spec(spec)


def test_a_link_opens_only_its_page_until_it_expires() -> None:
    s = signer()
    token = s.link("DEMO", "viewer", "v@example.com", "/dashboard/DEMO", NOW + 60)
    claims = s.open_link(token, "/dashboard/DEMO", NOW)
    assert (claims.project, claims.role, claims.user) == ("DEMO", "viewer", "v@example.com")
    with pytest.raises(Forbidden):
        s.open_link(token, "/dashboard/OTHER", NOW)
    with pytest.raises(Gone):
        s.open_link(token, "/dashboard/DEMO", NOW + 61)
    with pytest.raises(Forbidden):
        s.open_link(token[:-3] + "AAA", "/dashboard/DEMO", NOW)
    with pytest.raises(Forbidden):  # signed with a key we do not hold
        signer("k9:guess").open_link(token, "/dashboard/DEMO", NOW)


def test_rotated_keys_still_verify_and_purposes_do_not_mix() -> None:
    old = signer("k1:old-secret")
    token = old.link("DEMO", "lead", "l@example.com", "/pages/tickets/t1", NOW + 60)
    assert signer().open_link(token, "/pages/tickets/t1", NOW).user == "l@example.com"
    # a link is not a session, a session not a link, an approval token neither
    s = signer()
    with pytest.raises(Unauthenticated):
        s.open_session(token, NOW)
    value, _ = s.session(s.open_link(token, "/pages/tickets/t1", NOW), NOW)
    with pytest.raises(Forbidden):
        s.open_link(value, "/pages/tickets/t1", NOW)
    approval, _ = ApprovalSigner.from_spec(KEYS).issue("t1", "l@example.com", NOW + 60)
    with pytest.raises(Forbidden):
        s.open_link(approval, "/pages/tickets/t1", NOW)


def test_a_session_lasts_no_longer_than_its_link_and_carries_a_csrf_seed() -> None:
    s = signer()
    link = s.open_link(
        s.link("DEMO", "viewer", "v", "/dashboard/DEMO", NOW + 120), "/dashboard/DEMO", NOW
    )
    value, claims = s.session(link, NOW)
    assert claims.expires_at == NOW + 120 and claims.csrf_seed
    assert s.open_session(value, NOW).csrf_seed == claims.csrf_seed
    with pytest.raises(Unauthenticated):
        s.open_session(value, NOW + 121)
    with pytest.raises(Unauthenticated):
        s.open_session(None, NOW)
    csrf = s.csrf(claims.csrf_seed)
    assert s.csrf_ok(claims.csrf_seed, csrf)
    assert not s.csrf_ok(claims.csrf_seed, None) and not s.csrf_ok("other", csrf)


def test_link_urls_name_the_clean_page() -> None:
    url = link_url(
        signer(),
        "https://qa.example.com",
        project="DEMO",
        role="viewer",
        user="v",
        page="run",
        ident="build 812",
        expires_at=NOW,
    )
    assert url.startswith("https://qa.example.com/pages/runs/build%20812?project=DEMO&t=p1.k2.")
    assert page_path("ticket", "DEMO", "a/b") == "/pages/tickets/a%2Fb"


def _rgb(hex_colour: str) -> tuple[float, ...]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def _luminance(hex_colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize(
    "colour",
    [
        charts.INK,
        charts.MUTED,
        charts.LINE,
        charts.BAR,
        *charts.COLOURS.values(),
        *list(charts.SEVERITY.values()),
    ],
)
def test_chart_colours_pass_aa_contrast_on_white_and_under_white_letters(colour: str) -> None:
    ratio = (1.05) / (_luminance(colour) + 0.05)
    assert ratio >= 4.5, (colour, ratio)


def test_charts_are_named_images_and_escape_what_they_show() -> None:
    svg = charts.bar_chart({"<script>x</script>": 3, "b": 0}, "Bars & more")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'role="img"' in svg and "<title" in svg and "Bars &amp; more" in svg
    line = charts.line_chart([{"date": "2026-01-01", "value": 50.0}], "Trend", unit="%")
    assert line.count('class="point"') == 1
    strip = charts.strip([{"status": "failed", "at": "t", "runId": "r"}] * 3, "Strip")
    assert strip.count('class="result failed"') == 3 and "3 failed" in strip


def _ticket(tid: str, message: str, kind: str = "GatewayError") -> Ticket:
    return Ticket(
        id=tid,
        project="DEMO",
        status="draft",
        scenario_id=f"s.{tid}",
        module="m",
        created_at="2026-01-01T00:00:00Z",
        title="Pay",
        error={"type": kind, "message": message},
    )


def test_look_alikes_share_the_failure_not_its_numbers() -> None:
    a = _ticket("a", "payment gateway returned 500 for order 1234")
    b = _ticket("b", "payment gateway returned 500 for order 99")
    c = _ticket("c", "element #pay not found", kind="TimeoutError")
    assert look_alike_score(a, b) >= 0.9
    assert look_alike_score(a, c) < 0.5


class FakeFeed:
    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.activity_: list[dict[str, Any]] = []

    def add_results(self, results: Any, expires_at: int) -> None:
        self.results += results

    def add_activity(self, entries: Any, expires_at: int) -> None:
        self.activity_ += entries


def test_the_stream_keeps_results_for_the_strip_and_moves_for_the_activity() -> None:
    feed = FakeFeed()
    PageFeedReader(feed, lambda: NOW).apply(  # type: ignore[arg-type]
        [
            ChangeEvent(
                "x1",
                ChangeKind.EXECUTION_RECORDED,
                "DEMO",
                "2026-01-01T00:00:00Z",
                "x1",
                {"scenarioId": "s", "status": "failed", "runId": "r", "executionId": "x1"},
            ),
            ChangeEvent(
                "t1#2",
                ChangeKind.TICKET_MOVED,
                "DEMO",
                "2026-01-01T01:00:00Z",
                "t1",
                {"ticketId": "t1", "from": "draft", "to": "rejected", "by": "lead"},
            ),
            ChangeEvent("s@1", ChangeKind.SCENARIO_UPDATED, "DEMO", "2026-01-01", "s", {}),
        ]
    )
    assert [(r["scenarioId"], r["status"]) for r in feed.results] == [("s", "failed")]
    assert [(a["ticketId"], a["to"]) for a in feed.activity_] == [("t1", "rejected")]


class BucketFeed(FakeFeed):
    def __init__(self) -> None:
        super().__init__()
        self.buckets: dict[tuple[str, str], dict[str, Any]] = {}

    def put_look_alike(self, entry: dict[str, Any]) -> None:
        self.buckets[(entry["errorType"], entry["id"])] = entry

    def drop_look_alike(self, entry: dict[str, Any]) -> None:
        self.buckets.pop((entry["errorType"], entry["id"]), None)


class Tickets:
    def __init__(self, *tickets: Ticket) -> None:
        self.by_id = {t.id: t for t in tickets}

    def get(self, ticket_id: str) -> Ticket:
        from chalicelib.errors import NotFound

        if ticket_id not in self.by_id:
            raise NotFound(ticket_id)
        return self.by_id[ticket_id]


def _moved(tid: str, to: str) -> ChangeEvent:
    return ChangeEvent(
        f"{tid}#{to}",
        ChangeKind.TICKET_MOVED,
        "DEMO",
        "2026-01-01T01:00:00Z",
        tid,
        {"ticketId": tid, "to": to},
    )


def test_a_live_ticket_is_in_its_error_types_bucket_and_leaves_it_when_it_ends() -> None:
    feed = BucketFeed()
    live = _ticket("a", "payment gateway returned 500")
    ended = _ticket("b", "payment gateway returned 500")
    tickets = Tickets(live, ended)
    reader = PageFeedReader(feed, lambda: NOW, tickets)  # type: ignore[arg-type]
    reader.apply([_moved("a", "draft"), _moved("b", "draft"), _moved("gone", "draft")])
    assert set(feed.buckets) == {("GatewayError", "a"), ("GatewayError", "b")}
    ended.status = "rejected"
    reader.apply([_moved("b", "rejected"), _moved("b", "rejected")])  # redelivered: the same
    assert set(feed.buckets) == {("GatewayError", "a")}
    live.merged_into = "tk_other"
    reader.apply([_moved("a", "draft")])  # a late event reads the ticket as it is now
    assert feed.buckets == {}


def test_a_weekly_schedule_is_due_once_per_slot() -> None:
    from chalicelib.services.reports import ReportService

    due = ReportService.due
    monday = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
    schedule = {"every": "week", "weekday": "monday", "hour": 9}
    assert due(None, schedule, monday) == "2026-11-30T09"  # type: ignore[arg-type]
    assert due(None, {**schedule, "lastSentAt": "2026-11-30T09"}, monday) is None  # type: ignore[arg-type]
    assert due(None, schedule, monday.replace(hour=8)) is None  # type: ignore[arg-type]
    assert due(None, schedule, datetime(2026, 12, 1, 10, tzinfo=UTC)) is None  # type: ignore[arg-type]
    daily = {"every": "day", "hour": 6}
    assert due(None, daily, datetime(2026, 12, 1, 7, tzinfo=UTC)) == "2026-12-01T06"  # type: ignore[arg-type]


def test_report_files() -> None:
    from chalicelib.domain import metrics as m
    from chalicelib.web import reports

    figures = m.figures(
        m.Period("2026-01-01", "2026-01-02"),
        {
            ("c", "*", "day", "2026-01-01"): {"tests": 4, "st:passed": 3, "st:failed": 1},
            ("trend", "*", "2026-01"): {"passed:01": 3, "failed:01": 1},
            ("gauge", "*"): {"open": 2, "open:sev:major": 2},
        },
        "*",
        "2026-01-02",
    )
    data = {"project": "DEMO", "figures": figures, "flaky": [], "activity": [], "modules": []}
    pdf = reports.executive_pdf({**data, "module": None}, "2026-01-01 to 2026-01-02 — all")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2000
    csv = reports.to_csv(["figure", "value"], reports.headline(figures)).decode()
    assert csv.splitlines()[1] == "Pass rate,75%"
    html = reports.executive_html({**data, "module": None}).decode()
    assert "<script" not in html and re.search(r"Tests run</div><div class=\"value\">4<", html)


def _texts_outside(svg: str) -> list[tuple[str, float, float]]:
    """Every text of a chart whose estimated extent leaves the viewBox: (text, left, right)."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(svg)
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    out = []
    for node in root.iter("{http://www.w3.org/2000/svg}text"):
        text, size = node.text or "", float(node.attrib.get("font-size", 16))
        x, y = float(node.attrib["x"]), float(node.attrib["y"])
        w = charts.text_width(text, size)
        anchor = node.attrib.get("text-anchor", "start")
        left = x - {"start": 0.0, "middle": w / 2, "end": w}[anchor]
        if left < 0 or left + w > width or not 0 < y <= height:
            out.append((text, left, left + w))
    return out


@pytest.mark.parametrize(
    "svg",
    [
        charts.line_chart(
            [{"date": f"2026-11-{d:02d}", "value": 50.0 + d} for d in range(1, 31)],
            "Pass rate",
            unit="%",
            y_max=100,
        ),
        charts.line_chart([{"date": "2026-11-30", "value": 12345678.0}], "One point"),
        charts.line_chart(
            [{"date": "week 48 of 2026, Monday 23 November", "value": 1.0}] * 2, "Long dates"
        ),
        charts.line_chart([{"date": "2026-11-30", "value": 3.0}], "Narrow", width=60),
        charts.bar_chart(
            {"checkout-payments-service-gateway-adapter": 1234.5, "m": 0, "WWWWWWWW": 7},
            "Long module names",
            unit="%",
        ),
        charts.bar_chart({"blocker": 99999, "minor": 1}, "Big numbers"),
        charts.strip([{"status": "passed"}] * 20, "Strip"),
    ],
)
def test_every_chart_label_stays_inside_its_image(svg: str) -> None:
    assert _texts_outside(svg) == []
    x_labels = sorted(
        (float(x), charts.text_width(t, 11))
        for x, t in re.findall(r'class="x-label" x="([\d.]+)"[^>]*>([^<]*)<', svg)
    )
    for (x1, w1), (x2, _) in itertools.pairwise(x_labels):
        assert x1 + w1 < x2  # the first and last dates do not overlap


def test_a_cut_label_keeps_its_whole_name_in_the_bar_title() -> None:
    name = "checkout-payments-service-gateway-adapter"
    svg = charts.bar_chart({name: 3}, "Modules")
    assert f"<title>{name}: 3</title>" in svg
    assert re.search(r">checkout-[a-z-]*…</text>", svg)


def test_a_run_counts_each_test_case_by_its_last_attempt() -> None:
    from chalicelib.domain.executions import Execution, final_results, run_counts

    def ex(case: str, attempt: int, status: str) -> Execution:
        return Execution(f"ex-{case}-{attempt}", "P", "r", f"s.{case}", case, attempt, status, "t")

    runs = [ex("a", 1, "failed"), ex("a", 2, "passed"), ex("b", 1, "failed"), ex("c", 1, "skipped")]
    assert run_counts(runs) == {"passed": 1, "failed": 1, "blocked": 0, "skipped": 1}
    assert final_results(list(reversed(runs)))["a"].attempt == 2  # whatever the order read


def test_defect_and_run_reports_as_html_escape_what_testers_wrote() -> None:
    from chalicelib.web import reports

    hostile = '<script>alert("x")</script>'
    ticket = {"id": "tk_1", "status": "open", "module": "checkout", "title": hostile}
    html = reports.defects_html("DEMO", [ticket], "2026-01-01 to 2026-01-31").decode()
    assert "<script" not in html and "&lt;script&gt;" in html
    assert re.search(r'<th scope="row">tk_1</th><td></td><td>open</td>', html)
    run = {
        "runId": "r-1",
        "name": None,
        "startedAt": "2026-01-01T00:00:00Z",
        "endedAt": "2026-01-01T00:10:00Z",
        "testCases": 2,
        "total": 3,
        "counts": {"passed": 1, "failed": 1, "blocked": 0, "skipped": 0},
        "passRate": 50.0,
        "failures": [{"scenarioId": "s", "testCaseId": "TC-1", "actual": hostile}],
    }
    page = reports.run_html(run).decode()
    assert "<script" not in page and "Results of its 2 test cases (3 executions)" in page
    assert '<th scope="row">failed</th><td>1</td>' in page
