"""Report files: PDF (fpdf2, pure Python: the same SVG charts as the pages, drawn into the
PDF), HTML (the page templates, self-contained) and CSV. Imported only where a report is built."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from chalicelib.web import charts
from chalicelib.web.render import _num, render

_NOT_FOR_PDF = re.compile(r"<title[^>]*>.*?</title>|<desc[^>]*>.*?</desc>", re.S)
FORMATS = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}


def _latin(text: Any) -> str:
    """The PDF's core fonts are Latin-1: anything else becomes its nearest ASCII."""
    value = "-" if text is None else str(text)
    value = (
        value.replace("\u2014", "-").replace("\u2013", "-").replace("→", "->").replace("…", "...")
    )
    return value.encode("latin-1", "replace").decode("latin-1")


def headline(figures: dict[str, Any]) -> list[tuple[str, str]]:
    f = figures
    return [
        ("Pass rate", _num(f["testExecution"]["passRate"], 1, "%")),
        ("Tests run", _num(f["testExecution"]["totalTests"])),
        ("Open defects now", _num(f["openDefects"]["total"])),
        ("Defects opened in the period", _num(f["defects"]["total"])),
        ("Time to resolution, median", _num(f["timeToResolution"]["medianHours"], 1, " h")),
        ("Re-test success", _num(f["retestSuccessRate"], 1, "%")),
        ("Approval latency, median", _num(f["approvalLatency"]["medianHours"], 1, " h")),
        ("Requirements covered", _num(f["coverage"]["requirements"]["percentage"], 1, "%")),
        ("Flaky rate", _num(f["flakyRate"], 1, "%")),
    ]


class _Pdf:
    def __init__(self, title: str, subtitle: str) -> None:
        from fpdf import FPDF

        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_title(_latin(title))
        pdf.set_creator("failbridge")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.add_page()
        pdf.set_font("helvetica", "B", 18)
        pdf.cell(0, 10, _latin(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 10)
        pdf.set_text_color(89, 89, 89)
        pdf.cell(0, 6, _latin(subtitle), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(29, 28, 29)
        self.pdf = pdf

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font("helvetica", "B", 13)
        self.pdf.cell(0, 8, _latin(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("helvetica", "", 10)

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        widths: Sequence[int],
        whole: Sequence[int] = (),
    ) -> None:
        """A table whose long texts wrap inside their cells; the `whole` columns (identifiers a
        reader looks up) are never wrapped nor cut: a long one is set smaller to fit. Numbers
        align right."""
        from fpdf.fonts import FontFace

        pdf = self.pdf
        pdf.set_font("helvetica", "", 9)
        body = [[_latin(cell) for cell in row] for row in rows]
        numeric = [
            bool(body) and all(re.fullmatch(r"-?[\d.,]+ ?(%|h)?|-", r[i]) for r in body)
            for i in range(len(headers))
        ]
        with pdf.table(
            col_widths=tuple(widths),
            width=sum(widths),
            align="LEFT",
            text_align=tuple("RIGHT" if n else "LEFT" for n in numeric),
            headings_style=FontFace(emphasis="BOLD"),
            borders_layout="HORIZONTAL_LINES",
            v_align="TOP",
            line_height=4.6,
            padding=(0.6, 1.0),
        ) as table:
            heading = table.row()
            for h in headers:
                heading.cell(_latin(h))
            for texts in body:
                row = table.row()
                for i, text in enumerate(texts):
                    size = self._fitting(text, widths[i] - 2.5) if i in whole else None
                    row.cell(text, style=FontFace(size_pt=size) if size else None)
        pdf.ln(1)

    def _fitting(self, text: str, room: float) -> float | None:
        """The font size (down to 6 pt) at which a whole identifier fits, if 9 pt does not."""
        pdf, size = self.pdf, 9.0
        while pdf.get_string_width(text) * size / 9 > room and size > 6:
            size -= 0.5
        return size if size < 9 else None

    def chart(self, svg: str, width: float) -> None:
        import logging

        logging.getLogger("fpdf.svg").setLevel(logging.ERROR)
        pdf = self.pdf
        clean = _latin(_NOT_FOR_PDF.sub("", svg)).encode()  # the chart's text: Latin-1 too
        box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
        ratio = int(box.group(2)) / int(box.group(1)) if box else 0.4
        if pdf.get_y() + width * ratio > pdf.h - 20:
            pdf.add_page()
        pdf.image(io.BytesIO(clean), x=pdf.l_margin, y=pdf.get_y(), w=width)
        pdf.set_y(pdf.get_y() + width * ratio + 2)

    def bytes(self) -> bytes:
        return bytes(self.pdf.output())


def executive_pdf(data: dict[str, Any], period_text: str) -> bytes:
    f = data["figures"]
    doc = _Pdf(f"{data['project']} executive summary", period_text)
    doc.heading("Headline")
    doc.table(["Figure", "Value"], headline(f), [110, 60])
    doc.heading("Pass-rate trend")
    doc.chart(
        charts.line_chart(f["trends"]["passRateTrend"], "Pass rate by day", unit="%", y_max=100),
        170,
    )
    doc.heading("Open defects by day")
    doc.chart(charts.line_chart(f["trends"]["defectTrend"], "Open defects by day"), 170)
    doc.heading("Open defects by severity")
    doc.chart(
        charts.bar_chart(
            f["openDefects"]["bySeverity"], "Open defects by severity", colours=charts.SEVERITY
        ),
        110,
    )
    doc.table(["Severity", "Open"], list(f["openDefects"]["bySeverity"].items()), [80, 40])
    doc.heading("Defects by module")
    doc.chart(charts.bar_chart(f["defects"]["byModule"], "Defects by module"), 110)
    doc.table(["Module", "Defects"], list(f["defects"]["byModule"].items()), [80, 40])
    doc.heading("Flaky scenarios")
    doc.table(
        ["Scenario", "Flaky", "Executions", "Rate (%)"],
        [(r["scenarioId"], r["flaky"], r["executions"], _num(r["rate"])) for r in data["flaky"]],
        [100, 20, 25, 25],
    )
    return doc.bytes()


RUN_FAILURE_HEADERS = ["Scenario", "Test case", "Ticket", "Actual"]
DEFECT_HEADERS = ["Ticket", "Jira", "Status", "Severity", "Module", "Title"]


def _run_status_rows(run: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [*list(run["counts"].items()), ("pass rate (%)", _num(run["passRate"]))]


def _run_failure_rows(run: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (e.get("scenarioId"), e.get("testCaseId"), e.get("ticketId") or "", e.get("actual") or "")
        for e in run["failures"]
    ]


def _defect_rows(tickets: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            t["id"],
            (t.get("jira") or {}).get("key") or "",
            t["status"],
            t.get("severity") or "",
            t["module"],
            t.get("title") or "",
        )
        for t in tickets
    ]


def _by_status(tickets: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in tickets:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    return counts


def run_pdf(run: dict[str, Any]) -> bytes:
    doc = _Pdf(
        f"Test run {run['runId']}", f"{run.get('name') or ''} {run['startedAt']} - {run['endedAt']}"
    )
    doc.heading(f"Results of its {run['testCases']} test cases ({run['total']} executions)")
    doc.chart(charts.bar_chart(run["counts"], "Test cases by status", colours=charts.COLOURS), 110)
    doc.table(["Status", "Test cases"], _run_status_rows(run), [80, 40])
    doc.heading("Failures")
    doc.table(RUN_FAILURE_HEADERS, _run_failure_rows(run), [45, 30, 50, 55], whole=(2,))
    return doc.bytes()


def defects_pdf(project: str, tickets: Sequence[dict[str, Any]], period_text: str) -> bytes:
    doc = _Pdf(f"{project} defects", period_text)
    doc.chart(charts.bar_chart(_by_status(tickets), "Tickets by status"), 110)
    doc.table(DEFECT_HEADERS, _defect_rows(tickets), [50, 20, 21, 16, 22, 51], whole=(0, 1))
    return doc.bytes()


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def executive_html(data: dict[str, Any]) -> bytes:
    return render(
        "dashboard.html",
        title=f"{data['project']} executive summary",
        viewer=None,
        report=True,
        **data,
    ).encode()


def run_html(run: dict[str, Any]) -> bytes:
    """The test-run report as one self-contained page: the PDF's chart and tables."""
    return render(
        "report.html",
        title=f"Test run {run['runId']}",
        subtitle=f"{run.get('name') or ''} {run['startedAt']} - {run['endedAt']}",
        sections=[
            {
                "heading": f"Results of its {run['testCases']} test cases"
                f" ({run['total']} executions)",
                "bars": run["counts"],
                "colours": charts.COLOURS,
                "headers": ["Status", "Test cases"],
                "rows": _run_status_rows(run),
            },
            {"heading": "Failures", "headers": RUN_FAILURE_HEADERS, "rows": _run_failure_rows(run)},
        ],
        viewer=None,
    ).encode()


def defects_html(project: str, tickets: Sequence[dict[str, Any]], period_text: str) -> bytes:
    """The defect report as one self-contained page: the PDF's chart and table."""
    return render(
        "report.html",
        title=f"{project} defects",
        subtitle=period_text,
        sections=[
            {
                "heading": "Tickets by status",
                "bars": _by_status(tickets),
                "headers": DEFECT_HEADERS,
                "rows": _defect_rows(tickets),
            }
        ],
        viewer=None,
    ).encode()
