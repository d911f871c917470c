"""Ship compiled bytecode in the Lambda package, and print its size.

`chalice package` zips sources only. Lambda's file system is read-only, so a cold start compiles
every module it imports, every time: measured 1.6x slower than with bytecode
(`python -m bench first_request`). This adds a `__pycache__/*.pyc` beside every `.py` of the
deployment zip, compiled by the interpreter the package was built with (Chalice takes the
functions' runtime from it; a mismatch is refused). The `.pyc` files are unchecked-hash ones
(PEP 552): they do not depend on file times, which a zip does not keep exactly.

    python -m infra.bytecode build/package/deployment.zip build/package/sam.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda's limit for a zip package, unzipped


def runtimes(template: Path) -> set[str]:
    resources = json.loads(template.read_text())["Resources"].values()
    return {
        r["Properties"]["Runtime"]
        for r in resources
        if r.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
        and "Runtime" in r.get("Properties", {})
    }


def compiled(source: bytes, name: str, scratch: Path) -> bytes | None:
    """The bytecode of one module, or None when this interpreter cannot compile it (vendored
    files for other Python versions: they are never imported here either)."""
    src, out = scratch / "m.py", scratch / "m.pyc"
    src.write_bytes(source)
    try:
        py_compile.compile(
            str(src),
            cfile=str(out),
            dfile=name,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError:
        return None
    return out.read_bytes()


def add_bytecode(package: Path) -> dict[str, int]:
    """Rewrites the zip with a .pyc for every .py. Returns counts and sizes."""
    rebuilt = package.with_suffix(".tmp.zip")
    added = skipped = 0
    with (
        zipfile.ZipFile(package) as old,
        zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as new,
        tempfile.TemporaryDirectory() as tmp,
    ):
        names = {i.filename for i in old.infolist()}
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
            if not info.filename.endswith(".py"):
                continue
            target = importlib.util.cache_from_source(info.filename)
            if target in names:
                continue
            code = compiled(data, info.filename, Path(tmp))
            if code is None:
                skipped += 1
                continue
            pyc = zipfile.ZipInfo(target, date_time=info.date_time)
            pyc.external_attr = info.external_attr
            new.writestr(pyc, code, compress_type=zipfile.ZIP_DEFLATED)
            added += 1
    before = package.stat().st_size
    rebuilt.replace(package)
    with zipfile.ZipFile(package) as z:
        unzipped = sum(i.file_size for i in z.infolist())
    return {
        "added": added,
        "skipped": skipped,
        "zipBefore": before,
        "zipAfter": package.stat().st_size,
        "unzipped": unzipped,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="Chalice's deployment.zip")
    parser.add_argument("template", type=Path, help="Chalice's sam.json beside it")
    args = parser.parse_args(argv)
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    wanted = runtimes(args.template)
    if wanted != {here}:
        print(f"bytecode: functions run {sorted(wanted)}, this is {here}: not compiled")
        return 2
    figures = add_bytecode(args.package)
    mib = 1024 * 1024
    print(
        f"bytecode: {figures['added']} modules compiled for {here}"
        f" ({figures['skipped']} not compilable, left as source)"
    )
    print(
        f"package: {args.package} {figures['zipAfter'] / mib:.1f} MiB zipped"
        f" ({figures['zipBefore'] / mib:.1f} MiB without bytecode),"
        f" {figures['unzipped'] / mib:.1f} MiB unzipped"
        f" (Lambda's limit {LAMBDA_UNZIPPED_LIMIT / mib:.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
