"""The admin CLI's argument handling (the commands themselves run against moto elsewhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib import cli


def parsed(argv: list[str]) -> Any:
    parser = cli.build_parser()
    return parser.parse_args(cli._bare_local_before_command(argv, cli._commands(parser)))


def test_a_bare_local_before_the_command_means_the_default_stack_file() -> None:
    args = parsed(["--local", "create-project", "X", "--default-lead", "l@example.com"])
    assert (args.local, args.command, args.project) == (
        str(cli.DEFAULT_STACK_FILE),
        "create-project",
        "X",
    )
    args = parsed(["--local", "--table", "t", "list-keys", "P"])
    assert (args.local, args.table, args.command) == (str(cli.DEFAULT_STACK_FILE), "t", "list-keys")


def test_local_with_a_file_still_takes_the_file() -> None:
    assert (
        parsed(
            ["--local", "other.json", "create-project", "X", "--default-lead", "l@example.com"]
        ).local
        == "other.json"
    )
    assert parsed(["--local=other.json", "list-keys", "X"]).local == "other.json"
    assert parsed(["list-keys", "X"]).local is None


def test_main_with_a_bare_local_reads_the_default_stack_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end through main(): it gets as far as reading .local/stack.json (absent here)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--local", "create-project", "X", "--default-lead", "l@example.com"])
    assert "stack.json not found" in str(exited.value.code)


def test_create_project_requires_a_default_lead(capsys: pytest.CaptureFixture[str]) -> None:
    """No project without someone who decides the drafts of modules that have no lead."""
    with pytest.raises(SystemExit) as exited:
        parsed(["create-project", "X"])
    assert exited.value.code == 2
    assert "--default-lead" in capsys.readouterr().err


def test_a_default_lead_that_is_not_an_e_mail_is_refused_naming_the_field() -> None:
    from chalicelib.errors import ValidationFailed
    from chalicelib.services.access import _defaults

    with pytest.raises(ValidationFailed) as refused:
        _defaults("the qa team", None)
    assert refused.value.details[0]["field"] == "defaultLead"
    assert _defaults(" qa@example.com ", None) == {"defaultLead": "qa@example.com"}
