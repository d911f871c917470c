"""(a) Cold import of app.py against its library floor (boto3, powertools, pydantic, chalice),
measured in the same run, alternating, in fresh interpreters. Prints medians and the ratio."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = (
    "import boto3, pydantic, chalice, aws_lambda_powertools; "
    "from aws_lambda_powertools import Logger, Metrics"
)
APP = "import app"


def once(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - start


def main(rounds: int = 15) -> dict[str, float]:
    base = once("pass")
    floor, app = [], []
    for _ in range(rounds):
        floor.append(once(FLOOR))
        app.append(once(APP))
    interp = statistics.median([once("pass") for _ in range(5)] + [base])
    f = statistics.median(floor) - interp
    a = statistics.median(app) - interp
    print(f"import floor (boto3+powertools+pydantic+chalice): {f * 1000:7.1f} ms")
    print(f"import app.py:                                    {a * 1000:7.1f} ms")
    print(f"ratio app/floor: {a / f:.2f}  (target <= 1.2)")
    return {"floor_ms": f * 1000, "app_ms": a * 1000, "ratio": a / f}


if __name__ == "__main__":
    main()
