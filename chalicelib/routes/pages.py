"""The approval page a lead sees from a Slack link: the draft with its evidence, its occurrences
(paged), the scenario's last results, look-alike open tickets and knowledge-base hints, and a
form to decide (with a CSRF token bound to the link). Rendered by Jinja2 with autoescape, with
headers that keep it out of caches and referrers and let no script run (`chalicelib.web`)."""

from __future__ import annotations

from typing import Any

from chalicelib.web.render import headers, render

DECISIONS = ("approve", "reject", "merge", "link")


def html_headers(details: dict[str, Any] | None = None) -> dict[str, str | list[str]]:
    images = [i["url"] for i in (details or {}).get("evidence", {}).get("images", [])]
    return headers(images)


def confirmation(
    details: dict[str, Any],
    decision: str | None,
    csrf: str,
    page_url: str,
    problem: str | None = None,
) -> str:
    """The page behind a link: shows the draft, decides nothing. Its form posts the decision."""
    return render(
        "approval.html",
        title="Decide on a draft defect",
        project=None,
        d=details,
        decision=decision if decision in DECISIONS else None,
        csrf=csrf,
        page_url=page_url,
        problem=problem,
    )


def outcome(ticket: dict[str, Any]) -> str:
    last = (ticket.get("history") or [{}])[-1]
    text = f"The draft is now {ticket['status']}"
    if last.get("by"):
        text += f" (by {last['by']}"
        text += f": {last['reason']})" if last.get("reason") else ")"
    return render("outcome.html", title="Decision recorded", project=None, text=text, t=ticket)


def refusal(status: int, message: str) -> str:
    titles = {403: "This link is not valid", 409: "Already decided", 410: "This link has expired"}
    return render(
        "refusal.html",
        title=titles.get(status, "This link cannot be used"),
        project=None,
        message=message,
    )


def cluster_page(
    cluster: dict[str, Any],
    decision: str | None,
    csrf: str,
    problem: str | None = None,
    done: str | None = None,
) -> str:
    """A root cause behind a link: its members and why, decides nothing. Its forms post."""
    return render(
        "cluster.html",
        title="Decide on a root cause",
        project=None,
        c=cluster,
        decision=decision,
        csrf=csrf,
        problem=problem,
        done=done,
    )


def cluster_outcome(cluster: dict[str, Any]) -> str:
    decision = cluster.get("decision") or {}
    text = (
        f"The root cause is now {cluster['status']}: {decision.get('decision', '')}"
        f"{' (' + str(decision['mode']) + ')' if decision.get('mode') else ''}"
        f" by {decision.get('by', '')}; its drafts: "
        + ", ".join(f"{t} {s}" for t, s in sorted((cluster.get("outcome") or {}).items()))
    )
    ticket = {"id": cluster["clusterId"], "title": cluster["summary"], "scenarioId": "—",
              "module": "—"}  # fmt: skip
    return render("outcome.html", title="Decision recorded", project=None, text=text, t=ticket)
