"""The whole local stack in one process, on 127.0.0.1:

- AWS: moto's server (DynamoDB, S3, SQS, Step Functions executing the ticket workflow), with the
  infra template's resources deployed into it by `infra.deploy_local`;
- the API: app.py's routes served by Chalice's own local server (`chalice local`'s code path);
- the event pump: app.py's SQS handlers fed from their queues, schedules ticked (devstack.pump);
- Jira: the Jira Cloud emulator, sending signed webhooks to the API;
- Slack: a sink appending every message it receives to the outbox file.

When everything is up it seeds project DEMO (devstack.seed) and writes `stack.json` (URLs, keys,
secrets) into `.local/` (or $FAILBRIDGE_LOCAL_DIR). SIGINT or SIGTERM stops everything it started.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.aws_server import local_aws_server

log = logging.getLogger("devstack")

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
REGION = "us-east-1"
STAGE = "dev"

API_PORT = "FAILBRIDGE_API_PORT"
JIRA_PORT = "FAILBRIDGE_JIRA_PORT"
AWS_PORT = "FAILBRIDGE_AWS_PORT"
SLACK_PORT = "FAILBRIDGE_SLACK_PORT"
LOCAL_DIR = "FAILBRIDGE_LOCAL_DIR"
SCHEDULE_SECONDS = "FAILBRIDGE_SCHEDULE_SECONDS"
# The hourly export rewrites today's day objects whole, and moto's Query takes seconds for a few
# thousand rows (the stack serialises DynamoDB meanwhile): locally it ticks less often than the
# other schedules. POST /v1/projects/{project}/exports exports at any time.
EXPORT_SCHEDULE_SECONDS = "FAILBRIDGE_EXPORT_SCHEDULE_SECONDS"
JIRA_EMAIL = "FAILBRIDGE_JIRA_EMAIL"
JIRA_TOKEN = "FAILBRIDGE_JIRA_TOKEN"  # noqa: S105 (an env var name)
JIRA_URL = "FAILBRIDGE_JIRA_URL"
JIRA_WEBHOOK_SECRET = "FAILBRIDGE_JIRA_WEBHOOK_SECRET"  # noqa: S105

DEV_JIRA_EMAIL = "failbridge-bot@example.com"
# Report chunks in flight at once, as Lambda runs an SQS event source mapping's batches side by side
# (a large upload is split into chunks on the reports queue).
REPORT_CONCURRENCY = 3


class StackError(RuntimeError):
    """The stack cannot start (a port is taken, a part failed); the message says what to do."""


def _port(env_name: str, default: int) -> int:
    raw = os.environ.get(env_name, "").strip()
    try:
        port = int(raw) if raw else default
    except ValueError:
        raise StackError(f"{env_name}={raw!r} is not a port number") from None
    if port == 0:  # 0: any free port
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
    return port


def _ensure_free(port: int, what: str, env_name: str) -> None:
    """Fail clearly when a port is taken (moto's server would otherwise hang on start). The
    check binds as the real servers do (socketserver and werkzeug set SO_REUSEADDR): a port whose
    last connections linger in TIME_WAIT after a stop is free for them, so it is free here too;
    a port something listens on is still refused."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as exc:
            raise StackError(
                f"{what} cannot listen on {HOST}:{port} ({exc.strerror}); "
                f"stop what uses it or set {env_name} to another port"
            ) from None


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _display_path(path: Path) -> str:
    """Paths under the repository as the contract shows them (`.local/slack.jsonl`)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path.resolve())


class Stack:
    def __init__(self) -> None:
        self.local_dir = Path(os.environ.get(LOCAL_DIR) or ROOT / ".local").resolve()
        self.stack_file = self.local_dir / "stack.json"
        self.outbox = self.local_dir / "slack.jsonl"
        self.aws_port = _port(AWS_PORT, 5000)
        self.api_port = _port(API_PORT, 8000)
        self.jira_port = _port(JIRA_PORT, 8001)
        self.slack_port = _port(SLACK_PORT, 0)
        self.schedule_seconds = float(os.environ.get(SCHEDULE_SECONDS) or 60)
        self.export_schedule_seconds = float(os.environ.get(EXPORT_SCHEDULE_SECONDS) or 600)
        self.aws_url = f"http://{HOST}:{self.aws_port}"
        self.api_url = f"http://{HOST}:{self.api_port}"
        self.jira_email = os.environ.get(JIRA_EMAIL) or DEV_JIRA_EMAIL
        self.jira_token = os.environ.get(JIRA_TOKEN) or secrets.token_urlsafe(24)
        self.webhook_secret = os.environ.get(JIRA_WEBHOOK_SECRET) or secrets.token_urlsafe(32)
        self.slack_signing_secret = secrets.token_hex(16)
        self.approval_keys = f"local1:{secrets.token_urlsafe(32)}"
        self.info: dict[str, Any] = {}
        self._stops: list[tuple[str, Callable[[], None]]] = []

    # -- start -------------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        started = time.monotonic()
        self._check_ports()
        self.local_dir.mkdir(parents=True, exist_ok=True)
        self.stack_file.unlink(missing_ok=True)  # nobody may read the last run's file as this one's
        self.outbox.unlink(missing_ok=True)
        self._aws_environment()
        self._start_moto()
        infra = self._deploy()
        slack_url = self._start_slack()
        jira_url = self._start_jira()
        self._app_environment(infra, slack_url, jira_url)
        config = self._chalice_config()
        app = self._import_app()
        seeded = self._seed()
        self._start_api(app, config)
        pump = self._start_pump(app)
        self.info = {
            "api": self.api_url,
            "jira": jira_url,
            "aws": self.aws_url,
            "slack": slack_url,
            "region": REGION,
            "project": seeded["project"],
            "keys": seeded["keys"],
            "modules": seeded["modules"],
            "defaultLead": seeded["defaultLead"],
            "defaultModule": seeded["defaultModule"],
            "jiraWebhookSecret": self.webhook_secret,
            "jiraUser": {"email": self.jira_email, "token": self.jira_token},
            "slackSigningSecret": self.slack_signing_secret,
            "approvalKeys": self.approval_keys,
            "slackOutbox": _display_path(self.outbox),
            **self._resources(infra),
            "handlers": pump.describe(),
            "pid": os.getpid(),
            "startedInSeconds": round(time.monotonic() - started, 2),
        }
        _write_atomically(self.stack_file, self.info)
        return self.info

    def _check_ports(self) -> None:
        for port, what, env_name in (
            (self.aws_port, "the AWS emulator (moto)", AWS_PORT),
            (self.api_port, "the API", API_PORT),
            (self.jira_port, "the Jira emulator", JIRA_PORT),
        ):
            _ensure_free(port, what, env_name)

    def _app_environment(self, infra: dict[str, Any], slack_url: str, jira_url: str) -> None:
        """What Lambda's environment would hold: the template's names, secrets, local URLs."""
        from chalicelib import settings as names  # names only: nothing is read at import

        os.environ.update(
            {
                **{k: str(v) for k, v in infra["env"].items()},
                names.PUBLIC_URL: self.api_url,
                names.APPROVAL_KEYS: self.approval_keys,
                names.SLACK_WEBHOOK_URL: f"{slack_url}/services/TLOCAL/BLOCAL/devstack",
                names.SLACK_API_URL: f"{slack_url}/api/",
                names.SLACK_SIGNING_SECRET: self.slack_signing_secret,
                JIRA_URL: jira_url,
                JIRA_EMAIL: self.jira_email,
                JIRA_TOKEN: self.jira_token,
                JIRA_WEBHOOK_SECRET: self.webhook_secret,
            }
        )
        # Drafts for one lead are collected this long into one digest (60 s on AWS): short
        # locally, so a report's Slack message arrives in seconds; an explicit value wins.
        os.environ.setdefault(names.DIGEST_SECONDS, "2")
        # The emulator's search is consistent at once; a short wait keeps retries quick.
        os.environ.setdefault(names.JIRA_SEARCH_LAG_SECONDS, "2")

    def _resources(self, infra: dict[str, Any]) -> dict[str, Any]:
        """The deployed table, bucket, state machine and queues, as stack.json names them."""
        return {
            "table": infra["table"],
            "bucket": infra["bucket"],
            "stateMachineArn": infra["stateMachineArn"],
            "queues": {
                "reports": self._local_queue_url(infra["reportsQueueUrl"]),
                "workflow": self._local_queue_url(infra["workflowQueueUrl"]),
            },
            "dlqs": {
                "reports": self._local_queue_url(infra["reportsDlqUrl"]),
                "workflow": self._local_queue_url(infra["workflowDlqUrl"]),
            },
        }

    def _local_queue_url(self, url: str) -> str:
        """moto's CloudFormation names queues by their AWS URL; show the local endpoint's."""
        account, name = url.rstrip("/").split("/")[-2:]
        return f"{self.aws_url}/{account}/{name}"

    def _aws_environment(self) -> None:
        """Every boto3 client of this process (app, pump, deploy) talks to moto, never to AWS."""
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(name, None)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "MOTO_PORT": str(self.aws_port),  # moto's Step Functions calls back into it
            }
        )

    def _start_moto(self) -> None:
        import requests

        server = local_aws_server(HOST, self.aws_port)
        server.start()
        self._stops.append(("aws", server.stop))
        response = requests.post(
            f"{self.aws_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        )
        response.raise_for_status()
        log.info("aws (moto) on %s, Step Functions executing", self.aws_url)

    def _deploy(self) -> dict[str, Any]:
        from infra.deploy_local import deploy

        infra: dict[str, Any] = deploy(self.aws_url, REGION)
        log.info(
            "deployed table %s, bucket %s, state machine %s",
            infra["table"],
            infra["bucket"],
            infra["stateMachineArn"],
        )
        return infra

    def _start_slack(self) -> str:
        from devstack.slack_sink import SlackSink

        sink = SlackSink(HOST, self.slack_port, outbox_path=str(self.outbox))
        sink.start()
        self._stops.append(("slack", sink.stop))
        url = str(sink.url)
        log.info("slack sink on %s -> %s", url, self.outbox)
        return url

    def _start_jira(self) -> str:
        from devstack.jira import JiraEmulator

        jira = JiraEmulator(
            HOST,
            self.jira_port,
            email=self.jira_email,
            api_token=self.jira_token,
            webhook_url=f"{self.api_url}/v1/webhooks/jira",
            webhook_secret=self.webhook_secret,
            projects=("KP",),
        )
        jira.start()
        self._stops.append(("jira", jira.stop))
        url = str(jira.url)
        log.info("jira emulator on %s", url)
        return url

    def _import_app(self) -> Any:
        """app.py, imported only now: its settings and wiring read the environment set above."""
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        import app

        return app.app

    def _seed(self) -> dict[str, Any]:
        from chalicelib.bootstrap import container, reset
        from devstack.seed import seed, seed_gates, seed_jira

        reset()
        seeded = seed(container().access)
        seed_jira(container().jira_mapping)
        seed_gates(container().metrics)
        return seeded

    def _chalice_config(self) -> Any:
        """The stage's config, as `chalice local` reads it; its environment variables are set
        (unless already set) before the app is imported, as Lambda would have them."""
        from chalice.cli.factory import CLIFactory

        config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name=STAGE)
        for name, value in (config.environment_variables or {}).items():
            os.environ.setdefault(name, str(value))
        return config

    def _start_api(self, app: Any, config: Any) -> None:
        from devstack.api_server import serve_api

        self._stops.append(("api", serve_api(app, config, HOST, self.api_port)))
        log.info("api on %s", self.api_url)

    def _start_pump(self, app: Any) -> Any:
        import boto3
        from botocore.config import Config

        from chalicelib.settings import Settings
        from devstack.pump import Pump

        session = boto3.session.Session()
        sqs = session.client("sqs", region_name=REGION)
        # botocore routes a stream ARN to an account-id endpoint moto does not answer: off
        streams = session.client(
            "dynamodbstreams",
            region_name=REGION,
            config=Config(account_id_endpoint_mode="disabled"),
        )
        table = Settings.from_env().table_name
        pump = Pump(
            app,
            sqs,
            streams=(session.client("dynamodb", region_name=REGION), streams, table),
            region=REGION,
            schedule_seconds=self.schedule_seconds,
            schedule_seconds_by_name={"export_hourly": self.export_schedule_seconds},
            concurrency_by_name={"on_report_uploaded": REPORT_CONCURRENCY},
            stage=STAGE,
        )
        pump.start()
        self._stops.append(("pump", pump.stop))
        return pump

    # -- stop --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop what was started: the stack file first (it is stale), then everything at once,
        then the AWS emulator (the pump and the API talk to it until they stop)."""
        self.stack_file.unlink(missing_ok=True)
        stops, self._stops = self._stops, []
        threads = [
            threading.Thread(target=self._stop_one, args=item, name=f"stop-{item[0]}", daemon=True)
            for item in stops
            if item[0] != "aws"
        ]
        for thread in threads:
            thread.start()
        # 2.5 s for these, the rest of SIGTERM's 5 s for the AWS emulator and the exit: a pump
        # worker busy inside a long task is abandoned (daemon thread), its message redelivered
        deadline = time.monotonic() + 2.5
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for item in stops:
            if item[0] == "aws":
                self._stop_one(*item)

    @staticmethod
    def _stop_one(name: str, stop: Callable[[], None]) -> None:
        started = time.monotonic()
        try:
            stop()
        except Exception:
            log.exception("stopping %s failed", name)
        log.debug("stopped %s in %.2f s", name, time.monotonic() - started)
