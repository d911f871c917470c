"""The approval page a lead sees from a Slack link: what is being decided, and a form to decide.
Rendered here, escaped, with headers that keep it out of caches and referrers."""

from __future__ import annotations

from html import escape
from typing import Any

HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}
_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;max-width:46rem;margin:2rem auto;"
    "padding:0 1rem;color:#1d1c1d}dt{font-weight:600}dd{margin:0 0 .6rem}"
    "pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}"
    ".why{padding:.8rem;border-left:4px solid #c33;background:#fff5f5}"
    ".done{padding:.8rem;border-left:4px solid #2a7;background:#f3fff7}"
    "textarea{width:100%;min-height:5rem}button{font-size:1rem;padding:.4rem 1rem}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=robots content=noindex><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _summary(ticket: dict[str, Any]) -> str:
    rows = [
        ("Ticket", ticket["id"]),
        ("Scenario", ticket.get("scenarioId")),
        ("Module", ticket.get("module")),
        ("Test case", ticket.get("testCaseId")),
        (
            "Occurrences",
            f"{ticket.get('occurrences', 1)} — reported by "
            + ", ".join(ticket.get("reporters", [])),
        ),
        ("Expected", ticket.get("expected")),
        ("Actual", ticket.get("actual")),
    ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v or '—'))}</dd>" for k, v in rows)
    error = ticket.get("error") or {}
    trace = f"<pre>{escape(str(error.get('message', '')))}</pre>" if error.get("message") else ""
    return f"<h2>{escape(ticket.get('title') or '')}</h2><dl>{items}</dl>{trace}"


def confirmation(ticket: dict[str, Any], decision: str | None, problem: str | None = None) -> str:
    """The page behind a link: shows the draft, decides nothing. Its form posts the decision."""
    checked = {
        d: " checked" if decision == d else "" for d in ("approve", "reject", "merge", "link")
    }
    why = f"<p class=why>{escape(problem)}</p>" if problem else ""
    form = (
        "<form method=post>"
        f"<p><label><input type=radio name=decision value=approve{checked['approve']}> "
        "Approve: a real defect, create it in Jira</label><br>"
        f"<label><input type=radio name=decision value=reject{checked['reject']}> "
        "Reject: a false positive (say why)</label><br>"
        f"<label><input type=radio name=decision value=merge{checked['merge']}> "
        "Merge into ticket <input name=mergeInto size=32></label><br>"
        f"<label><input type=radio name=decision value=link{checked['link']}> "
        "Link to the existing Jira defect <input name=jiraKey size=12></label></p>"
        "<p><label>Reason<br><textarea name=reason></textarea></label></p>"
        "<p><button type=submit>Confirm decision</button></p></form>"
    )
    return _page("Decide on a draft defect", why + _summary(ticket) + form)


def outcome(ticket: dict[str, Any]) -> str:
    last = (ticket.get("history") or [{}])[-1]
    text = f"The draft is now {ticket['status']}"
    if last.get("by"):
        text += f" (by {last['by']}"
        text += f": {last['reason']})" if last.get("reason") else ")"
    return _page("Decision recorded", f"<p class=done>{escape(text)}.</p>" + _summary(ticket))


def refusal(status: int, message: str) -> str:
    titles = {403: "This link is not valid", 409: "Already decided", 410: "This link has expired"}
    body = f"<p class=why>{escape(message)}</p><p>Nothing was changed.</p>"
    return _page(titles.get(status, "This link cannot be used"), body)
