"""Make the labelled failures `bench.grouping` measures: real test suites of small pure-Python
packages from PyPI, run with faults injected on purpose, one fault per run. Every failure of a
run is caused by that run's one fault (each suite passes without it: checked first), so the
labels are known by construction.

Run by hand (not in CI; needs pip to reach PyPI, ~2 minutes):

    python -m bench.grouping_fixtures [--work /tmp/grouping-src]

It downloads the sdists (`pip download --no-binary :all:`), unpacks them, runs each suite once
clean and once per fault with `pytest --junitxml`, keeps only the failing testcases of each
report (the passes say nothing about grouping) and writes `tests/fixtures/grouping/`:
one `<package>-<fault>.xml` per fault and `labels.json` (report file -> fault, with what the
fault is). Three trace styles are used (pytest's short and long, Python's native traceback), as
CI reports carry all of them."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "grouping"
MAX_TRACE = 3000  # characters of a failure's text kept (the fixture stays small)


@dataclass(frozen=True)
class Package:
    name: str  # on PyPI
    version: str
    tests: str  # pytest's target inside the unpacked sdist
    tb: str  # pytest --tb style


@dataclass(frozen=True)
class Fault:
    id: str
    package: str
    file: str  # inside the unpacked sdist
    anchor: str  # the line the injected code follows (a function's `def`)
    code: str  # the injected statements (indented for the function body)
    what: str


PACKAGES = {
    "toolz": Package("toolz", "1.2.0", "toolz/tests", "short"),
    "more_itertools": Package("more-itertools", "11.2.1", "tests", "native"),
    "inflection": Package("inflection", "0.5.1", "test_inflection.py", "long"),
}

_R = "    import random, uuid, time\n"
FAULTS = [
    Fault(
        "toolz-merge-outage",
        "toolz",
        "toolz/dicttoolz.py",
        "def merge(*dicts, **kwargs):\n",
        _R + "    raise ConnectionError(f'could not reach payments-db at 10.20.{random.randint(0,"
        " 255)}.{random.randint(1, 254)}:{random.randint(5400, 5499)} after "
        "{random.randint(1000, 30000)} ms (request {uuid.uuid4()})')\n",
        "an outage: the database behind merge() is unreachable (random host, port, time, id)",
    ),
    Fault(
        "toolz-groupby-timeout",
        "toolz",
        "toolz/itertoolz.py",
        "def groupby(key, seq):\n",
        _R + "    raise TimeoutError(f'cache lookup timed out after {random.randint(1, 900)} ms on "
        "redis://cache-{random.randint(1, 9)}.internal:6379/0')\n",
        "a cache timeout inside groupby()",
    ),
    Fault(
        "toolz-getin-keyerror",
        "toolz",
        "toolz/dicttoolz.py",
        "def get_in(keys, coll, default=None, no_default=False):\n",
        _R + "    raise KeyError(f'tenant {uuid.uuid4()} not found in registry')\n",
        "a missing tenant (a random UUID) inside get_in()",
    ),
    Fault(
        "toolz-compose-503",
        "toolz",
        "toolz/functoolz.py",
        "def compose(*funcs):\n",
        _R + "    raise RuntimeError(f'feature flag service returned HTTP 503 for request "
        '0x{random.getrandbits(48):012x} at {time.strftime("%Y-%m-%dT%H:%M:%S")}Z\')\n',
        "the feature-flag service answers 503 inside compose()",
    ),
    Fault(
        "toolz-frequencies-logic",
        "toolz",
        "toolz/itertoolz.py",
        "def frequencies(seq):\n",
        "    seq = list(seq)[1:]\n",
        "a logic bug: frequencies() drops the first element (assertions fail)",
    ),
    Fault(
        "more-chunked-outage",
        "more_itertools",
        "more_itertools/more.py",
        "def chunked(iterable, n, strict=False):\n",
        _R + "    raise ConnectionRefusedError(f'[Errno 111] Connection refused: "
        "http://inventory.svc.local:{random.randint(30000, 32000)}/api/items/"
        "{random.randint(1, 99999)}')\n",
        "an outage: the inventory service refuses connections inside chunked()",
    ),
    Fault(
        "more-windowed-config",
        "more_itertools",
        "more_itertools/more.py",
        "def windowed(seq, n, fillvalue=None, step=1):\n",
        _R + "    raise ValueError(f'invalid value {random.randint(-99, -1)} for window.size in "
        "/tmp/tmp{uuid.uuid4().hex[:8]}/config.yaml')\n",
        "a bad configuration value read inside windowed() (random value, temp path)",
    ),
    Fault(
        "more-take-logic",
        "more_itertools",
        "more_itertools/recipes.py",
        "def take(n, iterable):\n",
        "    n = n + 1\n",
        "a logic bug: take() returns one item too many",
    ),
    Fault(
        "more-first-permission",
        "more_itertools",
        "more_itertools/more.py",
        "def first(iterable, default=_marker):\n",
        _R + "    raise PermissionError(f'user ci{random.randint(1, 99)}@example.com may not read "
        "s3://artifacts/{uuid.uuid4()}')\n",
        "a permission error (random user, object) inside first()",
    ),
    Fault(
        "more-iterable-disk",
        "more_itertools",
        "more_itertools/more.py",
        "def always_iterable(obj, base_type=(str, bytes)):\n",
        _R + "    raise OSError(28, f'No space left on device: /tmp/pytest-of-ci/pytest-"
        "{random.randint(1, 500)}/cache-{random.getrandbits(32):08x}')\n",
        "a full disk inside always_iterable() (random temp path)",
    ),
    Fault(
        "inflection-underscore-reset",
        "inflection",
        "inflection/__init__.py",
        "def underscore(word: str) -> str:\n",
        _R + "    raise ConnectionResetError(f'Connection reset by peer while calling "
        "https://i18n.example.com/v2/rules?locale=en&ts={int(time.time() * 1000) + "
        "random.randint(0, 999)}')\n",
        "an outage: the i18n service resets connections inside underscore()",
    ),
    Fault(
        "inflection-pluralize-logic",
        "inflection",
        "inflection/__init__.py",
        "def pluralize(word: str) -> str:\n",
        "    return word + 's'\n",
        "a logic bug: pluralize() only appends an s",
    ),
    Fault(
        "inflection-camelize-locator",
        "inflection",
        "inflection/__init__.py",
        "def camelize(string: str, uppercase_first_letter: bool = True) -> str:\n",
        _R
        + '    raise TimeoutError(f"Timed out after {random.randint(5, 60)}.{random.randint(0, 9)}'
        "s waiting for element //div[@id='rule-{random.randint(1, 999)}'] to be visible\")\n",
        "a UI-style wait timeout naming a random element locator inside camelize()",
    ),
    Fault(
        "inflection-parameterize-lookup",
        "inflection",
        "inflection/__init__.py",
        "def parameterize(string: str, separator: str = '-') -> str:\n",
        _R + "    raise LookupError(f'unknown encoding x-{random.getrandbits(24):06x} since "
        '{time.strftime("%Y-%m-%d %H:%M:%S")}\')\n',
        "an unknown encoding (random name, timestamp) inside parameterize()",
    ),
]


def _source(work: Path, package: Package) -> Path:
    folder = work / f"{package.name.replace('-', '_')}-{package.version}"
    if folder.exists():
        return folder
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "-d",
         str(work), f"{package.name}=={package.version}"],
        check=True,
    )  # fmt: skip
    archive = next(work.glob(f"{package.name.replace('-', '_')}-{package.version}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    return folder


def _run(folder: Path, package: Package, junit: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:failbridge",
         f"--tb={package.tb}",
         f"--junitxml={junit}", "-o", "junit_family=xunit1", package.tests],
        cwd=folder, capture_output=True, check=False,
    )  # fmt: skip


def _failures_only(junit: Path) -> tuple[bytes, int]:
    """The report with its passing and skipped testcases removed and long texts clipped."""
    tree = ET.parse(junit)
    kept = 0
    for suite in tree.iter("testsuite"):
        for case in list(suite.findall("testcase")):
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            if problem is None:
                suite.remove(case)
                continue
            kept += 1
            case.attrib.pop("file", None)
            for child in list(case):
                if child.tag in ("system-out", "system-err", "properties"):
                    case.remove(child)
            text = problem.text or ""
            if len(text) > MAX_TRACE:
                problem.text = text[: MAX_TRACE // 2] + "\n...\n" + text[-MAX_TRACE // 2 :]
    return ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True), kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/grouping-src", type=Path)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    labels: dict[str, dict[str, str]] = {}
    for key, package in PACKAGES.items():
        folder = _source(args.work, package)
        clean = args.work / f"{key}-clean.xml"
        _run(folder, package, clean)
        if _failures_only(clean)[1]:
            raise SystemExit(f"{key}'s suite fails without a fault: its failures have no label")
        for fault in (f for f in FAULTS if f.package == key):
            target = folder / fault.file
            original = target.read_text()
            if original.count(fault.anchor) != 1:
                raise SystemExit(f"{fault.id}: the anchor is not once in {fault.file}")
            target.write_text(original.replace(fault.anchor, fault.anchor + fault.code))
            try:
                raw = args.work / f"{fault.id}.xml"
                _run(folder, package, raw)
            finally:
                target.write_text(original)
            body, kept = _failures_only(raw)
            (OUT / f"{fault.id}.xml").write_bytes(body)
            labels[f"{fault.id}.xml"] = {"fault": fault.id, "package": key, "what": fault.what}
            print(f"{fault.id}: {kept} failures")
        shutil.rmtree(folder / ".pytest_cache", ignore_errors=True)
    (OUT / "labels.json").write_text(json.dumps(labels, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
