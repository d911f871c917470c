"""Jinja2 rendering (autoescape on, templates packaged beside this module) and the headers every
page carries: no script may run (the Content-Security-Policy has no script source at all), the
one stylesheet is allowed by its hash, no referrer leaves, nothing personal is cached."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.web import charts

TEMPLATES = Path(__file__).parent / "templates"
CSS = (TEMPLATES / "style.css").read_text(encoding="utf-8")
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    # Optional fields (a result's ticket, an activity's `from`) are simply absent: a missing
    # key renders as nothing (Jinja's default Undefined), a page never fails on one.
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Markup: our stylesheet, and SVG built by `charts` (every text in it goes through escape()).
    env.globals.update(
        css=Markup(CSS),  # noqa: S704
        line_chart=lambda *a, **k: Markup(charts.line_chart(*a, **k)),  # noqa: S704
        bar_chart=lambda *a, **k: Markup(charts.bar_chart(*a, **k)),  # noqa: S704
        strip_chart=lambda *a, **k: Markup(charts.strip(*a, **k)),  # noqa: S704
        severity_colours=charts.SEVERITY,
    )
    env.filters["num"] = _num
    env.filters["zip"] = lambda a, b: list(zip(a, b, strict=False))
    env.filters["strip_row"] = lambda r: (r.get("at"), r.get("status"), r.get("runId"))
    env.filters["flaky_row"] = lambda r: (
        r["scenarioId"],
        r["flaky"],
        r["executions"],
        _num(r["rate"]),
    )
    env.filters["flaky_case_row"] = lambda r: (
        r["scenarioId"],
        r["testCaseId"],
        _num(100.0 * r["flipRate"]),
        r["executions"],
        "".join("P" if x["status"] == R.PASSED else "F" for x in r["lastRuns"]),
        (r.get("quarantine") or {}).get("until", "—"),
    )
    env.filters["quarantine_row"] = lambda q: (q["scenarioId"], q["until"], q["reason"], q["by"])
    return env


def _num(value: Any, places: int = 1, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.{places}f}{unit}"
    return f"{int(value)}{unit}"


def render(template: str, **context: Any) -> str:
    return str(environment().get_template(template).render(**context))


def headers(image_urls: Iterable[str] = (), *, personal: bool = True) -> dict[str, str | list[str]]:
    """The page's headers; `image_urls` adds their origins to img-src (presigned evidence)."""
    origins = sorted(
        {
            f"{u.scheme}://{u.netloc}"
            for u in map(urlsplit, image_urls)
            if u.scheme in ("https", "http")
        }
    )
    csp = "; ".join(
        [
            "default-src 'none'",
            "img-src " + " ".join(["'self'", "data:", *origins]),
            f"style-src 'sha256-{CSS_HASH}'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    out: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store" if personal else "private, max-age=0, must-revalidate",
    }
    return out
