"""Run time of each siting notebook, top to bottom, against the 2-minute target.

Run:  .venv/bin/python benchmarks/bench_notebooks.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TARGET_S = 120.0


def main() -> int:
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    ok = True
    for path in sorted(folder.glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        seconds = time.perf_counter() - start
        ok &= seconds < TARGET_S
        print(f"{path.name:32s} {seconds:6.1f} s  ({seconds / TARGET_S:.2f} of the {TARGET_S:.0f} s target)", flush=True)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
