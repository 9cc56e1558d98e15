"""Shared tools of the hostile-input suite: run the CLI as a user would, check for clear errors,
and prove that nothing outside a run's own output folder changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def tree_state(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root`` (recursively) with its size and SHA-256; {} when ``root`` is absent."""
    state: dict[str, tuple[int, str]] = {}
    if not root.exists():
        return state
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            payload = path.read_bytes()
            state[str(path.relative_to(root))] = (len(payload), hashlib.sha256(payload).hexdigest())
    return state


def assert_clear_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """A non-zero exit, no traceback, and every needle (case-insensitive) in the output; returns it."""
    output = (result.stdout or "") + (result.stderr or "")
    assert result.returncode != 0, f"expected a refusal, got exit 0:\n{output[-2000:]}"
    assert "Traceback" not in output, f"a user saw a traceback:\n{output[-3000:]}"
    lowered = output.lower()
    for needle in needles:
        assert needle.lower() in lowered, f"{needle!r} missing from the message:\n{output[-2000:]}"
    return output


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run ``mobility-plan ARGS`` in a subprocess (cwd: a fresh folder unless given), 10 min at most."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600, stdin: str | None = None) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        full_env.update(env or {})
        workdir = cwd or (tmp_path / "cwd")
        workdir.mkdir(parents=True, exist_ok=True)
        return subprocess.run([sys.executable, "-m", "mobility_plan.cli", *args], cwd=workdir, env=full_env,
                              capture_output=True, text=True, timeout=timeout, input=stdin)

    return run
