"""The Lambda package carries bytecode that Python uses as it is (no source check, no writes)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from infra.bytecode import add_bytecode, main


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "deployment.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("app.py", "from chalicelib import answer\nprint(answer())\n")
        z.writestr("chalicelib/__init__.py", "def answer():\n    return 'from the package'\n")
        z.writestr("vendored/py2only.py", "print 'old'\n")
    return package


def test_every_module_gets_bytecode_python_loads_without_its_source(tmp_path: Path) -> None:
    package = _package(tmp_path)
    figures = add_bytecode(package)
    assert (figures["added"], figures["skipped"]) == (2, 1)
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(package) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "task")
    assert f"chalicelib/__pycache__/__init__.{tag}.pyc" in names
    assert "vendored/py2only.py" in names  # kept as source
    # The source changes after packaging: Python still runs the packaged bytecode, as an
    # unchecked-hash .pyc says; a stale-source check would recompile and print the new text.
    source = tmp_path / "task" / "chalicelib" / "__init__.py"
    source.write_text("def answer():\n    return 'recompiled'\n")
    run = subprocess.run(
        [sys.executable, "-B", "-c", "import sys; sys.path.insert(0, '.'); import app"],
        cwd=tmp_path / "task",
        capture_output=True,
        text=True,
    )
    assert run.stdout.strip() == "from the package", run.stderr


def test_a_runtime_other_than_the_builders_is_refused(tmp_path: Path) -> None:
    package = _package(tmp_path)
    template = tmp_path / "sam.json"
    fn = {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python2.7"}}
    template.write_text(json.dumps({"Resources": {"Api": fn}}))
    before = package.read_bytes()
    assert main([str(package), str(template)]) == 2
    assert package.read_bytes() == before
