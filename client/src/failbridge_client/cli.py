"""`failbridge report|gate|status`: report test results from CI, ask the quality gate, read a
run's outcome. Exit codes: 0 done (gate passed), 1 gate failed or a report was refused, 2 usage
or connection problem."""

from __future__ import annotations

import argparse
import glob
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import requests

from failbridge_client.api import DIRECT_CASES, DIRECT_LIMIT, ApiError, Client
from failbridge_client.config import ConfigError, commit_from_env, load_config, run_from_env
from failbridge_client.formats import FORMATS, count_cases, detect

OK, FAILED, USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="failbridge", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="failbridge's base URL (env FAILBRIDGE_URL)")
    common.add_argument("--project", help="project key (env FAILBRIDGE_PROJECT)")
    common.add_argument("--config", help="a TOML config file (url, api_key, project)")
    common.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    common.add_argument("--retries", type=int, default=4, help="retries of a failed request")
    sub = parser.add_subparsers(dest="command", required=True)

    report = sub.add_parser("report", parents=[common], help="report test results")
    report.add_argument("files", nargs="+", help="report files or glob patterns")
    report.add_argument("--run", help="run id (default: $GITHUB_RUN_ID, $BUILD_TAG, ...)")
    report.add_argument("--format", choices=FORMATS, help="the files' format (default: detect)")
    for name in ("name", "build", "branch", "ci-url", "environment"):
        report.add_argument(f"--{name}", help=f"the run's {name.replace('-', ' ')}")
    report.add_argument("--commit", help="the commit tested (default: $GITHUB_SHA, ...)")
    report.add_argument(
        "--upload-over",
        type=int,
        default=DIRECT_LIMIT,
        metavar="BYTES",
        help="files larger than this go through a presigned upload (default 5 MiB)",
    )
    report.add_argument(
        "--upload-over-cases",
        type=int,
        default=DIRECT_CASES,
        metavar="TESTS",
        help="so do reports of more tests than this, however small (default 1000)",
    )
    report.add_argument("--no-wait", action="store_true", help="do not wait for uploads")

    gate = sub.add_parser("gate", parents=[common], help="ask a quality gate; exit 1 if it fails")
    gate.add_argument("--gate", help="a saved gate's name")
    gate.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="METRIC:OP:THRESHOLD",
        help="an ad-hoc condition, e.g. passRate:gte:95 (repeatable)",
    )
    gate.add_argument("--run", help="judge this run (newFailures, ...)")

    status = sub.add_parser("status", parents=[common], help="a run's outcome")
    status.add_argument("--run", help="run id (default: $GITHUB_RUN_ID, ...)")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        config = load_config(url=args.url, project=args.project, config_file=args.config)
        client = Client(config, timeout=args.timeout, retries=args.retries)
        assert config.project is not None
        command = {"report": _report, "gate": _gate, "status": _status}[args.command]
        return command(client, config.project, args, out)
    except ConfigError as exc:
        print(f"failbridge: {exc}", file=sys.stderr)
        return USAGE
    except ApiError as exc:
        print(exc.describe(), file=sys.stderr)
        return USAGE if exc.status in (401, 403, 404) else FAILED
    except requests.RequestException as exc:
        print(f"failbridge: cannot reach failbridge: {type(exc).__name__}", file=sys.stderr)
        return USAGE


def _run_id(args: argparse.Namespace) -> str:
    run = args.run or run_from_env()
    if not run:
        raise ConfigError("no run id: pass --run or run inside CI ($GITHUB_RUN_ID, $BUILD_TAG)")
    return str(run)


def _files(patterns: list[str]) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        matched = [Path(p) for p in sorted(glob.glob(pattern, recursive=True))]
        found = matched or ([Path(pattern)] if Path(pattern).exists() else [])
        if not found:
            raise ConfigError(f"no file matches {pattern}")
        files.extend(f for f in found if f.is_file())
    return files


def _report(client: Client, project: str, args: argparse.Namespace, out: TextIO) -> int:
    run: dict[str, Any] = {"id": _run_id(args)}
    run.update(
        {
            key: value
            for key, value in (
                ("name", args.name),
                ("build", args.build),
                ("branch", args.branch),
                ("ciUrl", args.ci_url),
                ("environment", args.environment),
                ("commit", args.commit or commit_from_env()),
            )
            if value
        }
    )
    refused = 0
    for file in _files(args.files):
        with file.open("rb") as handle:
            head = handle.read(65_536)
        fmt = args.format or detect(head)
        size = file.stat().st_size
        body = file.read_bytes() if size <= args.upload_over else b""
        # a failbridge results document in the body is sent in batches of 1,000 results
        many = fmt != "json" and count_cases(body, fmt) > args.upload_over_cases
        try:
            if size > args.upload_over or many:
                if fmt is None:
                    raise ConfigError(f"{file}: cannot tell its format; pass --format")
                line = _upload(client, project, run, file, fmt, args.no_wait, out)
            elif fmt == "json":
                import json

                data = json.loads(body or file.read_bytes())
                outcomes = client.report_results(project, data.get("run") or run, data["results"])
                line = _summary("json", outcomes)
            else:
                answer = client.report_body(project, run, body, fmt)
                line = _summary(answer.get("format", fmt or "?"), answer["results"])
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            print(f"{file}: refused\n{exc.describe()}", file=sys.stderr)
            refused += 1
            continue
        print(f"{file}: {line}", file=out)
    print(f"run {run['id']} of project {project}", file=out)
    return FAILED if refused else OK


def _summary(fmt: str, outcomes: list[dict[str, Any]]) -> str:
    tickets = [o["ticket"] for o in outcomes if o.get("ticket")]
    merged = sum(1 for t in tickets if t.get("merged"))
    flaky = sum(1 for o in outcomes if o.get("flaky"))
    return (
        f"{fmt}, {len(outcomes)} results, {len(tickets) - merged} drafts, {merged} merged, "
        f"{flaky} flaky"
    )


def _upload(
    client: Client,
    project: str,
    run: dict[str, Any],
    file: Path,
    fmt: str,
    no_wait: bool,
    out: TextIO,
) -> str:
    shown = [-1]

    def sent(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if percent // 10 != shown[0] // 10 or done == total:
            shown[0] = percent
            print(f"{file}: uploading {percent}% of {total} bytes", file=out, flush=True)

    upload_id = client.upload(project, run, file, fmt, progress=sent)
    if no_wait:
        return f"{fmt}, uploaded as {upload_id} (processing)"

    told: list[object] = [None]

    def processed(status: dict[str, Any]) -> None:
        if status.get("total") and status.get("processed") != told[0]:  # only when it moved
            told[0] = status.get("processed")
            print(
                f"{file}: processed {status.get('processed', 0)} of {status['total']}",
                file=out,
                flush=True,
            )

    status = client.wait_for_upload(project, upload_id, progress=processed)
    if status.get("status") == "failed":
        error = status.get("error") or {}
        raise ApiError(
            422,
            str(error.get("code", "upload_failed")),
            str(error.get("message")),
            list(error.get("details") or []),
        )
    if status.get("status") != "completed":
        return f"{fmt}, upload {upload_id} still {status.get('status')}"
    return (
        f"{fmt}, {status.get('total', 0)} results, {status.get('drafts', 0)} drafts, "
        f"{status.get('merged', 0)} merged, {status.get('flaky', 0)} flaky (upload {upload_id})"
    )


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _gate(client: Client, project: str, args: argparse.Namespace, out: TextIO) -> int:
    gates = []
    for check in args.check:
        parts = check.split(":")
        if len(parts) != 3:
            raise ConfigError(f"--check {check}: expected METRIC:OPERATOR:THRESHOLD")
        try:
            gates.append({"metric": parts[0], "operator": parts[1], "threshold": float(parts[2])})
        except ValueError as exc:
            raise ConfigError(f"--check {check}: the threshold must be a number") from exc
    if not args.gate and not gates:
        raise ConfigError("name a saved gate with --gate or give --check conditions")
    answer = client.validate_gate(project, gate=args.gate, gates=gates, run_id=args.run)
    rows = [["METRIC", "VALUE", "OPERATOR", "THRESHOLD", "RESULT"]]
    for r in answer.get("results", []):
        rows.append(
            [
                str(r.get("metric")),
                _number(r.get("value")),
                str(r.get("operator")),
                _number(r.get("threshold")),
                "pass" if r.get("passed") else "FAIL",
            ]
        )
    print(_table(rows), file=out)
    passed = bool(answer.get("passed"))
    print(f"gate {'passed' if passed else 'FAILED'}", file=out)
    if answer.get("recommendation"):
        print(str(answer["recommendation"]), file=out)
    return OK if passed else FAILED


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "-" if value is None else str(value)


def _status(client: Client, project: str, args: argparse.Namespace, out: TextIO) -> int:
    run_id = _run_id(args)
    s = client.run_summary(project, run_id)
    print(
        f"run {run_id}: {s.get('testCases', 0)} test cases, {s.get('passed', 0)} passed, "
        f"{s.get('failed', 0)} failed, {s.get('blocked', 0)} blocked, "
        f"{s.get('skipped', 0)} skipped, {len(s.get('flaky', []))} flaky",
        file=out,
    )
    for ticket in s.get("tickets", []):
        print(f"  ticket {ticket['ticketId']}  scenario {ticket['scenarioId']}", file=out)
    return OK


if __name__ == "__main__":
    sys.exit(main())
