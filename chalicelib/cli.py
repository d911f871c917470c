"""Admin CLI: projects, modules and API keys, against real AWS or the local stack.

    python -m chalicelib.cli create-project DEMO --default-lead qa-lead@example.com
                             [--default-module general] [--name "Demo"] [--flaky-opens-draft]
    python -m chalicelib.cli set-defaults DEMO [--default-lead X] [--default-module Y]
    python -m chalicelib.cli reidentify DEMO [--run RUN ...] [--apply] [--include-inferred]
    python -m chalicelib.cli describe-project DEMO
    python -m chalicelib.cli put-module DEMO checkout --lead lead@example.com [--slack-user-id U1]
    python -m chalicelib.cli issue-key DEMO --role ci [--user x@example.com] [--name nightly]
    python -m chalicelib.cli list-keys DEMO
    python -m chalicelib.cli revoke-key DEMO key_...
    python -m chalicelib.cli rebuild-metrics DEMO
    python -m chalicelib.cli regroup DEMO [--apply]
    python -m chalicelib.cli backfill-exports DEMO
    python -m chalicelib.cli rekey DEMO [--apply]

On AWS it uses the usual boto3 credentials and the stack's table (`--table` or FAILBRIDGE_TABLE).
Against the local stack, `--local` (or `--local path/to/stack.json`) points it at the stack's moto
server and table. Output is JSON on stdout; errors are the API's error JSON on stderr (exit 1)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from chalicelib import settings
from chalicelib.domain.roles import Role

DEFAULT_STACK_FILE = Path(".local") / "stack.json"


def _use_local_stack(path: Path) -> None:
    """Point boto3 and the settings at a running local stack (see devstack)."""
    try:
        stack = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"{path} not found: is the local stack running (make run)?") from None
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": stack["aws"],
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": stack.get("region", "us-east-1"),
            settings.TABLE_NAME: stack["table"],
            settings.BUCKET_NAME: stack["bucket"],
            settings.STATE_MACHINE_ARN: stack.get("stateMachineArn", ""),
            settings.KEY_CACHE_SECONDS: "0",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)


def access_service() -> Any:
    """AccessService on the stack's table, without the per-container key cache: a key an
    administrator revokes or issues is seen as such at once."""
    from chalicelib.services.access import AccessService

    repos = table_repositories()
    return AccessService(repos.projects, repos.api_keys, cache_seconds=0)


def table_repositories() -> Any:
    """The stack's table, for commands that need nothing else (no Slack, no secrets)."""
    import boto3

    from chalicelib.adapters.dynamo import Repositories

    config = settings.Settings.from_env()
    return Repositories.over(boto3.session.Session().client("dynamodb"), config.table_name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.cli", description="failbridge administration"
    )
    parser.add_argument(
        "--local",
        nargs="?",
        const=str(DEFAULT_STACK_FILE),
        metavar="STACK_JSON",
        help=f"use the running local stack (default file: {DEFAULT_STACK_FILE})",
    )
    parser.add_argument("--table", help=f"the DynamoDB table (default: ${settings.TABLE_NAME})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    _project_commands(sub)
    _module_and_key_commands(sub)
    _maintenance_commands(sub)
    return parser


def _project_commands(sub: Any) -> None:
    """create-project, set-defaults, reidentify."""
    p = sub.add_parser("create-project", help="create a project")
    p.add_argument("project")
    p.add_argument("--name")
    p.add_argument(
        "--flaky-opens-draft",
        action="store_true",
        help="flaky results (fail then pass in one run) open drafts too",
    )
    p.add_argument(
        "--decision-reminder-seconds",
        type=int,
        help="remind the lead after this long without a decision (86400)",
    )
    p.add_argument("--decision-rounds", type=int, help="reminders before the draft expires (3)")
    p.add_argument(
        "--default-lead",
        required=True,
        help="decides the drafts of every module that has no lead of its own (e-mail)",
    )
    p.add_argument(
        "--default-module",
        help="where JUnit results go when no rule or property names a module (general)",
    )

    p = sub.add_parser("set-defaults", help="change a project's default lead or module")
    p.add_argument("project")
    p.add_argument("--default-lead")
    p.add_argument("--default-module")

    p = sub.add_parser(
        "reidentify",
        help="re-derive past executions' test case, scenario and module under today's mapping "
        "(dry run unless --apply)",
    )
    p.add_argument("project")
    p.add_argument("--run", action="append", dest="runs", metavar="RUN", help="only these runs")
    p.add_argument("--apply", action="store_true", help="write the changes (default: dry run)")
    p.add_argument(
        "--include-inferred",
        action="store_true",
        help="also apply to executions recorded before source facts were kept, whose classname "
        "and name are guessed from the old `classname.name` test case id",
    )


def _module_and_key_commands(sub: Any) -> None:
    """describe-project, put-module, issue-key, list-keys, revoke-key."""
    p = sub.add_parser("describe-project", help="a project and its modules")
    p.add_argument("project")

    p = sub.add_parser("put-module", help="create or update a module and its lead")
    p.add_argument("project")
    p.add_argument("module")
    p.add_argument("--lead", required=True, help="the lead's e-mail address")
    p.add_argument("--slack-user-id")

    p = sub.add_parser("issue-key", help="issue an API key (shown once)")
    p.add_argument("project")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--user", help="the person the key belongs to (e-mail)")
    p.add_argument("--name", help="a label for the key")

    p = sub.add_parser("list-keys", help="a project's keys (never the secrets)")
    p.add_argument("project")

    p = sub.add_parser("revoke-key", help="revoke a key by its id")
    p.add_argument("project")
    p.add_argument("key_id")


def _maintenance_commands(sub: Any) -> None:
    """rebuild-metrics, regroup, backfill-exports, rekey, redrive-jira."""
    p = sub.add_parser(
        "rebuild-metrics",
        help="rebuild a project's metrics aggregates from its tickets and executions",
    )
    p.add_argument("project")

    p = sub.add_parser(
        "regroup",
        help="sign drafts again under today's signature version and place them in clusters "
        "again (dry run unless --apply)",
    )
    p.add_argument("project")
    p.add_argument("--apply", action="store_true", help="write the changes (default: dry run)")

    p = sub.add_parser(
        "backfill-exports",
        help="stage a project's stored history for the exports (the next export writes it)",
    )
    p.add_argument("project")

    p = sub.add_parser(
        "rekey",
        help="move a project's scenarios and ticket index to the keys without hot partitions "
        "(docs/scale.md; dry run unless --apply)",
    )
    p.add_argument("project")
    p.add_argument("--apply", action="store_true", help="write the changes (default: dry run)")

    sub.add_parser(
        "redrive-jira",
        help="send Jira creations that gave up (jira_failed, in the DLQ) back to work",
    )


def redrive_jira() -> dict[str, Any]:
    """Move the Jira DLQ's messages back to the Jira queue; their tickets return to
    jira_pending. Creation looks for an existing issue first, so nothing is created twice."""
    from chalicelib.bootstrap import container

    c = container()
    queue = c.queues.url_of(settings.JIRA_QUEUE_NAME)
    dlq = c.queues.url_of(settings.JIRA_QUEUE_NAME + "-dlq")
    return {"redriven": c.defects.redrive(c.queues, dlq, queue)}


def rebuild_metrics(project: str) -> dict[str, Any]:
    """Replay the project's stored history into fresh aggregates and make them current."""
    from chalicelib.adapters.dynamo.metrics import StoredHistory
    from chalicelib.services.metrics import MetricsService, Stores

    r = table_repositories()
    service = MetricsService(
        Stores(r.metrics, r.gates, r.executions, r.projects), history=StoredHistory(r.table)
    )
    return service.rebuild(project)


def regroup(project: str, *, apply: bool) -> dict[str, Any]:
    """The explicit migration after the signature rules changed (a new signature version)."""
    from chalicelib.services.clusters import ClusterService, Stores

    r = table_repositories()
    service = ClusterService(Stores(r.clusters, r.tickets, r.projects), lambda: None)  # type: ignore[arg-type,return-value]
    return service.regroup(project, apply=apply)


def backfill_exports(project: str) -> dict[str, Any]:
    """Stage what the stream delivered before the export reader existed (every ticket's history
    and every execution; the same Scan as rebuild-metrics); the next export run writes it."""
    from chalicelib.adapters.dynamo.metrics import StoredHistory
    from chalicelib.bootstrap import container

    reader = container().exports.reader
    staged, batch = 0, []
    for event in StoredHistory(table_repositories().table).events(project):
        batch.append(event)
        if len(batch) == 500:
            reader.apply(batch)
            staged, batch = staged + len(batch), []
    reader.apply(batch)
    return {"project": project, "events": staged + len(batch)}


MAINTENANCE = frozenset(
    {"reidentify", "redrive-jira", "rebuild-metrics", "backfill-exports", "regroup", "rekey"}
)


def run(args: argparse.Namespace, access: Any) -> Any:
    command = args.command
    if command in MAINTENANCE:
        return _run_maintenance(args, access)
    if command == "create-project":
        return access.create_project(
            args.project,
            args.name,
            args.flaky_opens_draft,
            args.decision_reminder_seconds,
            args.decision_rounds,
            default_lead=args.default_lead,
            default_module=args.default_module,
        )
    if command == "set-defaults":
        return access.set_defaults(args.project, args.default_lead, args.default_module)
    if command == "describe-project":
        return access.describe_project(args.project)
    if command == "put-module":
        return access.put_module(args.project, args.module, args.lead, args.slack_user_id)
    if command == "issue-key":
        return access.issue_key(args.project, Role(args.role), args.name, args.user)
    if command == "list-keys":
        return {"items": access.list_keys(args.project)}
    if command == "revoke-key":
        access.revoke_key(args.project, args.key_id)
        return {"revoked": args.key_id}
    raise SystemExit(f"unknown command {command}")


def _run_maintenance(args: argparse.Namespace, access: Any) -> Any:
    command = args.command
    if command == "reidentify":
        from chalicelib.services.reidentify import reidentify

        repos = table_repositories()
        return reidentify(
            access,
            repos.executions,
            repos.tickets,
            args.project,
            runs=args.runs,
            apply=args.apply,
            include_inferred=args.include_inferred,
        )
    if command == "redrive-jira":
        return redrive_jira()
    if command == "rebuild-metrics":
        return rebuild_metrics(args.project)
    if command == "backfill-exports":
        return backfill_exports(args.project)
    if command == "regroup":
        return regroup(args.project, apply=args.apply)
    from chalicelib.adapters.dynamo.rekey import Rekey  # rekey

    return Rekey(table_repositories().table).run(args.project, apply=args.apply)


def _bare_local_before_command(argv: list[str], commands: set[str]) -> list[str]:
    """`--local create-project X`: argparse would take the command for `--local`'s optional
    STACK_JSON and then miss the command. A bare `--local` (followed by a command, an option or
    nothing) means the default stack file; `--local FILE` and `--local=FILE` keep working."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg != "--local":
            continue
        following = out[i + 1] if i + 1 < len(out) else None
        if following is None or following in commands or following.startswith("-"):
            out[i] = f"--local={DEFAULT_STACK_FILE}"
    return out


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    given = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(_bare_local_before_command(given, _commands(parser)))
    if args.local:
        _use_local_stack(Path(args.local))
    if args.table:
        os.environ[settings.TABLE_NAME] = args.table
    from chalicelib.errors import FailbridgeError

    try:
        out = run(args, access_service())
    except FailbridgeError as exc:
        print(json.dumps(exc.to_body()), file=sys.stderr)
        return 1
    print(json.dumps(out, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
