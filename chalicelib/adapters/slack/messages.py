"""Block Kit messages for leads, built with slack_sdk's models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    LinkButtonElement,
    MarkdownTextObject,
    SectionBlock,
)

MAX_BLOCKS = 50  # Slack's limit per message
MAX_DRAFTS_PER_MESSAGE = 12  # a draft takes 3 to 5 blocks: at most 12 fit beside the header


def _clip(text: str | None, limit: int = 600) -> str:
    """Reported text, escaped as Slack asks, so it cannot forge links or mentions."""
    text = (text or "—").strip() or "—"
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _draft_blocks(draft: dict[str, Any], links: dict[str, str], *, full: bool) -> list[Block]:
    reporters = ", ".join(draft.get("reporters", [])) or "—"
    fields = [
        MarkdownTextObject(text=f"*Scenario*\n{_clip(draft['scenarioId'], 150)}"),
        MarkdownTextObject(text=f"*Module*\n{_clip(draft['module'], 150)}"),
        MarkdownTextObject(text=f"*Test case*\n{_clip(draft['testCaseId'], 150)}"),
        MarkdownTextObject(
            text=f"*Occurrences*\n{draft.get('occurrences', 1)} ({_clip(reporters, 300)})"
        ),
    ]
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=f"*{_clip(draft['title'], 150)}*"), fields=fields
        ),
    ]
    if full:
        blocks.append(
            SectionBlock(
                fields=[
                    MarkdownTextObject(text=f"*Expected*\n{_clip(draft.get('expected'))}"),
                    MarkdownTextObject(text=f"*Actual*\n{_clip(draft.get('actual'))}"),
                ]
            )
        )
    if draft.get("leadNote"):  # the project's default lead is asked: the module has no lead
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_clip(draft["leadNote"]))]))
    context = [f"<{url}|{name}>" for name, url in _evidence_links(draft)]
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]))
    blocks.append(_decide_block(draft["id"], links))
    return blocks


def _decide_block(draft_id: str, links: dict[str, str]) -> ActionsBlock:
    """A draft's Approve…/Reject… links (its approval page) and the Approve now button."""
    return ActionsBlock(
        block_id=f"decide:{draft_id}",
        elements=[
            LinkButtonElement(
                text="Approve…", url=links["approve"], action_id="open_approve", style="primary"
            ),
            LinkButtonElement(
                text="Reject…", url=links["reject"], action_id="open_reject", style="danger"
            ),
            ButtonElement(text="Approve now", action_id="approve", value=draft_id),
        ],
    )


def _first(names: list[str], shown: int = 10) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _cluster_blocks(entry: dict[str, Any]) -> list[Block]:
    """Drafts of one root cause: one line, `1 root cause, N scenarios: <signature summary>`,
    naming its scenarios and drafts, and where to decide them as one."""
    cluster = entry["cluster"]
    count = len(cluster["scenarios"])
    text = f"*1 root cause, {count} scenarios*: {_clip(cluster['summary'], 200)}"
    detail = (
        f"Scenarios {_first(cluster['scenarios'])}; drafts {_first(cluster['tickets'])}. "
        "Decide them as one (approve as one issue, reject all, split):"
    )
    link = f"<{cluster['url']}|cluster {_clip(cluster['id'], 80)}>"
    if cluster.get("sinceDecision"):  # the root cause was decided; this failed again since
        since = cluster["sinceDecision"]
        text += (
            f"\n_New since decision_: {_clip(str(since.get('decision')), 40)} by "
            f"{_clip(str(since.get('by')), 100)} ({_clip(str(since.get('at')), 40)})"
        )
    more = ""
    if cluster.get("moreDrafts"):  # past the buttons below: each has its own links there
        more = (
            f" …and {cluster['moreDrafts']} more drafts of this root cause than have buttons "
            f"below, each with its own Approve/Reject links: <{cluster['moreUrl']}|see every "
            "draft waiting>."
        )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ContextBlock(elements=[MarkdownTextObject(text=f"{_clip(detail, 1500)} {link}{more}")]),
    ]
    links = cluster.get("links") or {}
    if links:  # the whole root cause decided from here: its page and its signed links
        blocks.append(_cluster_actions(cluster, links))
    if entry.get("leadNote"):  # the project's default lead is asked: the module has no lead
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_clip(entry["leadNote"]))]))
    for draft in cluster.get("drafts") or []:  # or one by one, each with its own links
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"<{draft['ticketUrl']}|{_clip(draft['scenarioId'], 150)}>"
                    )
                ]
            )
        )
        blocks.append(_decide_block(draft["id"], draft))
    return blocks


def _cluster_actions(cluster: dict[str, Any], links: dict[str, str]) -> ActionsBlock:
    """Approve as the project says, reject all, or open the page to split scenarios off."""
    return ActionsBlock(
        block_id=f"cluster:{cluster['id']}"[:255],
        elements=[
            LinkButtonElement(
                text=links["approveLabel"],
                url=links["approve"],
                action_id="open_cluster_approve",
                style="primary",
            ),
            LinkButtonElement(
                text="Reject all (environment)…",
                url=links["reject"],
                action_id="open_cluster_reject",
                style="danger",
            ),
            LinkButtonElement(
                text="Split scenarios off…",
                url=cluster["url"],
                action_id="open_cluster_page",
            ),
        ],
    )


def _evidence_links(draft: dict[str, Any]) -> list[tuple[str, str]]:
    links = []
    run = draft.get("run") or {}
    if run.get("ciUrl"):
        links.append((f"run {run.get('id', '')}".strip(), run["ciUrl"]))
    for name, field in (("report", "reportUrl"), ("script", "scriptUrl")):
        if draft.get(field):
            links.append((name, draft[field]))
    links.extend((_clip(e["name"], 80), e["url"]) for e in draft.get("evidence") or [])
    links.append(("ticket", draft["ticketUrl"]))
    return links


def draft_message(draft: dict[str, Any], links: dict[str, str], *, reminder: bool = False) -> dict:
    """One draft waiting for its lead's decision."""
    title = "Reminder: a draft is still waiting for you" if reminder else "New draft defect"
    blocks: list[Block] = [HeaderBlock(text=title), *_draft_blocks(draft, links, full=True)]
    text = f"{title}: {draft['title']} ({_clip(draft['scenarioId'], 150)})"
    if draft.get("leadNote"):
        text += f" — {_clip(draft['leadNote'])}"
    return {
        "text": text,
        "blocks": [b.to_dict() for b in blocks],
    }


def digest_messages(
    drafts: Sequence[tuple[dict[str, Any], dict[str, str]]],
    *,
    more: int = 0,
    more_url: str | None = None,
) -> list[dict]:
    """Many drafts for one lead (a regression run): one message listing as many as Slack's
    block limit allows, each with its own links, and `more` others behind one link."""
    total = sum(len(d["cluster"]["tickets"]) if "cluster" in d else 1 for d, _ in drafts) + more
    title = f"{total} new draft defects are waiting for your decision"
    blocks: list[Block] = [HeaderBlock(text=title)]
    shown = 0
    for draft, links in drafts:
        lines = (
            _cluster_blocks(draft)
            if "cluster" in draft
            else _draft_blocks(draft, links, full=False)
        )
        these = [*lines, DividerBlock()]
        if len(blocks) + len(these) + 1 > MAX_BLOCKS:  # one block kept for the link below
            break
        blocks.extend(these)
        shown += len(draft["cluster"]["tickets"]) if "cluster" in draft else 1
    rest = total - shown
    if rest:
        where = f" <{more_url}|See every draft waiting.>" if more_url else ""
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=f"…and {rest} more drafts.{where}"))
        )
    return [{"text": title, "blocks": [b.to_dict() for b in blocks]}]
