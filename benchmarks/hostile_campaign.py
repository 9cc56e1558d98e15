#!/usr/bin/env python
"""Hostile-input campaign: run >= 220 independent hostile cases against this checkout and classify each outcome.

This is a measurement of the product, not a test suite (that is ``tests/hostile/``). Every case runs in its
own subprocess (the ``mobility-plan`` CLI as ``python -m mobility_plan.cli`` or a short library script), in
its own temporary folder with a user's documents, a working directory with a user file, the hostile inputs
and, where the case needs one, a copy of the data directory that the case mutates. The real data directory
is never written: every mutated file is a real copy, untouched files are symlinks, and the whole data
directory is hashed before and after the campaign.

Each case declares what SHOULD happen from the user's point of view (``refuse``, ``accept`` or ``either``)
and the outcome is classified as

``clear``          refused (non-zero exit, or a MobilityPlanError / ValueError / TypeError from a library
                   call) with a short message naming the problem, and no traceback;
``honest``         accepted and the case's check of the output passed (right result, or a warning about
                   the oddity);
``traceback``      a Python traceback shown to a CLI user, a crash, or a library exception of another type;
``hang``           the case ran past its time limit (listed separately, counted with the tracebacks);
``silent_wrong``   accepted without a word although the input is invalid, or the output is wrong;
``data_loss``      a file outside the run's own output folder changed or vanished (user documents, cwd,
                   the data-directory copy, the inputs), or a previous good output was destroyed without
                   the user asking;
``vague``          refused, but the message does not name the problem (or is empty / very long);
``wrong_refusal``  a valid input was refused.

Usage::

    python benchmarks/hostile_campaign.py                 # every case, 2 workers
    python benchmarks/hostile_campaign.py --list          # the cases, by area
    python benchmarks/hostile_campaign.py --only scenario outputs --json /tmp/campaign.json
    PYTHONPATH=/other/checkout/src python benchmarks/hostile_campaign.py   # measure another checkout

The checkout measured is the one whose ``src`` is first on ``PYTHONPATH`` (default: the one this file sits
in). Exit status 0 always (it is a measurement), or 1 with ``--strict`` when data loss or silent wrong > 0.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("clear", "honest", "traceback", "hang", "silent_wrong", "data_loss", "vague", "wrong_refusal",
           "skipped")
_MARK = "@@HOSTILE-RESULT@@"


# =========================================================================== environment


def _src_dir() -> Path:
    """The ``src`` folder measured: first PYTHONPATH entry holding mobility_plan, else this checkout's."""
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and (Path(entry) / "mobility_plan" / "__init__.py").is_file():
            return Path(entry).resolve()
    return REPO / "src"


SRC = _src_dir()
CHECKOUT = SRC.parent
SCENARIOS = CHECKOUT / "data" / "scenarios"


def _shared_data() -> Path:
    env = os.environ.get("MOBILITY_PLAN_DATA_DIR")
    for candidate in (env, CHECKOUT.parent / "shared" / "data", "/work/shared/data"):
        if candidate and (Path(candidate) / "fleet").is_dir():
            return Path(candidate).resolve()
    return Path("/work/shared/data")


SHARED = _shared_data()
CACHE = Path(tempfile.gettempdir()) / f"hostile-campaign-cache-{os.getuid()}"
USE_FORK = True  # library cases in children forked from a pre-imported server (--no-fork: one process each)


# =========================================================================== cases


@dataclasses.dataclass
class Case:
    """One hostile case: what runs, what should happen, and how an accepted output is checked."""

    id: str
    area: str
    what: str
    expect: str  # "refuse" | "accept" | "either"
    run: Any  # CLI: list of args (str.format'ed with the context); lib: python code; cli2: list of arg lists
    kind: str = "cli"
    setup: Callable[[Ctx], None] | None = None
    needles: tuple[str, ...] = ()  # any of them in a refusal's message (case-insensitive)
    warn: tuple[str, ...] = ()  # any of them in an acceptance's output = the tool warned = honest
    check: Callable[[Ctx, Outcome], str | None] | None = None  # None = right, else what is wrong
    own: tuple[str, ...] = ("out",)  # paths (relative to the case folder) the run may change
    data: tuple[str, ...] | None = None  # data files to copy (for mutation); None = the real data read in place
    needs: tuple[str, ...] = ()  # fixtures: "plan_output"
    timeout: float = 120.0
    cwd: str = "cwd"
    env: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Outcome:
    rc: int | None
    output: str
    seconds: float
    result: dict | None = None  # library cases: the JSON record of the runner


class Ctx:
    """Paths of one case: T (case folder), IN (inputs), OUT (the run's own output), DATA, HOME, CWD."""

    def __init__(self, root: Path, case: Case, fixtures: dict[str, Path]):
        self.T = root
        self.IN = root / "in"
        self.OUTROOT = root / "out"
        self.OUT = root / "out" / "run"
        self.HOME = root / "home"
        self.DOCS = self.HOME / "Documents"
        self.CWD = root / case.cwd
        self.DATA = root / "data" if case.data is not None else SHARED
        self.fixtures = fixtures
        for folder in (self.IN, self.OUTROOT, self.DOCS, root / "cwd"):
            folder.mkdir(parents=True, exist_ok=True)
        (self.DOCS / "thesis.docx").write_bytes(b"PK\x03\x04 my thesis, three years of work " * 50)
        (self.DOCS / "my_stations.csv").write_text("name,lon,lat\nhome,126.98,37.57\n", encoding="utf-8")
        (root / "cwd" / "notes.txt").write_text("a user's notes in the working directory\n", encoding="utf-8")
        if case.data is not None:
            _data_copy(self.DATA, case.data)

    def fmt(self) -> dict[str, str]:
        return {"T": str(self.T), "in": str(self.IN), "out": str(self.OUT), "outroot": str(self.OUTROOT),
                "home": str(self.HOME), "docs": str(self.DOCS), "cwd": str(self.CWD), "data": str(self.DATA),
                "shared": str(SHARED), "scen": str(SCENARIOS)}

    def write(self, name: str, payload: str | bytes, encoding: str = "utf-8") -> Path:
        path = self.IN / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            path.write_bytes(payload.encode(encoding))
        return path


def _data_copy(target: Path, real: tuple[str, ...]) -> None:
    """A data directory of symlinks to the real files, except ``real`` (copied, so that they can be mutated)."""
    for path in SHARED.rglob("*"):
        rel = path.relative_to(SHARED)
        dest = target / rel
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        elif str(rel) in real:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(path)


def tree_state(root: Path, skip: list[Path]) -> dict[str, tuple]:
    """Every file under root (not under ``skip``): size and SHA-256; symlinks by target, size and mtime."""
    state: dict[str, tuple] = {}
    skip = [s.resolve() if s.exists() else s for s in skip]
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if any(_under(here, s) for s in skip):
            dirnames[:] = []
            continue
        for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
            path = here / name
            if any(_under(path, s) for s in skip):
                continue
            rel = str(path.relative_to(root))
            try:
                if path.is_symlink():
                    target = os.readlink(path)
                    st = path.stat()
                    state[rel] = ("link", target, st.st_size, st.st_mtime_ns)
                elif path.is_file():
                    payload = path.read_bytes()
                    state[rel] = (len(payload), hashlib.sha256(payload).hexdigest())
                else:
                    state[rel] = ("special",)
            except OSError as exc:
                state[rel] = ("error", str(exc))
    return state


def _under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except (ValueError, OSError):
        return False


def full_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- helpers for case authors


def read_scenario(name: str) -> str:
    return (SCENARIOS / f"{name}.toml").read_text(encoding="utf-8")


def toml_set(text: str, section: str, key: str, value: str | None, *, nth: int = 1) -> str:
    """Set (or with value None remove) ``key`` in ``[section]`` (or the nth ``[[layer]]``) of TOML text."""
    lines = text.splitlines()
    header = f"[[{section}]]" if section == "layer" else f"[{section}]"
    start, seen = None, 0
    for i, line in enumerate(lines):
        if line.strip() == header:
            seen += 1
            if seen == nth:
                start = i
                break
    if start is None:
        if value is None:
            return text
        lines += ["", header, f"{key} = {value}"]
        return "\n".join(lines) + "\n"
    end = len(lines)
    for j in range(start + 1, len(lines)):
        if lines[j].lstrip().startswith("["):
            end = j
            break
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for j in range(start + 1, end):
        if pattern.match(lines[j]):
            if value is None:
                del lines[j]
            else:
                lines[j] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    if value is not None:
        lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def toml_drop_section(text: str, section: str) -> str:
    """Remove every ``[section]`` / ``[[section]]`` block."""
    out, dropping = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            dropping = stripped in (f"[{section}]", f"[[{section}]]")
        if not dropping:
            out.append(line)
    return "\n".join(out) + "\n"


def output_has(*words: str) -> Callable[[Ctx, Outcome], str | None]:
    def check(ctx: Ctx, o: Outcome) -> str | None:
        low = o.output.lower()
        missing = [w for w in words if w.lower() not in low]
        return f"output lacks {missing}" if missing else None
    return check


def result_is(predicate: Callable[[Any], bool], what: str) -> Callable[[Ctx, Outcome], str | None]:
    def check(ctx: Ctx, o: Outcome) -> str | None:
        value = (o.result or {}).get("result")
        try:
            ok = predicate(value)
        except Exception as exc:  # noqa: BLE001 - a failing check is a wrong output
            return f"check failed ({type(exc).__name__}: {exc}); result {str(value)[:300]}"
        return None if ok else f"{what}; result {str(value)[:300]}"
    return check


def all_checks(*checks: Callable[[Ctx, Outcome], str | None]) -> Callable[[Ctx, Outcome], str | None]:
    def check(ctx: Ctx, o: Outcome) -> str | None:
        for c in checks:
            problem = c(ctx, o)
            if problem:
                return problem
        return None
    return check


def plan_output_ok(folder_key: str = "OUT", users: tuple[str, ...] = ()) -> Callable[[Ctx, Outcome], str | None]:
    """A complete plan output: the seven files, summary.json valid JSON, GeoJSON parse, no leftover temp folders.

    ``users`` names folders beside the output that are the user's own (a name that looks like one of the
    tool's temporary folders): they must stay, so they are not counted as leftovers.
    """
    def check(ctx: Ctx, o: Outcome) -> str | None:
        folder = getattr(ctx, folder_key) if isinstance(folder_key, str) and hasattr(ctx, folder_key) \
            else Path(folder_key.format(**ctx.fmt()))
        needed = ["sites.geojson", "coverage.geojson", "regions.geojson", "flows.geojson", "summary.json",
                  "report.md", "map.png"]
        missing = [n for n in needed if not (folder / n).is_file()]
        if missing:
            return f"{folder} lacks {missing}"
        try:
            json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            for n in needed[:4]:
                json.loads((folder / n).read_text(encoding="utf-8"))
        except ValueError as exc:
            return f"an output is not valid JSON: {exc}"
        leftovers = [p.name for p in folder.parent.iterdir()
                     if p.name.startswith(f".{folder.name}.") and p.name not in users]
        if leftovers:
            return f"leftover temporary folders beside the output: {leftovers}"
        return None
    return check


# =========================================================================== runner


def _env(ctx: Ctx, case: Case) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOBILITY_PLAN")}
    env.update({
        "PYTHONPATH": str(SRC), "HOME": str(ctx.HOME), "MOBILITY_PLAN_DATA_DIR": str(ctx.DATA),
        "MOBILITY_PLAN_CACHE_DIR": str(CACHE), "MPLBACKEND": "Agg", "PYTHONWARNINGS": "default",
        "HOSTILE_T": str(ctx.T), "PYTHONIOENCODING": "utf-8", "COLUMNS": "160",
    })
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value.format(**ctx.fmt())
    return env


_LIB_PRELUDE = '''
import json, os, sys, traceback, warnings
from pathlib import Path
T = Path(os.environ["HOSTILE_T"]); IN = T / "in"; OUT = T / "out" / "run"
DATA = Path(os.environ["MOBILITY_PLAN_DATA_DIR"]); SHARED = Path({shared!r})
result = None
_record = {{}}
with warnings.catch_warnings(record=True) as _caught:
    warnings.simplefilter("always")
    try:
        exec(compile({code!r}, "<case>", "exec"))
        _record = {{"ok": True, "result": result}}
    except BaseException as exc:
        traceback.print_exc()
        _record = {{"ok": False, "type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
                    "message": str(exc)}}
_record["warnings"] = [str(w.message)[:500] for w in _caught
                       if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
sys.stdout.flush()
print("\\n{mark}" + json.dumps(_record, default=str, allow_nan=True))
'''


def _command(case: Case, ctx: Ctx) -> list[list[str]]:
    f = ctx.fmt()
    if case.kind == "lib":
        script = ctx.T / "case.py"
        script.write_text(_LIB_PRELUDE.format(shared=str(SHARED), code=textwrap.dedent(case.run), mark=_MARK),
                          encoding="utf-8")
        return [[sys.executable, str(script)]]
    runs = case.run if case.kind == "cli2" else [case.run]
    return [[sys.executable, "-m", "mobility_plan.cli", *[a.format(**f) for a in args]] for args in runs]


def _run_procs(commands: list[list[str]], cwd: Path, env: dict[str, str], timeout: float) -> Outcome:
    start = time.perf_counter()
    procs = [subprocess.Popen(c, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, start_new_session=True) for c in commands]
    outputs, codes, hung = [], [], False
    deadline = start + timeout
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=max(1.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            hung = True
            try:
                os.killpg(proc.pid, 9)
            except OSError:
                pass
            out, _ = proc.communicate()
        outputs.append(out.decode("utf-8", "replace"))
        codes.append(proc.returncode)
    # several commands at once (concurrent runs): 0 when any succeeded, so that the output is checked
    rc = None if hung else (0 if 0 in codes else max(codes, key=abs))
    return Outcome(rc, "\n".join(outputs), time.perf_counter() - start)


# A library case runs in a child forked from a server that has imported the project once (the imports cost
# 3-6 s per process on a loaded 2-core machine). The child is its own process: a crash or a hang stays in it.
_FORK_SERVER = r'''
import json, os, signal, sys, time, traceback
import numpy, pandas, geopandas, shapely, networkx, scipy.sparse  # noqa: F401
for name in ("scenario", "siting", "network", "costs", "export", "uploads", "data", "fleet", "demand", "plan"):
    try:
        __import__("mobility_plan." + name)
    except Exception:
        traceback.print_exc()
reply = sys.stdout
sys.stdout = sys.stderr
reply.write("ready\n"); reply.flush()
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setsid()
            fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1); os.dup2(fd, 2)
            sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
            sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
            os.chdir(job["cwd"])
            os.environ.clear(); os.environ.update(job["env"])
            import runpy
            runpy.run_path(job["script"], run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush(); sys.stderr.flush()
            finally:
                os._exit(code)
    deadline = time.monotonic() + job["timeout"]
    status, hung = None, False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            hung = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.05)
    rc = None if hung else (os.waitstatus_to_exitcode(status) if status is not None else None)
    reply.write(json.dumps({"rc": rc}) + "\n"); reply.flush()
'''

_servers = threading.local()


def _fork_server() -> subprocess.Popen | None:
    server = getattr(_servers, "proc", None)
    if server is not None and server.poll() is None:
        return server
    if getattr(_servers, "failed", False):
        return None
    script = CACHE / "fork_server.py"
    script.write_text(_FORK_SERVER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOBILITY_PLAN")}
    env.update({"PYTHONPATH": str(SRC), "MOBILITY_PLAN_DATA_DIR": str(SHARED), "MOBILITY_PLAN_CACHE_DIR": str(CACHE),
                "MPLBACKEND": "Agg"})
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        _servers.failed = True
        return None
    _servers.proc = proc
    return proc


def _run_forked(script: Path, cwd: Path, env: dict[str, str], timeout: float) -> Outcome | None:
    server = _fork_server()
    if server is None:
        return None
    log = script.with_suffix(".log")
    start = time.perf_counter()
    try:
        server.stdin.write(json.dumps({"script": str(script), "cwd": str(cwd), "env": env, "log": str(log),
                                       "timeout": timeout}) + "\n")
        server.stdin.flush()
        reply = json.loads(server.stdout.readline())
    except (OSError, ValueError):
        server.kill()
        return None
    output = log.read_bytes().decode("utf-8", "replace") if log.exists() else ""
    return Outcome(reply["rc"], output, time.perf_counter() - start)


def _clear_message(text: str, needles: tuple[str, ...], extra: str = "") -> str | None:
    """None when the refusal message is clear, else why not."""
    body = (text + " " + extra).strip()
    if not body:
        return "refused without any message"
    if len(body) > 8000:
        return f"refusal message of {len(body)} characters"
    if needles and not any(n.lower() in body.lower() for n in needles):
        return f"the message names none of {list(needles)}"
    return None


def classify(case: Case, ctx: Ctx, o: Outcome, changed: list[str]) -> tuple[str, str]:
    """(class, reason) of one outcome."""
    if changed:
        return "data_loss", f"changed or vanished outside the output folder: {changed[:8]}"
    if o.rc is None:
        return "hang", f"still running after {case.timeout:.0f} s"
    if case.kind == "lib":
        record = o.result
        if record is None:
            return "traceback", f"the library call crashed (exit {o.rc}, no result)"
        if not record["ok"]:
            mro = record.get("mro", [])
            message = record.get("message", "")
            if "MobilityPlanError" not in mro and not ({"ValueError", "TypeError"} & set(mro)):
                return "traceback", f"{record['type']}: {message[:300]}"
            if "MobilityPlanError" not in mro and len(message.strip()) < 8:
                return "traceback", f"{record['type']} without a clear message: {message!r}"
            refused, message_text = True, f"{record['type']}: {message}"
        else:
            refused, message_text = False, ""
        accepted_text = "\n".join(record.get("warnings", [])) + "\n" + json.dumps(record.get("result"), default=str)
    else:
        if "Traceback (most recent call last)" in o.output:
            return "traceback", "a traceback was shown"
        if o.rc < 0:
            return "traceback", f"killed by signal {-o.rc}"
        refused = o.rc != 0
        message_text = o.output
        accepted_text = o.output
    if refused:
        if case.expect == "accept":
            return "wrong_refusal", f"a valid input was refused: {message_text.strip()[-300:]}"
        problem = _clear_message(message_text, case.needles)
        return ("vague", problem) if problem else ("clear", "refused: " + message_text.strip().splitlines()[-1][:200]
                                                   if message_text.strip() else "refused")
    # accepted: a warning counts only in the tool's words, not in the case's own file names
    accepted_text = accepted_text.replace(str(ctx.T), "<case>")
    if case.expect == "refuse":
        if case.warn and any(w.lower() in accepted_text.lower() for w in case.warn):
            return "honest", "accepted with a warning"
        return "silent_wrong", "an invalid input was accepted without a word"
    if case.check is not None:
        problem = case.check(ctx, o)
        if problem:
            if case.warn and any(w.lower() in accepted_text.lower() for w in case.warn):
                return "honest", f"accepted with a warning ({problem})"
            return "silent_wrong", problem
    return "honest", "accepted, output checked"


def run_case(case: Case, fixtures: dict[str, Path], keep: bool) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"hc-{case.id}-"))
    record: dict[str, Any] = {"id": case.id, "area": case.area, "what": case.what, "expect": case.expect}
    try:
        missing = [n for n in case.needs if n not in fixtures]
        if missing:
            record.update({"class": "skipped", "reason": f"fixture(s) {missing} unavailable", "seconds": 0.0,
                           "command": "", "output_tail": ""})
            return record
        ctx = Ctx(root, case, fixtures)
        if case.setup is not None:
            case.setup(ctx)
        commands = _command(case, ctx)
        env = _env(ctx, case)
        own = [root / o.format(**ctx.fmt()) if not os.path.isabs(o.format(**ctx.fmt())) else Path(o.format(**ctx.fmt()))
               for o in case.own]
        before = tree_state(root, own + [root / "case.py", root / "case.log"])
        outcome = None
        if case.kind == "lib" and USE_FORK:
            outcome = _run_forked(root / "case.py", ctx.CWD, env, case.timeout)
        if outcome is None:
            outcome = _run_procs(commands, ctx.CWD, env, case.timeout)
        if case.kind == "lib":
            tail = outcome.output.rsplit(_MARK, 1)
            if len(tail) == 2:
                try:
                    outcome.result = json.loads(tail[1].strip().splitlines()[0])
                except (ValueError, IndexError):
                    outcome.result = None
                outcome.output = tail[0]
        after = tree_state(root, own + [root / "case.py", root / "case.log"])
        changed = sorted(k for k in before if before[k] != after.get(k))
        new = sorted(k for k in after if k not in before)
        cls, reason = classify(case, ctx, outcome, changed)
        env_shown = " ".join(f"{k}={shlex.quote(env[k])}" for k in ("PYTHONPATH", "MOBILITY_PLAN_DATA_DIR", "HOME")
                             if k in env) + "".join(f" {k}={shlex.quote(str(v))}" for k, v in case.env.items()
                                                    if v is not None and k not in ("MOBILITY_PLAN_DATA_DIR",))
        record.update({
            "class": cls, "reason": reason, "rc": outcome.rc, "seconds": round(outcome.seconds, 2),
            "command": (f"cd {ctx.CWD} && {env_shown} " + " ; ".join(shlex.join(c) for c in commands)),
            "output_tail": outcome.output[-1500:], "new_files_outside_output": new[:10],
        })
        if case.kind == "lib":
            record["code"] = textwrap.dedent(case.run).strip()
            record["library_result"] = outcome.result
        return record
    except Exception as exc:  # noqa: BLE001 - a broken case is reported, not fatal
        record.update({"class": "skipped", "reason": f"campaign error in setup/run: {type(exc).__name__}: {exc}",
                       "seconds": 0.0, "command": "", "output_tail": ""})
        return record
    finally:
        subprocess.run(["chattr", "-R", "-i", str(root)], capture_output=True)
        for dirpath, dirnames, _ in os.walk(root):
            for d in dirnames:
                try:
                    os.chmod(Path(dirpath) / d, 0o755)
                except OSError:
                    pass
        if keep and record.get("class") not in ("clear", "honest"):
            record["kept"] = str(root)
        else:
            shutil.rmtree(root, ignore_errors=True)


# =========================================================================== fixtures


def build_fixtures(cases: list[Case]) -> dict[str, Path]:
    fixtures: dict[str, Path] = {}
    if any("plan_output" in c.needs for c in cases):
        folder = Path(tempfile.mkdtemp(prefix="hc-fixture-")) / "plan_backcast"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOBILITY_PLAN")}
        env.update({"PYTHONPATH": str(SRC), "MOBILITY_PLAN_DATA_DIR": str(SHARED),
                    "MOBILITY_PLAN_CACHE_DIR": str(CACHE), "MPLBACKEND": "Agg"})
        print("fixture: a tool-written plan output (plan korea_2022_backcast) ...", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, "-m", "mobility_plan.cli", "plan", "korea_2022_backcast", "--out",
                               str(folder), "--quiet"], env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode == 0 and (folder / "summary.json").is_file():
            fixtures["plan_output"] = folder
        else:
            print(f"fixture failed (exit {proc.returncode}): {proc.stdout[-500:]}{proc.stderr[-1500:]}",
                  file=sys.stderr)
    return fixtures


def copy_plan_output(ctx: Ctx, dest: Path) -> None:
    shutil.copytree(ctx.fixtures["plan_output"], dest)


# =========================================================================== the cases

# =========================================================================== the cases

EXPRESSWAY = "{shared}/expressway_2011"
YONGSAN = "{shared}/osm/seoul_yongsan_drive.graphml"
NODES_OK = "node\n1\n2\n3\n"
NODES_OK2 = "node\n10\n20\n30\n"
FIFO_WORDS = ("fifo", "pipe", "not a regular file", "not a file", "special file")
DIR_WORDS = ("folder", "directory", "not a file")
KOREA_VEHICLES = 26_300_000  # registered motor vehicles in South Korea, end of 2024 (MOLIT), rounded


def _w(name: str, payload: str | bytes, encoding: str = "utf-8") -> Callable[[Ctx], None]:
    return lambda ctx: ctx.write(name, payload, encoding)


def _fifo(name: str) -> Callable[[Ctx], None]:
    return lambda ctx: os.mkfifo(ctx.IN / name)


def _mkdir(name: str) -> Callable[[Ctx], None]:
    return lambda ctx: (ctx.IN / name).mkdir(parents=True, exist_ok=True)


def _seq(*steps: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        for step in steps:
            step(ctx)
    return setup


def _npz(name: str, **arrays: Any) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        import numpy as np

        with open(ctx.IN / name, "wb") as handle:
            np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})
    return setup


def _npz_check(shape: tuple[int, int]) -> Callable[[Ctx, Outcome], str | None]:
    def check(ctx: Ctx, o: Outcome) -> str | None:
        import numpy as np

        path = ctx.OUTROOT / "od.npz"
        if not path.is_file():
            return "no .npz written"
        with np.load(path) as archive:
            cost = archive["cost"]
        if cost.shape != shape:
            return f"cost shape {cost.shape}, expected {shape}"
        if np.isnan(cost).any() or (cost < 0).any():
            return "cost holds NaN or negative values"
        return None
    return check


def _graphml_variant(name: str, transform: Callable[[str], str]) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        text = (SHARED / "osm" / "seoul_yongsan_drive.graphml").read_text(encoding="utf-8")
        ctx.write(name, transform(text))
    return setup


def _swap_xy(text: str) -> str:
    return (text.replace('attr.name="x"', 'attr.name="__X__"').replace('attr.name="y"', 'attr.name="x"')
            .replace('attr.name="__X__"', 'attr.name="y"'))


def _graph_file(name: str, nodes: list[tuple[int, float, float]], edges: list[tuple[int, int, float]]):
    """A small OSMnx-style GraphML file (lon/lat nodes, edges with length and highway)."""
    def setup(ctx: Ctx) -> None:
        import networkx as nx

        G = nx.MultiDiGraph(crs="epsg:4326", created_with="hostile campaign", simplified="True")
        for n, x, y in nodes:  # OSMnx writes every attribute as a string
            G.add_node(str(n), x=str(x), y=str(y), street_count="1")
        for u, v, length in edges:
            G.add_edge(str(u), str(v), key=0, osmid=str(u * 1000 + v), length=str(length), highway="primary",
                       oneway="False", reversed="False")
        nx.write_graphml(G, ctx.IN / name)
    return setup


def _mutate_data(rel: str, fn: Callable[[bytes], bytes]) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        path = ctx.DATA / rel
        path.write_bytes(fn(path.read_bytes()))
    return setup


def _replace_data_with_dir(rel: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        path = ctx.DATA / rel
        path.unlink()
        path.mkdir()
        (path / "inside.txt").write_text("a folder where a file belongs\n")
    return setup


def _delete_data(rel: str) -> Callable[[Ctx], None]:
    return lambda ctx: (ctx.DATA / rel).unlink()


def _csv_transform(encoding: str, fn: Callable[[list[list[str]]], list[list[str]]], *, out_encoding: str | None = None,
                   newline: str = "\n") -> Callable[[bytes], bytes]:
    """Parse a CSV payload, transform its rows (header first), write it back."""
    import csv
    import io

    def transform(payload: bytes) -> bytes:
        text = payload.decode(encoding)
        bom = text.startswith("\ufeff")
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        rows = list(csv.reader(io.StringIO(text)))
        rows = fn(rows)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=newline).writerows(rows)
        body = ("\ufeff" if bom else "") + buffer.getvalue()
        return body.encode(out_encoding or encoding)
    return transform


def _scale_column(columns: list[str], factor: float) -> Callable[[list[list[str]]], list[list[str]]]:
    def fn(rows: list[list[str]]) -> list[list[str]]:
        idx = [rows[0].index(c) for c in columns]
        for row in rows[1:]:
            for i in idx:
                try:
                    row[i] = str(int(round(float(row[i]) * factor)))
                except (ValueError, IndexError):
                    pass
        return rows
    return fn


def _swap_columns(a: str, b: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def fn(rows: list[list[str]]) -> list[list[str]]:
        ia, ib = rows[0].index(a), rows[0].index(b)
        for row in rows[1:]:
            if len(row) > max(ia, ib):
                row[ia], row[ib] = row[ib], row[ia]
        return rows
    return fn


def _duplicate_rows(rows: list[list[str]]) -> list[list[str]]:
    return rows[:1] + rows[1:] + rows[1:]


def _extra_column(rows: list[list[str]]) -> list[list[str]]:
    return [row + (["memo"] if i == 0 else ["checked by hand"]) for i, row in enumerate(rows)]


def _truncate(payload: bytes) -> bytes:
    return payload[: len(payload) // 2]


def _garbage(payload: bytes) -> bytes:
    return bytes(range(256)) * 64


def _cli(id: str, area: str, what: str, expect: str, args: list[str], **kw: Any) -> Case:
    return Case(id, area, what, expect, args, **kw)


def _lib(id: str, area: str, what: str, expect: str, code: str, **kw: Any) -> Case:
    return Case(id, area, what, expect, code, kind="lib", **kw)


# --------------------------------------------------------------------------- CLI basics, data status


def cases_cli_basics() -> list[Case]:
    A = "cli_basics"
    return [
        _cli("cli-noargs", A, "no arguments", "refuse", [], needles=("usage", "command")),
        _cli("cli-unknown-cmd", A, "unknown subcommand", "refuse", ["frobnicate"], needles=("frobnicate", "invalid")),
        _cli("cli-version", A, "--version prints the version", "accept", ["--version"],
             check=output_has("mobility_plan")),
        _cli("cli-data-nosub", A, "data without a subcommand", "refuse", ["data"], needles=("status", "required")),
        _cli("cli-network-nosub", A, "network without a subcommand", "refuse", ["network"],
             needles=("info", "required")),
        _cli("cli-unknown-option", A, "an unknown option", "refuse", ["summary", "--colour", "red"],
             needles=("--colour", "unrecognized")),
        _cli("cli-validate-bad-area", A, "validate --only an unknown area", "refuse",
             ["validate", "--only", "bogus"], needles=("bogus",)),
        _cli("cli-summary-datadir-missing", A, "summary with MOBILITY_PLAN_DATA_DIR pointing nowhere", "refuse",
             ["summary"], env={"MOBILITY_PLAN_DATA_DIR": "{T}/no_such_data"}, needles=("no_such_data",)),
        _cli("cli-summary-datadir-empty", A, "summary with an empty data directory", "refuse", ["summary"],
             env={"MOBILITY_PLAN_DATA_DIR": "{in}/emptydata"}, setup=_mkdir("emptydata"),
             needles=("missing", "emptydata", "does not exist")),
        _cli("cli-summary-datadir-file", A, "summary with MOBILITY_PLAN_DATA_DIR naming a file", "refuse",
             ["summary"], env={"MOBILITY_PLAN_DATA_DIR": "{in}/data.txt"}, setup=_w("data.txt", "not a folder"),
             needles=("data.txt",)),
        _cli("cli-fleet-datadir-missing", A, "fleet with MOBILITY_PLAN_DATA_DIR pointing nowhere", "refuse",
             ["fleet", "--vehicle", "ev", "--year", "2030"], env={"MOBILITY_PLAN_DATA_DIR": "{T}/nowhere"},
             needles=("nowhere", "data director")),
        _cli("cli-validate-datadir-missing", A, "validate with MOBILITY_PLAN_DATA_DIR pointing nowhere", "refuse",
             ["validate"], env={"MOBILITY_PLAN_DATA_DIR": "{T}/nowhere"}, needles=("nowhere", "data director"),
             timeout=300),
    ]


def cases_data_status() -> list[Case]:
    A = "data_status"
    stock = "fleet/national_ev_fcev_stock_yearend.csv"
    kepco = "stations/kepco_ev_stations_20250630.csv"
    h2 = "stations/hydrogen_stations_2024.csv"
    rest = "stations/rest_areas_20210809.csv"
    node = "expressway_2011/node.csv"

    def status(id: str, what: str, files: tuple[str, ...], mutate: Callable[[Ctx], None], needles: tuple[str, ...],
               quick: bool = False) -> Case:
        args = ["data", "status"] + (["--quick"] if quick else [])
        return _cli(id, A, what, "refuse", args, data=files, setup=mutate, needles=needles)

    return [
        _cli("status-ok", A, "data status on the real data", "accept", ["data", "status"],
             check=output_has("0 missing", "0 corrupt")),
        _cli("status-dir-missing", A, "--data-dir that does not exist", "refuse",
             ["data", "status", "--data-dir", "{T}/nope"], needles=("nope", "missing", "does not exist")),
        _cli("status-dir-empty", A, "--data-dir an empty folder", "refuse",
             ["data", "status", "--data-dir", "{in}/empty"], setup=_mkdir("empty"), needles=("missing",)),
        _cli("status-dir-file", A, "--data-dir a file", "refuse", ["data", "status", "--data-dir", "{in}/f.csv"],
             setup=_w("f.csv", "a,b\n1,2\n"), needles=("f.csv", "not a folder", "directory")),
        _cli("status-dir-fifo", A, "--data-dir a FIFO", "refuse", ["data", "status", "--data-dir", "{in}/f1"],
             setup=_fifo("f1"), needles=("not a folder", "not a directory"), timeout=60),
        status("status-stock-x100", "national stock file with every stock x100", (stock,),
               _mutate_data(stock, _csv_transform("utf-8", _scale_column(["ev_stock", "fcev_stock"], 100))),
               ("corrupt", "national_fleet_stock", "checksum")),
        status("status-kepco-swapped", "KEPCO stations with latitude and longitude swapped", (kepco,),
               _mutate_data(kepco, _csv_transform("cp949", _swap_columns("위도", "경도"))),
               ("corrupt", "kepco", "checksum")),
        status("status-h2-dup", "hydrogen stations with every row duplicated", (h2,),
               _mutate_data(h2, _csv_transform("utf-8", _duplicate_rows)), ("corrupt", "hydrogen", "rows")),
        status("status-rest-truncated", "rest areas truncated to half", (rest,), _mutate_data(rest, _truncate),
               ("corrupt", "rest_areas", "truncat")),
        status("status-rest-truncated-quick", "rest areas truncated to half, --quick", (rest,),
               _mutate_data(rest, _truncate), ("corrupt", "rest_areas", "truncat", "size", "rows"), quick=True),
        status("status-stock-deleted", "national stock file deleted", (stock,), _delete_data(stock),
               ("missing",)),
        status("status-stock-dir", "national stock file replaced by a folder", (stock,),
               _replace_data_with_dir(stock), DIR_WORDS + ("corrupt",)),
        status("status-stock-empty", "national stock file emptied", (stock,), _mutate_data(stock, lambda b: b""),
               ("corrupt", "empty")),
        status("status-node-binary", "expressway node.csv replaced by binary bytes", (node,),
               _mutate_data(node, _garbage), ("corrupt", "expressway")),
        status("status-rest-utf8", "rest areas re-saved as UTF-8 (published CP949)", (rest,),
               _mutate_data(rest, lambda b: b.decode("cp949").encode("utf-8")),
               ("corrupt", "encoding", "utf-8", "cp949")),
        status("status-stock-extra-col", "national stock file with an extra column", (stock,),
               _mutate_data(stock, _csv_transform("utf-8", _extra_column)), ("corrupt", "column")),
        status("status-stock-fifo", "national stock file replaced by a FIFO", (stock,),
               lambda ctx: ((ctx.DATA / stock).unlink(), os.mkfifo(ctx.DATA / stock)),
               FIFO_WORDS + ("corrupt",)),
        _cli("status-env-unset", A, "data status with MOBILITY_PLAN_DATA_DIR unset (falls back)", "either",
             ["data", "status", "--quick"], env={"MOBILITY_PLAN_DATA_DIR": None},
             check=output_has("data directory")),
    ]


# --------------------------------------------------------------------------- network info


def cases_network() -> list[Case]:
    A = "network"
    node = "expressway_2011/node.csv"
    arcs = "expressway_2011/arc_twoway.csv"

    def info(id: str, what: str, expect: str, target: str, **kw: Any) -> Case:
        return _cli(id, A, what, expect, ["network", "info", target], **kw)

    def json_nodes(n: int) -> Callable[[Ctx, Outcome], str | None]:
        def check(ctx: Ctx, o: Outcome) -> str | None:
            try:
                summary = json.loads(o.output[o.output.index("{"):])
            except ValueError as exc:
                return f"--json output is not JSON ({exc})"
            return None if summary.get("nodes") == n else f"nodes {summary.get('nodes')}, expected {n}"
        return check

    return [
        _cli("net-yongsan-json", A, "network info --json on the Yongsan graph", "accept",
                           ["network", "info", YONGSAN, "--json"], check=json_nodes(1993)),
        _cli("net-expressway-json", A, "network info --json on the expressway folder", "accept",
             ["network", "info", EXPRESSWAY, "--json"], check=json_nodes(324)),
        info("net-missing", "a graph file that does not exist", "refuse", "{in}/nope.graphml", needles=("nope",)),
        info("net-missing-noext", "a path without extension that does not exist", "refuse", "{in}/nope",
             needles=("nope",)),
        info("net-empty-dir", "an empty folder as expressway folder", "refuse", "{in}/emptydir",
             setup=_mkdir("emptydir"), needles=("node.csv", "emptydir", "expressway")),
        info("net-fifo", "a FIFO named .graphml", "refuse", "{in}/f1.graphml", setup=_fifo("f1.graphml"),
             needles=FIFO_WORDS, timeout=60),
        info("net-empty-file", "an empty .graphml", "refuse", "{in}/empty.graphml", setup=_w("empty.graphml", ""),
             needles=("empty.graphml",)),
        info("net-binary", "binary bytes named .graphml", "refuse", "{in}/bin.graphml",
             setup=_w("bin.graphml", bytes(range(256)) * 100), needles=("bin.graphml",)),
        info("net-truncated", "the Yongsan GraphML cut in half", "refuse", "{in}/half.graphml",
             setup=_graphml_variant("half.graphml", lambda t: t[: len(t) // 2]), needles=("half.graphml",)),
        info("net-txt-ext", "a GraphML saved as .txt", "refuse", "{in}/graph.txt",
             setup=_graphml_variant("graph.txt", lambda t: t), needles=("graph.txt", "format", ".graphml")),
        info("net-osm-empty", "an empty .osm file", "refuse", "{in}/empty.osm", setup=_w("empty.osm", ""),
             needles=("empty.osm",)),
        info("net-osm-malformed", "malformed OSM XML", "refuse", "{in}/bad.osm",
             setup=_w("bad.osm", "<osm version='0.6'><node id='1' lat='37.5' lon='127.0'><way id="),
             needles=("bad.osm",)),
        info("net-osm-noways", "OSM XML with nodes but no roads", "refuse", "{in}/noroads.osm",
             setup=_w("noroads.osm", "<?xml version='1.0'?><osm version='0.6'><node id='1' lat='37.5' "
                      "lon='127.0'/><node id='2' lat='37.6' lon='127.1'/></osm>"),
             needles=("noroads.osm", "road", "no ")),
        info("net-graphml-as-osm", "a GraphML file named .osm", "refuse", "{in}/graph.osm",
             setup=_graphml_variant("graph.osm", lambda t: t), needles=("graph.osm",)),
        info("net-swapped-xy", "GraphML with node x and y swapped (lon/lat swapped)", "refuse",
             "{in}/g1.graphml", setup=_graphml_variant("g1.graphml", _swap_xy),
             needles=("swapped", "outside", "korea", "latitude"), warn=("swapped", "outside korea")),
        info("net-empty-graph", "a GraphML with no nodes", "either", "{in}/nodes0.graphml",
             setup=_graph_file("nodes0.graphml", [], []), check=output_has("nodes", "0"),
             needles=("nodes0.graphml", "no nodes", "empty")),
        info("net-disconnected", "a GraphML with two disconnected parts", "accept", "{in}/two.graphml",
             setup=_graph_file("two.graphml", [(1, 127.0, 37.5), (2, 127.001, 37.5), (3, 129.0, 35.1),
                                               (4, 129.001, 35.1)], [(1, 2, 90.0), (2, 1, 90.0), (3, 4, 90.0),
                                                                      (4, 3, 90.0)]),
             check=output_has("components: 2")),
        info("net-outside-korea", "a GraphML whose nodes are in Tokyo", "refuse", "{in}/g2.graphml",
             setup=_graph_file("g2.graphml", [(1, 139.69, 35.68), (2, 139.70, 35.68)], [(1, 2, 900.0)]),
             needles=("outside", "korea"), warn=("outside", "korea")),
        info("net-korean-path", "a graph path with Korean characters and spaces", "accept",
             "{in}/서울 지도/용산 drive.graphml", check=output_has("1,993"),
             setup=lambda ctx: ctx.write("서울 지도/용산 drive.graphml",
                                         (SHARED / "osm/seoul_yongsan_drive.graphml").read_text("utf-8"))),
        info("net-expressway-swapped", "expressway node.csv with Latitude/Longitude swapped", "refuse", "{data}/expressway_2011",
             data=(node,), setup=_mutate_data(node, _csv_transform("utf-8-sig", _swap_columns("Latitude", "Longitude"),
                                                                    newline="\r")),
             needles=("latitude", "longitude", "swapped", "outside")),
        info("net-expressway-arc-999", "expressway arcs naming node 999", "refuse", "{data}/expressway_2011",
             data=(arcs,), setup=_mutate_data(arcs, lambda b: b.rstrip(b"\r") + b"\r883,A,B,999,1,10.0"),
             needles=("999", "outside", "node")),
        info("net-expressway-arc-negative", "expressway arc with a negative length", "refuse",
             "{data}/expressway_2011", data=(arcs,),
             setup=_mutate_data(arcs, lambda b: b.rstrip(b"\r") + b"\r883,A,B,1,2,-5.0"),
             needles=("length", "negative", "non-positive")),
        info("net-expressway-node-nan", "expressway node.csv with an empty latitude", "refuse",
             "{data}/expressway_2011", data=(node,),
             setup=_mutate_data(node, _csv_transform("utf-8-sig", lambda r: r[:1] + [r[1][:1] + [""] + r[1][2:]]
                                                      + r[2:], newline="\r")),
             needles=("latitude", "missing", "empty", "nan", "coordinate")),
        info("net-expressway-no-arcs", "expressway folder without arc_twoway.csv", "refuse", "{data}/expressway_2011",
             data=(arcs,), setup=_delete_data(arcs), needles=("arc_twoway",)),
        info("net-expressway-cp949", "expressway node.csv re-saved as CP949 (same content)", "either",
             "{data}/expressway_2011", data=(node,),
             setup=_mutate_data(node, lambda b: b.decode("utf-8-sig").encode("cp949")), check=output_has("324"),
             needles=("encoding", "cp949", "utf-8", "node.csv")),
        info("net-expressway-node-dup", "expressway node.csv with every node twice", "refuse", "{data}/expressway_2011",
             data=(node,), setup=_mutate_data(node, _csv_transform("utf-8-sig", _duplicate_rows, newline="\r")),
             needles=("duplicate", "node.csv", "rows", "corrupt")),
    ]


# --------------------------------------------------------------------------- costs


def cases_costs() -> list[Case]:
    A = "costs"
    out = "{outroot}/od.npz"

    def costs(id: str, what: str, expect: str, extra: list[str], setup: Callable[[Ctx], None] | None = None,
              graph: str = EXPRESSWAY, origins: str = "{in}/o.csv", destinations: str = "{in}/d.csv",
              **kw: Any) -> Case:
        base_setup = _seq(_w("o.csv", NODES_OK), _w("d.csv", NODES_OK2))
        full = _seq(base_setup, setup) if setup else base_setup
        args = ["costs", graph, "--origins", origins, "--destinations", destinations, "--out", out, *extra]
        return _cli(id, A, what, expect, args, setup=full, **kw)

    lonlat = "lon,lat\n126.97,37.55\n126.98,37.56\n"
    return [
        costs("costs-ok", "3 x 3 expressway nodes, length", "accept", ["--weight", "length"], check=_npz_check((3, 3))),
        _cli("costs-out-no-npz", A, "--out without .npz", "refuse",
             ["costs", EXPRESSWAY, "--origins", "{in}/o.csv", "--destinations", "{in}/d.csv", "--out",
              "{outroot}/od.csv"], setup=_seq(_w("o.csv", NODES_OK), _w("d.csv", NODES_OK2)), needles=(".npz",)),
        costs("costs-out-exists", "--out exists, no --overwrite: kept", "refuse", [],
              setup=lambda ctx: (ctx.OUTROOT / "od.npz").write_bytes(b"previous result"), own=(),
              needles=("exists", "overwrite")),
        costs("costs-out-overwrite", "--out is a user's own file, --overwrite: replaced, or refused as not the tool's",
              "either", ["--overwrite"], setup=lambda ctx: (ctx.OUTROOT / "od.npz").write_bytes(b"previous result"),
              check=_npz_check((3, 3)), needles=("not written", "overwrite")),
        costs("costs-out-overwrite-tool", "--out written by an earlier costs run, --overwrite: replaced", "accept",
              ["--overwrite"], setup=_previous_costs, check=_npz_check((3, 3))),
        costs("costs-out-is-dir", "--out is an existing folder named od.npz", "refuse", ["--overwrite"],
              setup=lambda ctx: ((ctx.OUTROOT / "od.npz").mkdir(), (ctx.OUTROOT / "od.npz" / "keep.txt")
                                 .write_text("keep")), own=(), needles=("od.npz", "folder", "directory")),
        costs("costs-out-readonly", "--out in a read-only folder", "refuse", [],
              setup=lambda ctx: subprocess.run(["chattr", "+i", str(ctx.OUTROOT)], check=True),
              needles=("permission", "cannot write", "read-only", "not permitted")),
        _cli("costs-out-longname", A, "--out with a 300-character file name", "refuse",
             ["costs", EXPRESSWAY, "--origins", "{in}/o.csv", "--destinations", "{in}/d.csv", "--out",
              "{outroot}/" + "x" * 300 + ".npz"], setup=_seq(_w("o.csv", NODES_OK), _w("d.csv", NODES_OK2)),
             needles=("too long", "name")),
        _cli("costs-out-parent-file", A, "--out under a parent that is a user file", "refuse",
             ["costs", EXPRESSWAY, "--origins", "{in}/o.csv", "--destinations", "{in}/d.csv", "--out",
              "{T}/cwd/notes.txt/od.npz"], setup=_seq(_w("o.csv", NODES_OK), _w("d.csv", NODES_OK2)),
             needles=("notes.txt", "not a folder", "directory")),
        costs("costs-origins-missing", "--origins does not exist", "refuse", [], origins="{in}/none.csv",
              needles=("none.csv",)),
        costs("costs-origins-dir", "--origins is a folder", "refuse", [], origins="{in}/adir",
              setup=_mkdir("adir"), needles=DIR_WORDS),
        costs("costs-origins-fifo", "--origins is a FIFO", "refuse", [], origins="{in}/f1.csv",
              setup=_fifo("f1.csv"), needles=FIFO_WORDS, timeout=60),
        costs("costs-origins-empty", "--origins is an empty file", "refuse", [], origins="{in}/e.csv",
              setup=_w("e.csv", ""), needles=("e.csv", "empty")),
        costs("costs-origins-header-only", "--origins has a header and no rows", "refuse", [], origins="{in}/h.csv",
              setup=_w("h.csv", "node\n"), needles=("h.csv", "no ", "empty", "row")),
        costs("costs-origins-binary", "--origins is binary", "refuse", [], origins="{in}/b.csv",
              setup=_w("b.csv", bytes(range(256)) * 40), needles=("b.csv",)),
        costs("costs-origins-nocols", "--origins without node or lon/lat", "refuse", [], origins="{in}/n.csv",
              setup=_w("n.csv", "name,value\na,1\n"), needles=("node", "lon")),
        costs("costs-origins-unknown-node", "--origins names node 99999", "refuse", [], origins="{in}/u.csv",
              setup=_w("u.csv", "node\n1\n99999\n"), needles=("99999",)),
        costs("costs-origins-text-node", "--origins node ids are words", "refuse", [], origins="{in}/t.csv",
              setup=_w("t.csv", "node\nseoul\nbusan\n"), needles=("seoul", "node")),
        costs("costs-origins-float-node", "--origins node ids 1.5", "refuse", [], origins="{in}/f.csv",
              setup=_w("f.csv", "node\n1.5\n2\n"), needles=("1.5", "node")),
        costs("costs-origins-empty-node", "--origins with an empty node cell", "refuse", [], origins="{in}/g.csv",
              setup=_w("g.csv", "node\n1\n\n3\n,\n"), needles=("empty", "node")),
        costs("costs-lonlat-ok", "lon/lat origins near expressway nodes (snapped, distances reported)", "accept",
              ["--max-snap-m", "50000"], origins="{in}/ll.csv", setup=_w("ll.csv", lonlat),
              check=_npz_check((2, 3))),
        costs("costs-lonlat-swapped", "origins with lon and lat swapped", "refuse", [], origins="{in}/sw.csv",
              setup=_w("sw.csv", "lon,lat\n37.55,126.97\n37.56,126.98\n"),
              needles=("swapped", "outside", "korea", "lat"), warn=("swapped", "outside korea")),
        costs("costs-lonlat-tokyo", "origins in Tokyo", "refuse", [], origins="{in}/tk.csv",
              setup=_w("tk.csv", "lon,lat\n139.69,35.68\n"), needles=("outside", "korea", "far", "km"),
              warn=("outside", "km from", "from the network", "check their coordinates")),
        costs("costs-lonlat-nan", "origins with an empty lat", "refuse", [], origins="{in}/l1.csv",
              setup=_w("l1.csv", "lon,lat\n126.97,\n126.98,37.56\n"), needles=("lat", "empty", "missing", "nan")),
        costs("costs-lonlat-inf", "origins with lon = inf", "refuse", [], origins="{in}/l2.csv",
              setup=_w("l2.csv", "lon,lat\ninf,37.5\n"), needles=("lon", "inf", "finite")),
        costs("costs-lonlat-text", "origins with lon/lat as words", "refuse", [], origins="{in}/w.csv",
              setup=_w("w.csv", "lon,lat\nseoul,busan\n"), needles=("lon", "number", "numeric")),
        costs("costs-lonlat-cp949", "origins CSV in CP949 with a Korean name column", "accept",
              ["--max-snap-m", "50000"], origins="{in}/k.csv",
              setup=_w("k.csv", "이름,lon,lat\n서울역,126.97,37.55\n시청,126.98,37.56\n", "cp949"),
              check=_npz_check((2, 3))),
        costs("costs-utf16", "origins CSV in UTF-16", "either", [], origins="{in}/u16.csv",
              setup=_w("u16.csv", "node\n1\n2\n", "utf-16"), check=_npz_check((2, 3)),
              needles=("u16.csv", "encoding", "utf")),
        costs("costs-cutoff-negative", "--cutoff -5", "refuse", ["--cutoff", "-5"], needles=("cutoff",)),
        costs("costs-cutoff-nan", "--cutoff nan", "refuse", ["--cutoff", "nan"], needles=("cutoff",)),
        costs("costs-cutoff-text", "--cutoff ten", "refuse", ["--cutoff", "ten"], needles=("cutoff",)),
        costs("costs-cutoff-huge", "--cutoff 1e308", "accept", ["--cutoff", "1e308"], check=_npz_check((3, 3))),
        costs("costs-cutoff-inf", "--cutoff inf (no cutoff)", "either", ["--cutoff", "inf"], check=_npz_check((3, 3)),
              needles=("cutoff",)),
        costs("costs-snap-negative", "--max-snap-m -1", "refuse", ["--max-snap-m", "-1"], needles=("max-snap",)),
        costs("costs-snap-nan", "--max-snap-m nan", "refuse", ["--max-snap-m", "nan"], needles=("max-snap", "snap")),
        costs("costs-weight-bad", "--weight speed", "refuse", ["--weight", "speed"], needles=("weight",)),
        costs("costs-graph-missing", "graph does not exist", "refuse", [], graph="{in}/none.graphml",
              needles=("none.graphml",)),
        costs("costs-duplicate-origins", "duplicated origins (same node three times)", "accept", [],
              origins="{in}/dup.csv", setup=_w("dup.csv", "node\n1\n1\n1\n"), check=_npz_check((3, 3))),
        costs("costs-disconnected", "origins and destinations in two disconnected parts", "accept", [],
              graph="{in}/two.graphml", origins="{in}/a.csv", destinations="{in}/b.csv",
              setup=_seq(_graph_file("two.graphml", [(1, 127.0, 37.5), (2, 127.001, 37.5), (3, 129.0, 35.1),
                                                     (4, 129.001, 35.1)],
                                     [(1, 2, 90.0), (2, 1, 90.0), (3, 4, 90.0), (4, 3, 90.0)]),
                         _w("a.csv", "node\n1\n"), _w("b.csv", "node\n2\n3\n")),
              check=lambda ctx, o: _inf_check(ctx)),
    ]


def _previous_costs(ctx: Ctx) -> None:
    """An earlier `mobility-plan costs` run into {outroot}/od.npz (a file the tool wrote)."""
    (ctx.IN / "o0.csv").write_text("node\n4\n5\n6\n")
    env = _env(ctx, Case("-", "-", "-", "accept", []))
    subprocess.run([sys.executable, "-m", "mobility_plan.cli", "costs", str(SHARED / "expressway_2011"), "--origins",
                    str(ctx.IN / "o0.csv"), "--destinations", str(ctx.IN / "o0.csv"), "--out",
                    str(ctx.OUTROOT / "od.npz")], env=env, cwd=ctx.CWD, capture_output=True, timeout=300, check=True)


def _inf_check(ctx: Ctx) -> str | None:
    import numpy as np

    path = ctx.OUTROOT / "od.npz"
    if not path.is_file():
        return "no .npz"
    with np.load(path) as archive:
        cost = archive["cost"]
    if cost.shape != (1, 2) or not np.isfinite(cost[0, 0]) or not np.isinf(cost[0, 1]):
        return f"expected [finite, inf], got {cost.tolist()}"
    return None


# --------------------------------------------------------------------------- fleet


def _fleet_json_total(total: float, vehicle_key: str = "vehicles") -> Callable[[Ctx, Outcome], str | None]:
    def check(ctx: Ctx, o: Outcome) -> str | None:
        try:
            records = json.loads(o.output[o.output.index("["):])
        except ValueError as exc:
            return f"--json output is not JSON ({exc})"
        got = sum(r[vehicle_key] for r in records)
        if abs(got - total) > 0.5:
            return f"regions add up to {got:,.0f} vehicles, expected {total:,.0f}"
        bad = [r["region"] for r in records if r.get("deficit") is None or r["deficit"] != r["deficit"]]
        return f"deficit missing for {bad[:5]}" if bad else None
    return check


def cases_fleet() -> list[Case]:
    A = "fleet"

    def fleet(id: str, what: str, expect: str, extra: list[str], **kw: Any) -> Case:
        return _cli(id, A, what, expect, ["fleet", *extra], **kw)

    base_fcev = ["--vehicle", "fcev", "--year", "2030"]
    return [
        fleet("fleet-ok-json", "fcev 850,000 in 2030, sido, --json adds up", "accept",
              base_fcev + ["--target", "850000", "--json"], check=_fleet_json_total(850000)),
        fleet("fleet-target-negative", "--target -5", "refuse", base_fcev + ["--target", "-5"], needles=("target", "national fleet")),
        fleet("fleet-target-zero", "--target 0", "refuse", base_fcev + ["--target", "0"], needles=("target", "national fleet")),
        fleet("fleet-target-nan", "--target nan", "refuse", base_fcev + ["--target", "nan"], needles=("target", "national fleet")),
        fleet("fleet-target-inf", "--target inf", "refuse", base_fcev + ["--target", "inf"], needles=("target", "national fleet")),
        fleet("fleet-target-huge", "--target 1e300", "refuse", base_fcev + ["--target", "1e300"],
              needles=("target", "national fleet")),
        fleet("fleet-target-above-korea", f"--target 40,000,000 (above Korea's ~{KOREA_VEHICLES:,} vehicles)",
              "refuse", base_fcev + ["--target", "40000000"], needles=("target", "vehicles"),
              warn=("exceeds", "more than", "above")),
        fleet("fleet-target-below-stock", "--target 1,000 FCEVs in 2030 (below today's 45,000)", "refuse",
              base_fcev + ["--target", "1000"], needles=("target", "stock", "below"), warn=("below",)),
        fleet("fleet-target-text", "--target many", "refuse", base_fcev + ["--target", "many"], needles=("target", "national fleet")),
        fleet("fleet-target-fraction", "--target 850000.5 (half a car)", "either",
              base_fcev + ["--target", "850000.5", "--json"], check=lambda ctx, o: None if '"vehicles"' in o.output else "no records",
              needles=("target", "whole")),
        fleet("fleet-year-1900", "--year 1900", "refuse", ["--vehicle", "ev", "--year", "1900"], needles=("year",)),
        fleet("fleet-year-3000", "--year 3000", "refuse", ["--vehicle", "ev", "--year", "3000"], needles=("year",),
              warn=("extrapolat", "beyond", "horizon")),
        fleet("fleet-year-negative", "--year -1", "refuse", ["--vehicle", "ev", "--year", "-1"], needles=("year",)),
        fleet("fleet-year-float", "--year 2030.5", "refuse", ["--vehicle", "ev", "--year", "2030.5"],
              needles=("year",)),
        fleet("fleet-year-past", "--year 2023 (before the last actual year): refused, or a look-back on 2023",
              "either", ["--vehicle", "ev", "--year", "2023"], needles=("year",), check=output_has("2023")),
        fleet("fleet-vehicle-bad", "--vehicle bus", "refuse", ["--vehicle", "bus", "--year", "2030"],
              needles=("vehicle",)),
        fleet("fleet-level-bad", "--level nation", "refuse", base_fcev + ["--level", "nation"], needles=("level",)),
        fleet("fleet-region-bad", "--region 99", "refuse", base_fcev + ["--target", "850000", "--region", "99"],
              needles=("99", "region")),
        fleet("fleet-region-name", "--region Seoul (a name, not a code)", "refuse",
              base_fcev + ["--target", "850000", "--region", "Seoul"], needles=("seoul", "region")),
        fleet("fleet-region-ok", "--region 11 (Seoul) only", "accept",
              base_fcev + ["--target", "850000", "--region", "11", "--json"],
              check=lambda ctx, o: None if o.output.count('"code"') == 1 and '"11"' in o.output
              else "expected one record for Seoul (11)"),
        fleet("fleet-capacity-zero", "--capacity-kg-per-day 0", "refuse",
              base_fcev + ["--target", "850000", "--capacity-kg-per-day", "0"], needles=("capacity",)),
        fleet("fleet-capacity-negative", "--capacity-kg-per-day -250", "refuse",
              base_fcev + ["--target", "850000", "--capacity-kg-per-day", "-250"], needles=("capacity",)),
        fleet("fleet-capacity-nan", "--capacity-kg-per-day nan", "refuse",
              base_fcev + ["--target", "850000", "--capacity-kg-per-day", "nan"], needles=("capacity",)),
        fleet("fleet-capacity-inf", "--capacity-kg-per-day inf", "refuse",
              base_fcev + ["--target", "850000", "--capacity-kg-per-day", "inf"], needles=("capacity",)),
        fleet("fleet-util-above-1", "--utilisation 1.5", "refuse",
              base_fcev + ["--target", "850000", "--utilisation", "1.5"], needles=("utilisation",)),
        fleet("fleet-util-zero", "--utilisation 0", "refuse",
              base_fcev + ["--target", "850000", "--utilisation", "0"], needles=("utilisation",)),
        fleet("fleet-util-nan", "--utilisation nan", "refuse",
              base_fcev + ["--target", "850000", "--utilisation", "nan"], needles=("utilisation",)),
        fleet("fleet-top-negative", "--top -3", "refuse", base_fcev + ["--target", "850000", "--top", "-3"],
              needles=("top",)),
        fleet("fleet-model-bad", "--model linear", "refuse", base_fcev + ["--model", "linear"], needles=("model",)),
        fleet("fleet-stock-x100", "national stock file x100 in a data copy", "refuse",
              ["--vehicle", "ev", "--year", "2030"], data=("fleet/national_ev_fcev_stock_yearend.csv",),
              setup=_mutate_data("fleet/national_ev_fcev_stock_yearend.csv",
                                 _csv_transform("utf-8", _scale_column(["ev_stock", "fcev_stock"], 100))),
              needles=("national", "stock", "corrupt", "checksum")),
        fleet("fleet-stock-dup", "national stock file with duplicated years", "refuse",
              ["--vehicle", "ev", "--year", "2030"], data=("fleet/national_ev_fcev_stock_yearend.csv",),
              setup=_mutate_data("fleet/national_ev_fcev_stock_yearend.csv", _csv_transform("utf-8", _duplicate_rows)),
              needles=("duplicate", "year", "corrupt", "checksum")),
        fleet("fleet-stock-truncated", "national stock file cut in half", "refuse",
              ["--vehicle", "ev", "--year", "2030"], data=("fleet/national_ev_fcev_stock_yearend.csv",),
              setup=_mutate_data("fleet/national_ev_fcev_stock_yearend.csv", _truncate),
              needles=("national", "truncat", "corrupt", "checksum", "stock")),
        fleet("fleet-stock-negative", "national stock file with a negative stock", "refuse",
              ["--vehicle", "ev", "--year", "2030"], data=("fleet/national_ev_fcev_stock_yearend.csv",),
              setup=_mutate_data("fleet/national_ev_fcev_stock_yearend.csv", lambda b: b.replace(b"2022,389855",
                                                                                               b"2022,-389855")),
              needles=("negative", "corrupt", "checksum", "stock")),
        fleet("fleet-stock-deleted", "national stock file deleted", "refuse", ["--vehicle", "ev", "--year", "2030"],
              data=("fleet/national_ev_fcev_stock_yearend.csv",),
              setup=_delete_data("fleet/national_ev_fcev_stock_yearend.csv"),
              needles=("national_ev_fcev_stock_yearend", "national_fleet_stock", "missing")),
        fleet("fleet-stock-is-dir", "national stock file replaced by a folder", "refuse",
              ["--vehicle", "ev", "--year", "2030"], data=("fleet/national_ev_fcev_stock_yearend.csv",),
              setup=_replace_data_with_dir("fleet/national_ev_fcev_stock_yearend.csv"),
              needles=DIR_WORDS),
        fleet("fleet-stock-binary", "national stock file replaced by binary bytes", "refuse",
              ["--vehicle", "ev", "--year", "2030"], data=("fleet/national_ev_fcev_stock_yearend.csv",),
              setup=_mutate_data("fleet/national_ev_fcev_stock_yearend.csv", _garbage),
              needles=("national_ev_fcev_stock_yearend", "corrupt", "encoding")),
        fleet("fleet-sido-x100", "FCEV stock by province x100 (fcev sido need)", "refuse",
              base_fcev + ["--target", "850000"], data=("fleet/ev_fcev_stock_sido.csv",),
              setup=_mutate_data("fleet/ev_fcev_stock_sido.csv",
                                 _csv_transform("utf-8", _scale_column(["ev_2023_12", "fcev_2023_12", "fcev_2024_08"],
                                                                       100))),
              needles=("ev_fcev_stock_sido", "corrupt", "checksum", "province")),
        fleet("fleet-sigungu-x100", "EV registrations by sigungu x100", "refuse",
              ["--vehicle", "ev", "--year", "2030", "--target", "4200000", "--level", "sigungu"],
              data=("fleet/ev_registrations_sigungu_20250407.csv",),
              setup=_mutate_data("fleet/ev_registrations_sigungu_20250407.csv",
                                 _csv_transform("cp949", _scale_column(["승용", "승합", "화물", "특수", "계"], 100))),
              needles=("registrations", "corrupt", "checksum", "sigungu")),
        fleet("fleet-sigungu-utf8", "EV registrations re-saved as UTF-8 (same numbers)", "either",
              ["--vehicle", "ev", "--year", "2030", "--target", "4200000", "--level", "sigungu", "--json"],
              data=("fleet/ev_registrations_sigungu_20250407.csv",),
              setup=_mutate_data("fleet/ev_registrations_sigungu_20250407.csv",
                                 lambda b: b.decode("cp949").encode("utf-8")),
              check=_fleet_json_total(4200000), needles=("registrations", "encoding", "checksum", "corrupt")),
        fleet("fleet-chargers-truncated", "national charger list cut in half (existing chargers)", "refuse",
              ["--vehicle", "ev", "--year", "2030", "--target", "4200000"],
              data=("stations/ev_chargers_20221027.csv",),
              setup=_mutate_data("stations/ev_chargers_20221027.csv", _truncate),
              needles=("ev_chargers", "charger", "truncat", "corrupt", "checksum")),
        fleet("fleet-h2-swapped", "hydrogen stations with lat/lon swapped (existing stations)", "refuse",
              base_fcev + ["--target", "850000"], data=("stations/hydrogen_stations_2024.csv",),
              setup=_mutate_data("stations/hydrogen_stations_2024.csv",
                                 _csv_transform("utf-8", _swap_columns("위도", "경도"))),
              needles=("hydrogen", "swapped", "outside", "corrupt", "checksum")),
    ]


# --------------------------------------------------------------------------- solve


def _brute(kind: str, cost: list[list[float]], p: int, weights: list[float] | None = None,
           radius: float | None = None) -> float:
    import itertools

    import numpy as np

    c = np.asarray(cost, dtype=float)
    w = np.ones(c.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    best = None
    for combo in itertools.combinations(range(c.shape[1]), p):
        sub = c[:, combo]
        if kind == "pmedian":
            value = float((w * sub.min(axis=1)).sum())
            better = best is None or value < best
        elif kind == "pcenter":
            value = float(sub.min(axis=1).max())
            better = best is None or value < best
        else:  # mclp: covered weight
            value = float(w[(sub <= radius).any(axis=1)].sum())
            better = best is None or value > best
        if better:
            best = value
    return float(best)


def _solve_check(expected: float) -> Callable[[Ctx, Outcome], str | None]:
    def check(ctx: Ctx, o: Outcome) -> str | None:
        try:
            record = json.loads(o.output[o.output.index("{"):].splitlines()[0])
        except ValueError as exc:
            return f"--json output is not JSON ({exc})"
        got = record.get("objective")
        if got is None or abs(got - expected) > 1e-6 * max(1.0, abs(expected)):
            return f"objective {got}, brute force {expected}"
        return None
    return check


COST5 = [[0, 4, 9, 7, 3], [4, 0, 5, 8, 6], [9, 5, 0, 2, 7], [7, 8, 2, 0, 5], [3, 6, 7, 5, 0], [2, 9, 4, 6, 8]]
W6 = [5, 1, 3, 2, 4, 6]


def cases_solve() -> list[Case]:
    A = "solve"
    inf = float("inf")
    nan = float("nan")

    def solve(id: str, what: str, expect: str, extra: list[str], arrays: dict | None = None, **kw: Any) -> Case:
        setup = _npz("c.npz", **(arrays if arrays is not None else {"cost": COST5, "weights": W6}))
        if "setup" in kw:
            setup = _seq(setup, kw.pop("setup"))
        return _cli(id, A, what, expect, ["solve", *extra], setup=setup, **kw)

    pm = ["--model", "pmedian", "--costs", "{in}/c.npz"]
    return [
        solve("solve-pmedian-ok", "p-median 6 x 5 (float costs), p = 2 vs brute force", "accept",
              pm + ["--p", "2", "--json"], arrays={"cost": [[float(v) for v in r] for r in COST5], "weights": W6},
              check=_solve_check(_brute("pmedian", COST5, 2, W6))),
        solve("solve-pcenter-ok", "p-center 6 x 5, p = 2 vs brute force", "accept",
              ["--model", "pcenter", "--costs", "{in}/c.npz", "--p", "2", "--json"],
              check=_solve_check(_brute("pcenter", COST5, 2))),
        solve("solve-mclp-ok", "MCLP radius 3, p = 2 vs brute force", "accept",
              ["--model", "mclp", "--costs", "{in}/c.npz", "--p", "2", "--radius", "3", "--json"],
              check=_solve_check(_brute("mclp", COST5, 2, W6, 3.0))),
        solve("solve-nan-cost", "cost with a NaN", "refuse", pm + ["--p", "2"],
              arrays={"cost": [[0, nan], [1, 2]]}, needles=("nan",)),
        solve("solve-negative-cost", "cost with a negative value", "refuse", pm + ["--p", "1"],
              arrays={"cost": [[0, -1], [1, 2]]}, needles=("negative",)),
        solve("solve-1d-cost", "cost is 1-D", "refuse", pm + ["--p", "1"], arrays={"cost": [1, 2, 3]},
              needles=("2-d", "dimension", "matrix")),
        solve("solve-3d-cost", "cost is 3-D", "refuse", pm + ["--p", "1"], arrays={"cost": [[[1, 2]], [[3, 4]]]},
              needles=("2-d", "dimension", "matrix")),
        solve("solve-empty-cost", "cost is 0 x 0", "refuse", pm + ["--p", "1"],
              arrays={"cost": [[]]},
              needles=("empty", "0 x")),
        solve("solve-text-cost", "cost of strings", "refuse", pm + ["--p", "1"], arrays={"cost": [["a", "b"]]},
              needles=("cost", "number", "numeric")),
        solve("solve-no-cost-key", "npz without a 'cost' array", "refuse", pm + ["--p", "1"],
              arrays={"matrix": [[1, 2]]}, needles=("cost",)),
        solve("solve-not-npz", "--costs is a text file", "refuse", ["--model", "pmedian", "--costs", "{in}/t.npz",
                                                                     "--p", "1"],
              setup=_w("t.npz", "cost\n1,2\n"), needles=("t.npz",)),
        solve("solve-costs-missing", "--costs does not exist", "refuse",
              ["--model", "pmedian", "--costs", "{in}/none.npz", "--p", "1"], needles=("none.npz",)),
        solve("solve-costs-dir", "--costs is a folder", "refuse",
              ["--model", "pmedian", "--costs", "{in}/d.npz", "--p", "1"], setup=_mkdir("d.npz"),
              needles=DIR_WORDS),
        solve("solve-costs-fifo", "--costs is a FIFO", "refuse",
              ["--model", "pmedian", "--costs", "{in}/f.npz", "--p", "1"], setup=_fifo("f.npz"),
              needles=FIFO_WORDS, timeout=60),
        solve("solve-pickle-npz", "npz holding a pickled object array", "refuse", pm + ["--p", "1"],
              arrays={}, setup=lambda ctx: _pickled_npz(ctx.IN / "c.npz"), needles=("c.npz", "pickle", "object")),
        solve("solve-p-too-big", "p = 9 with 5 sites", "refuse", pm + ["--p", "9"], needles=("9", "exceeds", "sites")),
        solve("solve-p-zero", "p = 0", "refuse", pm + ["--p", "0"], needles=("p",)),
        solve("solve-p-negative", "p = -2", "refuse", pm + ["--p", "-2"], needles=("p",)),
        solve("solve-p-float", "p = 2.5", "refuse", pm + ["--p", "2.5"], needles=("--p", "int")),
        solve("solve-p-missing", "p-median without --p", "refuse", pm, needles=("--p",)),
        solve("solve-radius-nan", "MCLP radius nan", "refuse",
              ["--model", "mclp", "--costs", "{in}/c.npz", "--p", "2", "--radius", "nan"], needles=("radius",)),
        solve("solve-radius-negative", "LSCP radius -1", "refuse",
              ["--model", "lscp", "--costs", "{in}/c.npz", "--radius", "-1"], needles=("radius",)),
        solve("solve-radius-inf", "LSCP radius inf (one site covers all)", "either",
              ["--model", "lscp", "--costs", "{in}/c.npz", "--radius", "inf", "--json"],
              check=_solve_check(1.0), needles=("radius",)),
        solve("solve-lscp-infeasible", "LSCP radius 0.5: a demand row with no site within it", "refuse",
              ["--model", "lscp", "--costs", "{in}/c.npz", "--radius", "0.5"],
              needles=("infeasible", "cannot", "no site", "cover")),
        solve("solve-weights-short", "weights shorter than the demand rows", "refuse", pm + ["--p", "2"],
              arrays={"cost": COST5, "weights": [1, 2]}, needles=("weights",)),
        solve("solve-weights-nan", "weights with NaN", "refuse", pm + ["--p", "2"],
              arrays={"cost": COST5, "weights": [1, nan, 1, 1, 1, 1]}, needles=("weights",)),
        solve("solve-weights-negative", "weights with a negative value", "refuse", pm + ["--p", "2"],
              arrays={"cost": COST5, "weights": [1, -1, 1, 1, 1, 1]}, needles=("weights",)),
        solve("solve-pmedian-unreachable", "p-median with a demand row that reaches no site", "refuse",
              pm + ["--p", "1"], arrays={"cost": [[1, 2], [inf, inf]]}, needles=("reach", "unreachable", "inf")),
        solve("solve-pcenter-unreachable", "p-center with a demand row that reaches no site", "refuse",
              ["--model", "pcenter", "--costs", "{in}/c.npz", "--p", "1"], arrays={"cost": [[1, 2], [inf, inf]]},
              needles=("reach", "unreachable", "inf")),
        solve("solve-time-limit-negative", "--time-limit -1", "refuse", pm + ["--p", "2", "--time-limit", "-1"],
              needles=("time",)),
        solve("solve-time-limit-nan", "--time-limit nan", "refuse", pm + ["--p", "2", "--time-limit", "nan"],
              needles=("time",)),
        solve("solve-mip-gap-negative", "--mip-gap -0.1", "refuse", pm + ["--p", "2", "--mip-gap", "-0.1"],
              needles=("gap",)),
        solve("solve-mip-gap-nan", "--mip-gap nan", "refuse", pm + ["--p", "2", "--mip-gap", "nan"],
              needles=("gap",)),
        solve("solve-int-cost", "an integer cost matrix", "accept", pm + ["--p", "2", "--json"],
              check=_solve_check(_brute("pmedian", COST5, 2, W6))),
        solve("solve-frlm-noargs", "FRLM without --expressway", "refuse", ["--model", "frlm", "--p", "5"],
              needles=("expressway",)),
        solve("solve-frlm-range-negative", "FRLM --range-km -300", "refuse",
              ["--model", "frlm", "--expressway", EXPRESSWAY, "--range-km", "-300", "--p", "5"], needles=("range",)),
        solve("solve-frlm-range-nan", "FRLM --range-km nan", "refuse",
              ["--model", "frlm", "--expressway", EXPRESSWAY, "--range-km", "nan", "--p", "5"], needles=("range",)),
        solve("solve-frlm-p-huge", "FRLM --p 100000 (more than the 324 nodes)", "refuse",
              ["--model", "frlm", "--expressway", EXPRESSWAY, "--range-km", "300", "--p", "100000"],
              needles=("100000", "exceeds", "candidate"), timeout=180),
        solve("solve-frlm-od-truncated", "FRLM on an expressway copy whose OD matrix is cut", "refuse",
              ["--model", "frlm", "--expressway", "{data}/expressway_2011", "--range-km", "300", "--p", "5"],
              data=("expressway_2011/demand_matrix.csv",),
              setup=_mutate_data("expressway_2011/demand_matrix.csv", _truncate),
              needles=("demand_matrix", "truncat", "corrupt")),
        solve("solve-frlm-od-negative", "FRLM on an OD matrix with a negative volume", "refuse",
              ["--model", "frlm", "--expressway", "{data}/expressway_2011", "--range-km", "300", "--p", "5"],
              data=("expressway_2011/demand_matrix.csv",),
              setup=_mutate_data("expressway_2011/demand_matrix.csv", lambda b: b.replace(b",", b",-", 5)),
              needles=("demand_matrix", "negative", "corrupt")),
    ]


def _pickled_npz(path: Path) -> None:
    import numpy as np

    with open(path, "wb") as handle:
        np.savez(handle, cost=np.array([{"a": 1}, None], dtype=object))


# --------------------------------------------------------------------------- scenario files


_LOAD = '''
from mobility_plan.scenario import load_scenario
s = load_scenario(IN / "s.toml")
result = {"name": s.name, "description": s.description, "years": list(s.years), "vehicle": s.fleet.vehicle,
          "target": s.fleet.target_vehicles, "target_year": s.fleet.target_year, "prior": s.fleet.prior_share,
          "layers": [{"name": l.name, "range_km": l.range_km, "radius_s": l.radius_s, "lock": l.lock_existing,
                      "region": l.region, "limit": l.time_limit_s, "budgets": dict(l.budgets_by_year)}
                     for l in s.layers]}
'''


def cases_scenario() -> list[Case]:
    A = "scenario"
    k30 = read_scenario("korea_2030")
    seoul = read_scenario("seoul_central_ev")
    cases: list[Case] = []

    def lib(id: str, what: str, expect: str, text: str | bytes, needles: tuple[str, ...] = (), **kw: Any) -> None:
        cases.append(_lib(id, A, what, expect, _LOAD, setup=_w("s.toml", text), needles=needles, **kw))

    def mut(id: str, what: str, base: str, section: str, key: str, value: str | None, needles: tuple[str, ...],
            expect: str = "refuse", nth: int = 1, **kw: Any) -> None:
        lib(id, what, expect, toml_set(base, section, key, value, nth=nth), needles, **kw)

    first_layer = lambda pred: (lambda r: pred(r["layers"][0]))  # noqa: E731
    # [fleet]
    for value, tag in (("nan", "nan"), ("inf", "inf"), ("-inf", "neginf"), ("-1", "negative"), ("0", "zero"),
                       ('"850000"', "string"), ("true", "bool"), ("1.0e12", "1e12")):
        mut(f"scen-target-{tag}", f"fleet.target_vehicles = {value}", k30, "fleet", "target_vehicles", value,
            ("target_vehicles", "national fleet"))
    mut("scen-target-above-korea", f"fleet.target_vehicles = 40,000,000 FCEVs (Korea has ~{KOREA_VEHICLES:,} "
        "vehicles)", k30, "fleet", "target_vehicles", "40000000", ("target_vehicles",),
        warn=("exceeds", "above", "more than"))
    mut("scen-target-fraction", "fleet.target_vehicles = 850000.5", k30, "fleet", "target_vehicles", "850000.5",
        ("target_vehicles", "whole"), expect="either", check=result_is(lambda r: r["target"] >= 850000, "target"))
    mut("scen-target-missing", "fleet.target_vehicles removed", k30, "fleet", "target_vehicles", None,
        ("target_vehicles",))
    for value, tag in (("2030.0", "float"), ('"2030"', "string"), ("1800", "1800"), ("2300", "2300")):
        mut(f"scen-target-year-{tag}", f"fleet.target_year = {value}", k30, "fleet", "target_year", value,
            ("target_year",))
    mut("scen-vehicle-bus", 'fleet.vehicle = "bus"', k30, "fleet", "vehicle", '"bus"', ("vehicle",))
    mut("scen-vehicle-int", "fleet.vehicle = 1", k30, "fleet", "vehicle", "1", ("vehicle",))
    mut("scen-vehicle-upper", 'fleet.vehicle = "FCEV" (upper case)', k30, "fleet", "vehicle", '"FCEV"', ("vehicle",),
        expect="either", check=result_is(lambda r: r["vehicle"] == "fcev", "vehicle stored as fcev"))
    mut("scen-model-bad", 'fleet.model = "linear"', k30, "fleet", "model", '"linear"', ("model",))
    mut("scen-allocation-bad", 'fleet.allocation = "uniform"', k30, "fleet", "allocation", '"uniform"',
        ("allocation",))
    for value, tag in (("nan", "nan"), ("2.0", "2"), ("-0.1", "negative"), ('"0.02"', "string")):
        mut(f"scen-prior-{tag}", f"fleet.prior_share = {value}", k30, "fleet", "prior_share", value, ("prior_share",))
    # [scenario]
    for value, tag, needles in (("[]", "empty", ("years",)), ('[2026, "2028", 2030]', "string", ("years",)),
                                ("[2026, 2028, 2300]", "2300", ("2300", "years")), ("[1850]", "1850", ("1850", "years")),
                                ("[2026.5, 2030]", "float", ("years",)), ('"2030"', "notlist", ("years",))):
        mut(f"scen-years-{tag}", f"scenario.years = {value}", k30, "scenario", "years", value, needles)
    mut("scen-years-unsorted", "scenario.years = [2030, 2026, 2028] (unsorted)", k30, "scenario", "years",
        "[2030, 2026, 2028]", ("years",), expect="either", check=result_is(lambda r: r["years"] == [2026, 2028, 2030],
                                                                            "years sorted"))
    mut("scen-years-dup", "scenario.years = [2026, 2026, 2028, 2030]", k30, "scenario", "years",
        "[2026, 2026, 2028, 2030]", ("years", "duplicate"), expect="either",
        check=result_is(lambda r: r["years"] == [2026, 2028, 2030], "years de-duplicated"))
    mut("scen-level-bad", 'scenario.level = "nation"', k30, "scenario", "level", '"nation"', ("level",))
    mut("scen-level-int", "scenario.level = 11", k30, "scenario", "level", "11", ("level",))
    mut("scen-mode-bad", 'scenario.mode = "forecast"', k30, "scenario", "mode", '"forecast"', ("mode",))
    mut("scen-name-traversal", 'scenario.name = "../../x"', k30, "scenario", "name", '"../../x"', ("name",))
    mut("scen-name-slash", 'scenario.name = "a/b"', k30, "scenario", "name", '"a/b"', ("name",))
    mut("scen-name-int", "scenario.name = 123", k30, "scenario", "name", "123", ("name",), expect="either",
        check=result_is(lambda r: r["name"] == "123", "name"))
    mut("scen-name-empty", 'scenario.name = ""', k30, "scenario", "name", '""', ("name",), expect="either",
        check=result_is(lambda r: bool(r["name"]), "a non-empty name"))
    mut("scen-unknown-key", "scenario.colour = 'red' (unknown key)", k30, "scenario", "colour", '"red"',
        ("colour",))
    # [demand]
    for value, tag in (("nan", "nan"), ("-250", "negative"), ("0", "zero"), ('"250"', "string"), ("inf", "inf")):
        mut(f"scen-capacity-{tag}", f"demand.station_capacity_kg_per_day = {value}", k30, "demand",
            "station_capacity_kg_per_day", value, ("station_capacity",))
    for value, tag in (("1.5", "above1"), ("0", "zero"), ("nan", "nan"), ("true", "bool")):
        mut(f"scen-util-{tag}", f"demand.station_utilisation = {value}", k30, "demand", "station_utilisation", value,
            ("utilisation",))
    mut("scen-demand-unknown", "demand.foo = 1 (unknown key)", k30, "demand", "foo", "1", ("foo",))
    mut("scen-demand-wrong-unit", "demand.station_capacity_kg = 250 (wrong unit)", k30, "demand",
        "station_capacity_kg", "250", ("station_capacity_kg",))
    # [[layer]] expressway_h2 (FRLM)
    for value, tag in (("nan", "nan"), ("inf", "inf"), ("-600", "negative"), ('"600"', "string"), ("0", "zero")):
        mut(f"scen-range-{tag}", f"layer.range_km = {value}", k30, "layer", "range_km", value, ("range_km",))
    for value, tag, needles in (("{ 2026 = -1, 2028 = 10, 2030 = 10 }", "negative", ("budgets_by_year",)),
                                ("{ 2026 = 1.5, 2028 = 10, 2030 = 10 }", "float", ("budgets_by_year",)),
                                ('{ 2026 = "10", 2028 = 10, 2030 = 10 }', "string", ("budgets_by_year",)),
                                ("{ 2099 = 10 }", "year", ("2099",)), ("{ abc = 1 }", "key", ("abc",)),
                                ("10", "notable", ("budgets_by_year",))):
        mut(f"scen-budgets-{tag}", f"layer.budgets_by_year = {value}", k30, "layer", "budgets_by_year", value,
            needles)
    for value, tag in (('"yes"', "yes"), ('"false"', "false-string"), ("1", "int")):
        mut(f"scen-lock-{tag}", f"layer.lock_existing = {value}", k30, "layer", "lock_existing", value,
            ("lock_existing",))
    for value, tag in (("nan", "nan"), ("0", "zero"), ("-1", "negative"), ('"60"', "string")):
        mut(f"scen-limit-{tag}", f"layer.time_limit_s = {value}", k30, "layer", "time_limit_s", value,
            ("time_limit_s",))
    mut("scen-limit-inf", "layer.time_limit_s = inf (no limit)", k30, "layer", "time_limit_s", "inf",
        ("time_limit_s",), expect="either", check=result_is(lambda r: True, "-"))
    mut("scen-kind-bad", 'layer.kind = "ev_ultra"', k30, "layer", "kind", '"ev_ultra"', ("kind",))
    mut("scen-model-layer-bad", 'layer.model = "magic"', k30, "layer", "model", '"magic"', ("model",))
    mut("scen-network-bad", 'layer.network = "osm_busan"', k30, "layer", "network", '"osm_busan"', ("network",))
    mut("scen-candidates-bad", 'layer.candidates = "everywhere"', k30, "layer", "candidates", '"everywhere"',
        ("candidates",))
    mut("scen-layer-wrong-unit", "layer.range_m = 600000 (wrong unit)", k30, "layer", "range_m", "600000",
        ("range_m",))
    mut("scen-layer-typo", "layer.budget_by_year (typo)", k30, "layer", "budget_by_year", "{ 2026 = 1 }",
        ("budget_by_year",))
    mut("scen-layer-name-traversal", 'layer.name = "../../x"', k30, "layer", "name", '"../../x"', ("name",),
        expect="either", check=result_is(lambda r: "/" not in r["layers"][0]["name"], "a layer name with '/'"))
    mut("scen-frlm-on-osm", "FRLM layer on an OSM network", k30, "layer", "network", '"osm_seoul_central"',
        ("frlm", "expressway"))
    # seoul layer (MCLP)
    mut("scen-radius-nan", "layer.radius_s = nan", seoul, "layer", "radius_s", "nan", ("radius_s",))
    mut("scen-radius-negative", "layer.radius_s = -1", seoul, "layer", "radius_s", "-1", ("radius_s",))
    mut("scen-radius-string", 'layer.radius_s = "120"', seoul, "layer", "radius_s", '"120"', ("radius_s",))
    mut("scen-radius-missing", "MCLP layer without radius_s", seoul, "layer", "radius_s", None, ("radius_s",))
    mut("scen-region-int", "layer.region = 11 (an int, not a string)", seoul, "layer", "region", "11", ("region",),
        expect="either", check=result_is(first_layer(lambda layer: layer["region"] == "11"), "region '11'"))
    mut("scen-region-list", 'layer.region = ["11"]', seoul, "layer", "region", '["11"]', ("region",))
    lib("scen-counts-decreasing", "counts_by_year decreasing", "refuse",
        toml_set(toml_set(seoul, "layer", "budgets_by_year", None), "layer", "counts_by_year",
                 "{ 2026 = 30, 2028 = 20, 2030 = 10 }"), ("counts_by_year",))
    lib("scen-counts-and-budgets", "both counts_by_year and budgets_by_year", "refuse",
        toml_set(seoul, "layer", "counts_by_year", "{ 2026 = 10, 2028 = 20, 2030 = 30 }"), ("counts_by_year",))
    lib("scen-duplicate-layer-names", "two layers with the same name", "refuse",
        toml_set(k30, "layer", "name", '"expressway_h2"', nth=2), ("unique", "expressway_h2"))
    # structure and file format
    lib("scen-no-fleet", "no [fleet] section", "refuse", toml_drop_section(k30, "fleet"), ("fleet", "vehicle"))
    lib("scen-no-scenario", "no [scenario] section", "refuse", toml_drop_section(k30, "scenario"),
        ("scenario", "years"))
    lib("scen-no-layers", "no [[layer]] at all", "either", toml_drop_section(k30, "layer"), ("layer",),
        check=result_is(lambda r: r["layers"] == [], "no layers"))
    lib("scen-unknown-table", "an unknown [extra] table", "refuse", k30 + "\n[extra]\nx = 1\n", ("extra",))
    lib("scen-duplicate-key", "target_vehicles given twice", "refuse",
        k30.replace("target_vehicles = 850000", "target_vehicles = 850000\ntarget_vehicles = 1"),
        ("target_vehicles", "toml", "defined", "duplicate"))
    lib("scen-duplicate-table", "[fleet] twice", "refuse", k30 + "\n[fleet]\nvehicle = \"ev\"\n",
        ("fleet", "toml", "defined", "duplicate"))
    lib("scen-malformed", "an unclosed table header", "refuse", k30.replace("[fleet]", "[fleet"), ("toml",))
    lib("scen-unclosed-string", "an unclosed string", "refuse", k30.replace('vehicle = "fcev"', 'vehicle = "fcev'),
        ("toml",))
    lib("scen-layer-single-table", "layer written as [layer] (not [[layer]])", "refuse",
        k30.replace("[[layer]]", "[layer]", 1).replace("[[layer]]", "", 2), ("layer",))
    lib("scen-bom", "scenario saved as UTF-8 with a BOM (Windows Notepad)", "accept", "\ufeff" + k30,
        check=result_is(lambda r: r["name"] == "korea_2030", "name"))
    lib("scen-crlf", "scenario with CRLF line endings", "accept", k30.replace("\n", "\r\n"),
        check=result_is(lambda r: r["name"] == "korea_2030", "name"))
    lib("scen-cp949", "scenario saved in CP949 with a Korean description", "either",
        toml_set(k30, "scenario", "description", '"수소차 85만 대"').encode("cp949"), ("utf-8", "encoding"),
        check=result_is(lambda r: r["description"] == "수소차 85만 대", "description decoded"))
    lib("scen-utf16", "scenario saved in UTF-16", "either", k30.encode("utf-16"), ("utf-8", "utf-16", "encoding"),
        check=result_is(lambda r: r["name"] == "korea_2030", "name"))
    lib("scen-empty", "an empty scenario file", "refuse", "", ("empty", "years", "fleet"))
    lib("scen-comments-only", "a scenario file with only comments", "refuse", "# nothing here\n",
        ("years", "fleet", "empty"))
    lib("scen-binary", "a binary file as scenario", "refuse", bytes(range(256)) * 20, ("toml", "utf-8"))
    lib("scen-nul", "a NUL byte inside the file", "refuse", k30.replace("level", "le\x00vel", 1), ("toml",))
    cases.append(_lib("scen-missing-file", A, "load_scenario of a path that does not exist", "refuse", _LOAD,
                      needles=("s.toml",)))
    cases.append(_lib("scen-dir", A, "load_scenario of a folder", "refuse", _LOAD, setup=_mkdir("s.toml"),
                      needles=DIR_WORDS))
    return cases


def cases_plan_cli() -> list[Case]:
    """Scenario faults through `mobility-plan plan` (the user's door), on the quick backcast scenario."""
    A = "plan_cli"
    bc = read_scenario("korea_2022_backcast")
    seoul = read_scenario("seoul_central_ev")

    def plan(id: str, what: str, expect: str, text: str | bytes | None, needles: tuple[str, ...], *,
             target: str = "{in}/s.toml", extra: tuple[str, ...] = (), **kw: Any) -> Case:
        setup = _w("s.toml", text) if text is not None else None
        if "setup" in kw:
            setup = _seq(setup, kw.pop("setup")) if setup else kw.pop("setup")
        return _cli(id, A, what, expect, ["plan", target, "--out", "{out}", "--quiet", *extra], setup=setup,
                    needles=needles, timeout=kw.pop("timeout", 240), **kw)

    return [
        plan("plan-target-nan", "backcast target_vehicles = nan", "refuse",
             toml_set(bc, "fleet", "target_vehicles", "nan"), ("target_vehicles", "national fleet")),
        plan("plan-target-inf", "backcast target_vehicles = inf", "refuse",
             toml_set(bc, "fleet", "target_vehicles", "inf"), ("target_vehicles", "national fleet")),
        plan("plan-target-negative", "backcast target_vehicles = -430000", "refuse",
             toml_set(bc, "fleet", "target_vehicles", "-430000"), ("target_vehicles", "national fleet")),
        plan("plan-target-string", 'backcast target_vehicles = "430000"', "refuse",
             toml_set(bc, "fleet", "target_vehicles", '"430000"'), ("target_vehicles",)),
        plan("plan-target-1e12", "backcast target_vehicles = 1e12", "refuse",
             toml_set(bc, "fleet", "target_vehicles", "1.0e12"), ("target_vehicles", "national fleet")),
        plan("plan-vehicle-bad", 'vehicle = "bus"', "refuse", toml_set(bc, "fleet", "vehicle", '"bus"'),
             ("vehicle",)),
        plan("plan-years-empty", "years = []", "refuse", toml_set(bc, "scenario", "years", "[]"), ("years",)),
        plan("plan-malformed", "malformed TOML", "refuse", bc.replace("[fleet]", "[fleet"), ("toml", "s.toml")),
        plan("plan-empty", "an empty scenario file", "refuse", "", ("s.toml", "empty", "years")),
        plan("plan-binary", "a binary scenario file", "refuse", bytes(range(256)) * 20, ("s.toml",)),
        plan("plan-missing", "a scenario path that does not exist", "refuse", None, ("none.toml",),
             target="{in}/none.toml"),
        plan("plan-dir", "a folder as scenario", "refuse", None, DIR_WORDS, target="{in}/adir", setup=_mkdir("adir")),
        plan("plan-fifo", "a FIFO as scenario", "refuse", None, FIFO_WORDS, target="{in}/f1.toml",
             setup=_fifo("f1.toml"), timeout=60),
        plan("plan-typo-name", "a shipped name with a typo (korea_2031)", "refuse", None, ("korea_2030",),
             target="korea_2031"),
        plan("plan-etc-passwd", "a scenario path ../../../../etc/passwd", "refuse", None, ("passwd",),
             target="../../../../etc/passwd"),
        plan("plan-region-99", "seoul MCLP layer with region = '99'", "refuse",
             toml_set(seoul, "layer", "region", '"99"'), ("region", "99")),
        plan("plan-region-name", "seoul MCLP layer with region = '서울'", "refuse",
             toml_set(seoul, "layer", "region", '"서울"'), ("region",)),
        plan("plan-time-limit-negative", "--time-limit -5", "refuse", bc, ("time",), extra=("--time-limit", "-5")),
        plan("plan-time-limit-nan", "--time-limit nan", "refuse", bc, ("time",), extra=("--time-limit", "nan")),
        plan("plan-bom", "backcast saved with a UTF-8 BOM: plans normally", "accept", "\ufeff" + bc, (),
             check=plan_output_ok()),
        Case("plan-name-escape", A, "two scenarios, one named '../../escape': nothing written outside --out",
             "either", ["plan", "{in}/a.toml", "{in}/b.toml", "--out", "{out}", "--quiet"],
             setup=_seq(_w("a.toml", bc), _w("b.toml", toml_set(bc, "scenario", "name", '"../../escape"'))),
             needles=("name", "escape"), timeout=300,
             check=lambda ctx, o: "wrote outside --out: " + str(ctx.T / "escape") if (ctx.T / "escape").exists()
             or (ctx.OUTROOT.parent / "escape").exists() else None),
    ]


# --------------------------------------------------------------------------- sweeps


def _sweep_text(grid: str, *, base: str = "korea_2022_backcast", head_extra: str = "") -> str:
    return f'[sweep]\nname = "hc"\nbase = "{base}"\n{head_extra}\n[grid]\n{grid}\n'


def cases_sweep() -> list[Case]:
    A = "sweep"

    def sweep(id: str, what: str, expect: str, text: str | bytes | None, needles: tuple[str, ...], *,
              extra: tuple[str, ...] = ("--workers", "0"), target: str = "{in}/w.toml", **kw: Any) -> Case:
        setup = _w("w.toml", text) if text is not None else None
        if "setup" in kw:
            setup = _seq(setup, kw.pop("setup")) if setup else kw.pop("setup")
        return _cli(id, A, what, expect, ["sweep", target, "--out", "{out}", "--quiet", *extra], setup=setup,
                    needles=needles, timeout=kw.pop("timeout", 180), **kw)

    big = ", ".join(str(400000 + i) for i in range(100))
    return [
        sweep("sweep-ok-one-run", "one-run sweep of the backcast, serial", "accept",
              _sweep_text('"fleet.target_vehicles" = [430000]'), (), timeout=300,
              check=lambda ctx, o: None if (ctx.OUT / "sweep.csv").is_file() and "1 of 1 runs ok" in o.output
              else "no sweep.csv or the run did not succeed"),
        sweep("sweep-missing", "a sweep file that does not exist", "refuse", None, ("nope.toml",),
              target="{in}/nope.toml"),
        sweep("sweep-malformed", "malformed sweep TOML", "refuse", "[sweep\nbase = 1", ("toml", "w.toml")),
        sweep("sweep-empty", "an empty sweep file", "refuse", "", ("grid", "base", "empty")),
        sweep("sweep-grid-empty", "an empty [grid]", "refuse", _sweep_text(""), ("grid",)),
        sweep("sweep-grid-bad-key", "a grid key 'foo.bar'", "refuse", _sweep_text('"foo.bar" = [1, 2]'),
              ("foo.bar",)),
        sweep("sweep-grid-unknown-layer", "a grid key naming an unknown layer", "refuse",
              _sweep_text('"layer.nope.range_km" = [300.0]'), ("nope",)),
        sweep("sweep-grid-unknown-field", "a grid key naming an unknown scenario field", "refuse",
              _sweep_text('"fleet.colour" = ["red"]'), ("colour",)),
        sweep("sweep-grid-not-list", "a grid value that is not a list", "refuse",
              _sweep_text('"fleet.target_vehicles" = 430000'), ("list",)),
        sweep("sweep-grid-huge", "a 100 x 100 x 100 grid (1,000,000 full plans)", "refuse",
              _sweep_text(f'"fleet.target_vehicles" = [{big}]\n"fleet.prior_share" = [{", ".join(["0.02"] * 100)}]\n'
                          f'"demand.station_utilisation" = [{", ".join(["0.7"] * 100)}]'),
              ("runs", "grid", "too many", "1,000,000", "1000000"), timeout=60),
        sweep("sweep-values-all-bad", "every grid value invalid (nan target)", "refuse",
              _sweep_text('"fleet.target_vehicles" = [nan, -1.0]'), ("target_vehicles",)),
        sweep("sweep-values-string", "grid values of the wrong type (strings)", "refuse",
              _sweep_text('"fleet.target_vehicles" = ["many", "lots"]'), ("target_vehicles",)),
        sweep("sweep-base-missing", "a base scenario that does not exist", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]', base="no_such_base"), ("no_such_base",)),
        sweep("sweep-base-traversal", "base = ../../../../etc/passwd", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]', base="../../../../etc/passwd"), ("passwd",)),
        sweep("sweep-unknown-key", "an unknown [sweep] key", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]', head_extra="colour = 'red'"), ("colour",)),
        sweep("sweep-time-limit-negative", "[sweep] time_limit_s = -1", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]', head_extra="time_limit_s = -1"), ("time_limit_s",)),
        sweep("sweep-time-limit-nan", "[sweep] time_limit_s = nan", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]', head_extra="time_limit_s = nan"), ("time_limit_s",)),
        sweep("sweep-layers-unknown", "[sweep] layers names an unknown layer", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]', head_extra='layers = ["nope"]'), ("nope",)),
        sweep("sweep-workers-negative", "--workers -1", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]'), ("workers",), extra=("--workers", "-1")),
        sweep("sweep-workers-text", "--workers two", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]'), ("workers",), extra=("--workers", "two")),
        sweep("sweep-scheduler-dead", "--scheduler at a port where nothing listens", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]'), ("scheduler", "127.0.0.1"),
              extra=("--scheduler", "tcp://127.0.0.1:9"), timeout=150),
        sweep("sweep-scheduler-garbage", "--scheduler not an address", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]'), ("scheduler",),
              extra=("--scheduler", "not an address")),
        sweep("sweep-bom", "sweep file with a UTF-8 BOM", "either",
              "\ufeff" + _sweep_text('"fleet.target_vehicles" = [nan]'), ("target_vehicles", "bom", "byte order"),
              check=lambda ctx, o: None),
        sweep("sweep-out-docs-overwrite", "--out at the user's Documents with --overwrite", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]'), ("documents", "overwrite", "not", "written"),
              extra=("--workers", "0", "--overwrite", "--out", "{docs}"), timeout=300),
        sweep("sweep-out-nonempty", "--out a non-empty user folder without --overwrite", "refuse",
              _sweep_text('"fleet.target_vehicles" = [430000]'), ("overwrite", "not empty"),
              extra=("--workers", "0", "--out", "{docs}")),
    ]


# --------------------------------------------------------------------------- output handling


def cases_outputs() -> list[Case]:
    A = "outputs"
    bc = ["plan", "korea_2022_backcast", "--quiet"]

    def prev(ctx: Ctx) -> None:
        copy_plan_output(ctx, ctx.OUT)

    def prev_with_user_file(ctx: Ctx) -> None:
        copy_plan_output(ctx, ctx.OUT)
        (ctx.OUT / "my_notes.md").write_text("my comments on this plan\n")

    def user_old_backup(ctx: Ctx) -> None:
        copy_plan_output(ctx, ctx.OUT)
        (ctx.OUTROOT / ".run.old").mkdir()
        (ctx.OUTROOT / ".run.old" / "precious.txt").write_text("the user's own backup folder\n")

    def leftovers(ctx: Ctx) -> None:
        copy_plan_output(ctx, ctx.OUT)
        (ctx.OUTROOT / ".run.abc123").mkdir()
        (ctx.OUTROOT / ".run.abc123" / "sites.geojson").write_text('{"type": "FeatureCollection", "feat')
        shutil.copytree(ctx.OUT, ctx.OUTROOT / ".run.old")

    def kept_user_file(ctx: Ctx, o: Outcome) -> str | None:
        if not (ctx.OUT / "my_notes.md").is_file():
            return "the user's my_notes.md inside the output folder was deleted by --overwrite"
        return plan_output_ok()(ctx, o)

    def user_backup_kept(ctx: Ctx, o: Outcome) -> str | None:
        if not (ctx.OUTROOT / ".run.old" / "precious.txt").is_file():
            return "the user's folder .run.old was deleted"
        if sorted(p.name for p in (ctx.OUTROOT / ".run.old").iterdir()) != ["precious.txt"]:
            return "the tool wrote into the user's folder .run.old"
        return plan_output_ok(users=(".run.old",))(ctx, o)

    return [
        _cli("out-overwrite-tool-folder", A, "--overwrite a folder the tool wrote: replaced", "accept",
             bc + ["--out", "{out}", "--overwrite"], setup=prev, needs=("plan_output",), check=plan_output_ok(),
             timeout=240),
        _cli("out-tool-folder-no-overwrite", A, "a folder the tool wrote, no --overwrite: kept", "refuse",
             bc + ["--out", "{out}"], setup=prev, needs=("plan_output",), own=(), needles=("overwrite",)),
        _cli("out-failed-run-keeps-previous", A, "--overwrite, but the run fails: previous output kept", "refuse",
             ["plan", "{in}/s.toml", "--out", "{out}", "--overwrite", "--quiet"], needs=("plan_output",), own=(),
             setup=_seq(prev, _w("s.toml", toml_set(read_scenario("seoul_central_ev"), "layer", "region", '"99"'))),
             needles=("region",), timeout=240),
        _cli("out-overwrite-user-file-inside", A, "--overwrite a tool folder where the user added a file", "either",
             bc + ["--out", "{out}", "--overwrite"], setup=prev_with_user_file, needs=("plan_output",),
             own=("out/run/sites.geojson", "out/run/coverage.geojson", "out/run/regions.geojson",
                  "out/run/flows.geojson", "out/run/summary.json", "out/run/report.md", "out/run/map.png",
                  "out/.run.old"),
             check=kept_user_file, needles=("my_notes.md", "not written by", "overwrite"), timeout=240),
        _cli("out-user-backup-old", A, "--overwrite next to the user's own folder named .run.old", "accept",
             bc + ["--out", "{out}", "--overwrite"], setup=user_old_backup, needs=("plan_output",),
             own=("out/run",), check=user_backup_kept, timeout=240),
        _cli("out-leftover-temp", A, "--overwrite with leftover hidden temp folders of a crashed run", "accept",
             bc + ["--out", "{out}", "--overwrite"], setup=leftovers, needs=("plan_output",), own=("out",),
             check=lambda ctx, o: None if (ctx.OUT / "summary.json").is_file() else "no summary.json", timeout=240),
        _cli("out-data-dir-overwrite", A, "--out the data directory (copy) with --overwrite", "refuse",
             bc + ["--out", "{data}", "--overwrite"], data=("fleet/national_ev_fcev_stock_yearend.csv",), own=(),
             needles=("data", "overwrite", "not written"), timeout=240),
        _cli("out-data-subdir-overwrite", A, "--out the data directory's stations folder (copy), --overwrite",
             "refuse", bc + ["--out", "{data}/stations", "--overwrite"],
             data=("stations/hydrogen_stations_2024.csv", "stations/rest_areas_20210809.csv"), own=(),
             needles=("data", "overwrite", "not written"), timeout=240),
        _cli("out-data-dir-no-overwrite", A, "--out the data directory (copy), no --overwrite", "refuse",
             bc + ["--out", "{data}"], data=("fleet/national_ev_fcev_stock_yearend.csv",), own=(),
             needles=("overwrite", "not empty")),
        _cli("out-docs-overwrite", A, "--out the user's Documents with --overwrite", "refuse",
             bc + ["--out", "{docs}", "--overwrite"], own=(), needles=("documents", "not written", "overwrite"),
             timeout=240),
        _cli("out-docs-no-overwrite", A, "--out the user's Documents, no --overwrite", "refuse",
             bc + ["--out", "{docs}"], own=(), needles=("overwrite", "not empty")),
        _cli("out-cwd-overwrite", A, "--out . (the working directory, with a user file) --overwrite", "refuse",
             bc + ["--out", ".", "--overwrite"], own=(), needles=("overwrite", "not written", "working director", "current folder"), timeout=240),
        _cli("out-home-overwrite", A, "--out ~ (the home folder) --overwrite", "refuse",
             bc + ["--out", "{home}", "--overwrite"], own=(), needles=("overwrite", "not written", "home"),
             timeout=240),
        _cli("out-is-file", A, "--out an existing user file", "refuse", bc + ["--out", "{cwd}/notes.txt"], own=(),
             needles=("notes.txt",)),
        _cli("out-is-file-overwrite", A, "--out an existing user file with --overwrite", "refuse",
             bc + ["--out", "{cwd}/notes.txt", "--overwrite"], own=(), needles=("notes.txt",), timeout=240),
        _cli("out-readonly", A, "--out inside a read-only folder", "refuse", bc + ["--out", "{outroot}/run"],
             setup=lambda ctx: subprocess.run(["chattr", "+i", str(ctx.OUTROOT)], check=True),
             needles=("permission", "cannot write", "read-only", "not permitted"), timeout=240),
        _cli("out-longname", A, "--out with a 300-character folder name", "refuse",
             bc + ["--out", "{outroot}/" + "p" * 300], needles=("too long", "name"), timeout=240),
        _cli("out-under-file", A, "--out below a user file (notes.txt/out)", "refuse",
             bc + ["--out", "{cwd}/notes.txt/out"], own=(), needles=("notes.txt",), timeout=240),
        Case("out-concurrent", A, "two plans at once into the same new folder: one complete output, no mix",
             "either", [bc + ["--out", "{out}"], bc + ["--out", "{out}"]], kind="cli2", timeout=400,
             check=plan_output_ok(), needles=("overwrite", "not empty", "exists", "another", "busy", "lock")),
        _cli("out-costs-into-data", A, "costs --out onto a data file name (node.csv.npz beside node.csv)", "either",
             ["costs", EXPRESSWAY, "--origins", "{in}/o.csv", "--destinations", "{in}/d.csv", "--out",
              "{data}/expressway_2011/od.npz"], data=("expressway_2011/node.csv",),
             setup=_seq(_w("o.csv", NODES_OK), _w("d.csv", NODES_OK2)), own=("data/expressway_2011/od.npz",),
             needles=("data",), check=lambda ctx, o: None),
    ]


# --------------------------------------------------------------------------- library: siting


def cases_siting() -> list[Case]:
    A = "lib_siting"
    cases: list[Case] = []

    def lib(id: str, what: str, expect: str, code: str, needles: tuple[str, ...] = (), **kw: Any) -> None:
        cases.append(_lib(id, A, what, expect, "import numpy as np\nfrom mobility_plan.siting import *\n"
                          f"C = np.array({COST5!r}, dtype=float)\nW = np.array({W6!r}, dtype=float)\n" + code,
                          needles=needles, **kw))

    pm_best = _brute("pmedian", COST5, 2, W6)
    lib("sit-pmedian-ok", "PMedian p = 2 vs brute force", "accept",
        "r = PMedian.from_cost_matrix(C, W, p=2).solve()\nresult = {'objective': r.objective, 'sites': list(r.sites)}",
        check=result_is(lambda r: abs(r["objective"] - pm_best) < 1e-6, f"objective != brute force {pm_best}"))
    lib("sit-pmedian-heuristic-ok", "PMedian heuristic p = 2: objective >= optimum, bound <= optimum", "accept",
        "r = PMedian.from_cost_matrix(C, W, p=2).solve_heuristic()\n"
        "result = {'objective': r.objective, 'bound': r.best_bound}",
        check=result_is(lambda r: r["objective"] >= pm_best - 1e-6 and r["bound"] <= pm_best + 1e-6,
                        "heuristic objective below the optimum or bound above it"))
    lib("sit-pmedian-nan", "PMedian with NaN costs", "refuse", "C[1, 2] = np.nan\nPMedian.from_cost_matrix(C, W, p=2)",
        ("nan",))
    lib("sit-pmedian-1d", "PMedian with a 1-D cost", "refuse", "PMedian.from_cost_matrix(C[0], p=1)",
        ("2-d", "dimension"))
    lib("sit-pmedian-empty", "PMedian with a 0 x 0 cost", "refuse", "PMedian.from_cost_matrix(np.zeros((0, 0)), p=1)",
        ("empty",))
    lib("sit-pmedian-no-sites", "PMedian with 6 x 0 cost", "refuse", "PMedian.from_cost_matrix(np.zeros((6, 0)), p=1)",
        ("empty", "site"))
    lib("sit-pmedian-p-too-big", "PMedian p = 9 > 5 sites", "refuse", "PMedian.from_cost_matrix(C, W, p=9)",
        ("exceeds", "9"))
    lib("sit-pmedian-p-zero", "PMedian p = 0", "refuse", "PMedian.from_cost_matrix(C, W, p=0)", ("p",))
    lib("sit-pmedian-p-float", "PMedian p = 2.5", "refuse", "PMedian.from_cost_matrix(C, W, p=2.5)", ("p",))
    lib("sit-pmedian-p-nan", "PMedian p = nan", "refuse", "PMedian.from_cost_matrix(C, W, p=float('nan'))", ("p",))
    lib("sit-pmedian-p-string", "PMedian p = '2'", "refuse", "PMedian.from_cost_matrix(C, W, p='2')", ("p",))
    lib("sit-pmedian-ragged", "PMedian with a ragged list of lists", "refuse",
        "PMedian.from_cost_matrix([[1, 2], [3]], p=1)", ("cost", "shape", "inhomogeneous", "sequence"))
    lib("sit-pmedian-strings", "PMedian with string costs", "refuse",
        "PMedian.from_cost_matrix([['a', 'b']], p=1)", ("cost", "number", "float"))
    lib("sit-pmedian-weights-short", "PMedian weights of the wrong length", "refuse",
        "PMedian.from_cost_matrix(C, W[:3], p=2)", ("weights",))
    lib("sit-pmedian-weights-nan", "PMedian weights with NaN", "refuse",
        "W[0] = np.nan\nPMedian.from_cost_matrix(C, W, p=2)", ("weights",))
    lib("sit-pmedian-weights-2d", "PMedian weights 2-D", "refuse",
        "PMedian.from_cost_matrix(C, np.ones((6, 2)), p=2)", ("weights",))
    lib("sit-pmedian-all-inf", "PMedian with a demand row that reaches no site", "refuse",
        "C[3, :] = np.inf\nPMedian.from_cost_matrix(C, W, p=2)", ("reach", "unreachable"))
    lib("sit-pmedian-existing-unknown", "PMedian existing = [99] (not a site)", "refuse",
        "PMedian.from_cost_matrix(C, W, p=2, existing=[99])", ("99", "existing"))
    lib("sit-pmedian-existing-too-many", "PMedian 3 existing sites with p = 2", "refuse",
        "PMedian.from_cost_matrix(C, W, p=2, existing=[0, 1, 2])", ("existing",))
    lib("sit-pmedian-dup-ids", "PMedian duplicated site ids", "refuse",
        "PMedian.from_cost_matrix(C, W, p=2, site_ids=['a', 'a', 'b', 'c', 'd'])", ("unique", "site"))
    lib("sit-pmedian-cutoff-nan", "PMedian cutoff = nan", "refuse",
        "PMedian.from_cost_matrix(C, W, p=2, cutoff=float('nan'))", ("cutoff",))
    lib("sit-pmedian-time-limit-negative", "PMedian solve(time_limit_s=-1)", "refuse",
        "PMedian.from_cost_matrix(C, W, p=2).solve(time_limit_s=-1)", ("time_limit",))
    lib("sit-pmedian-time-limit-nan", "PMedian solve(time_limit_s=nan)", "refuse",
        "PMedian.from_cost_matrix(C, W, p=2).solve(time_limit_s=float('nan'))", ("time_limit",))
    lib("sit-pmedian-gap-negative", "PMedian solve(mip_gap=-1)", "refuse",
        "PMedian.from_cost_matrix(C, W, p=2).solve(mip_gap=-1)", ("gap",))
    lib("sit-mclp-ok", "MCLP radius 3, p = 2 vs brute force", "accept",
        "r = MCLP.from_cost_matrix(C, W, radius=3, p=2).solve()\nresult = {'objective': r.objective}",
        check=result_is(lambda r: abs(r["objective"] - _brute("mclp", COST5, 2, W6, 3.0)) < 1e-6, "objective"))
    lib("sit-mclp-radius-nan", "MCLP radius nan", "refuse", "MCLP.from_cost_matrix(C, W, radius=float('nan'), p=2)",
        ("radius",))
    lib("sit-mclp-radius-negative", "MCLP radius -1", "refuse", "MCLP.from_cost_matrix(C, W, radius=-1, p=2)",
        ("radius",))
    lib("sit-mclp-p-too-big", "MCLP p = 9 > 5 sites", "refuse", "MCLP.from_cost_matrix(C, W, radius=3, p=9)",
        ("exceeds", "9"))
    lib("sit-lscp-infeasible", "LSCP radius 0.5: demand row 5 has no site within it", "refuse",
        "LSCP.from_cost_matrix(C, radius=0.5).solve()", ("cover", "infeasible", "no site"))
    lib("sit-pcenter-ok", "PCenter p = 2 vs brute force", "accept",
        "r = PCenter.from_cost_matrix(C, p=2).solve()\nresult = {'objective': r.objective}",
        check=result_is(lambda r: abs(r["objective"] - _brute("pcenter", COST5, 2)) < 1e-6, "objective"))
    lib("sit-pcenter-inf-row", "PCenter with a demand row that reaches no site", "refuse",
        "C[2, :] = np.inf\nPCenter.from_cost_matrix(C, p=2).solve()", ("reach", "unreachable", "inf"))
    lib("sit-capacitated-nan-demand", "CapacitatedSiting with NaN demand", "refuse",
        "D = W.copy(); D[0] = np.nan\nCapacitatedSiting.from_cost_matrix(C, D, capacities=[10.0]).solve()",
        ("demand",))
    lib("sit-capacitated-negative-capacity", "CapacitatedSiting with a negative capacity", "refuse",
        "CapacitatedSiting.from_cost_matrix(C, W, capacities=[-5.0]).solve()", ("capacit",))
    lib("sit-capacitated-zero-capacity", "CapacitatedSiting with capacities [0]", "refuse",
        "CapacitatedSiting.from_cost_matrix(C, W, capacities=[0.0]).solve()", ("capacit",))
    lib("sit-capacitated-empty-levels", "CapacitatedSiting with no capacity level", "refuse",
        "CapacitatedSiting.from_cost_matrix(C, W, capacities=[]).solve()", ("capacit",))
    lib("sit-rollout-negative-budget", "pmedian_rollout with a negative budget", "refuse",
        "base = PMedian.from_cost_matrix(C, W, p=1)\npmedian_rollout(base, budgets=[1, -1], periods=[2026, 2028])",
        ("budget",))
    lib("sit-rollout-periods-mismatch", "mclp_rollout with 3 budgets and 2 periods", "refuse",
        "m = MCLP.from_cost_matrix(C, W, radius=3, p=1)\nmclp_rollout(m, budgets=[1, 1, 1], periods=[2026, 2028])",
        ("period",))
    lib("sit-rollout-weights-shape", "pmedian_rollout weights_by_period of the wrong shape", "refuse",
        "base = PMedian.from_cost_matrix(C, W, p=1)\n"
        "pmedian_rollout(base, budgets=[1, 1], periods=[2026, 2028], weights_by_period=np.ones((3, 4)))",
        ("weights",))
    lib("sit-rollout-over-sites", "mclp_rollout budgets adding up to more than the 5 sites", "refuse",
        "m = MCLP.from_cost_matrix(C, W, radius=3, p=1)\nmclp_rollout(m, budgets=[3, 3, 3], periods=[1, 2, 3])",
        ("exceed", "sites", "budget"))
    return cases


# --------------------------------------------------------------------------- library: networks, costs


_TWO_PARTS = '''
import networkx as nx
def two_parts():
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for n, x, y in [(1, 127.0, 37.5), (2, 127.001, 37.5), (3, 129.0, 35.1), (4, 129.001, 35.1)]:
        G.add_node(n, x=x, y=y)
    for u, v in [(1, 2), (2, 1), (3, 4), (4, 3)]:
        G.add_edge(u, v, key=0, length=90.0, speed_kph=50.0, travel_time=6.48, highway="primary")
    return G
'''


def cases_network_lib() -> list[Case]:
    A = "lib_network"
    cases: list[Case] = []

    def lib(id: str, what: str, expect: str, code: str, needles: tuple[str, ...] = (), **kw: Any) -> None:
        cases.append(_lib(id, A, what, expect, "from mobility_plan import network, costs\n" + _TWO_PARTS + code,
                          needles=needles, **kw))

    lib("netlib-disconnected-costs", "cost_matrix across two disconnected parts gives inf", "accept",
        "import numpy as np\nm = costs.cost_matrix(two_parts(), [1], [2, 3])\nresult = m.tolist()",
        check=result_is(lambda r: r[0][0] > 0 and r[0][1] == float("inf"), "expected [finite, inf]"))
    lib("netlib-largest-component", "largest_component of two equal parts", "accept",
        "H = network.largest_component(two_parts())\nresult = H.number_of_nodes()",
        check=result_is(lambda r: r == 2, "2 nodes"))
    lib("netlib-empty-costs", "cost_matrix on an empty graph", "refuse",
        "import networkx as nx\nG = nx.MultiDiGraph(crs='EPSG:4326')\ncosts.cost_matrix(G, [1], [2])",
        ("empty", "node", "no "))
    lib("netlib-empty-largest", "largest_component of an empty graph", "refuse",
        "import networkx as nx\nnetwork.largest_component(nx.MultiDiGraph(crs='EPSG:4326'))", ("empty", "no node"))
    lib("netlib-unknown-origin", "cost_matrix with an origin not in the graph", "refuse",
        "costs.cost_matrix(two_parts(), [99], [1])", ("99",))
    lib("netlib-negative-edge", "cost_matrix on a graph with a negative travel time", "refuse",
        "G = two_parts()\nG[1][2][0]['travel_time'] = -5.0\ncosts.cost_matrix(G, [1], [2])",
        ("negative", "travel_time"))
    lib("netlib-nan-edge", "cost_matrix on a graph with a NaN travel time", "refuse",
        "G = two_parts()\nG[1][2][0]['travel_time'] = float('nan')\ncosts.cost_matrix(G, [1], [2])",
        ("nan", "travel_time"))
    lib("netlib-missing-attr", "cost_matrix on edges without travel_time", "refuse",
        "G = two_parts()\nfor u, v, k, d in G.edges(keys=True, data=True): d.pop('travel_time')\n"
        "costs.cost_matrix(G, [1], [2])", ("travel_time",))
    lib("netlib-cutoff-negative", "cost_matrix cutoff = -1", "refuse",
        "costs.cost_matrix(two_parts(), [1], [2], cutoff=-1)", ("cutoff",))
    lib("netlib-weight-bad", "cost_matrix weight = 'speed'", "refuse",
        "costs.cost_matrix(two_parts(), [1], [2], weight='speed')", ("weight", "speed"))
    lib("netlib-empty-origins", "cost_matrix with no origins", "either",
        "m = costs.cost_matrix(two_parts(), [], [1])\nresult = list(m.shape)", ("origin", "empty"),
        check=result_is(lambda r: r == [0, 1], "shape (0, 1)"))
    lib("netlib-snap-swapped", "snap_points with lon/lat swapped", "refuse",
        "import pandas as pd\nr = network.snap_points(two_parts(), pd.DataFrame({'lon': [37.5], 'lat': [127.0]}))\n"
        "result = r['snap_distance_m'].tolist()", ("swapped", "outside", "lat", "lon"),
        warn=("swapped", "outside", "km", "snap"))
    lib("netlib-snap-nan", "snap_points with a NaN coordinate", "refuse",
        "import pandas as pd\nnetwork.snap_points(two_parts(), pd.DataFrame({'lon': [float('nan')], 'lat': [37.5]}))",
        ("nan", "missing", "finite", "coordinate"))
    lib("netlib-snap-empty-graph", "snap_points on an empty graph", "refuse",
        "import networkx as nx, pandas as pd\n"
        "network.snap_points(nx.MultiDiGraph(crs='EPSG:4326'), pd.DataFrame({'lon': [127.0], 'lat': [37.5]}))",
        ("empty", "node"))
    lib("netlib-snap-no-crs", "snap_points on a graph without crs", "refuse",
        "import pandas as pd\nG = two_parts(); del G.graph['crs']\n"
        "network.snap_points(G, pd.DataFrame({'lon': [127.0], 'lat': [37.5]}))", ("crs",))
    lib("netlib-expressway-speed-zero", "graph_from_expressway(speed_kph=0)", "refuse",
        "network.graph_from_expressway(speed_kph=0)", ("speed",))
    lib("netlib-expressway-speed-nan", "graph_from_expressway(speed_kph=nan)", "refuse",
        "network.graph_from_expressway(speed_kph=float('nan'))", ("speed",))
    lib("netlib-expressway-speed-inf", "graph_from_expressway(speed_kph=inf)", "refuse",
        "network.graph_from_expressway(speed_kph=float('inf'))", ("speed",))
    lib("netlib-add-travel-times-none", "add_travel_times on a graph without lengths", "refuse",
        "G = two_parts()\nfor u, v, k, d in G.edges(keys=True, data=True): d.pop('length'); d.pop('travel_time')\n"
        "network.add_travel_times(G)", ("length",))
    lib("netlib-load-graph-none", "load_graph(None)", "refuse", "network.load_graph(None)", ("source", "path", "none"))
    lib("netlib-frlm-disconnected", "FRLM on two disconnected parts with an OD across them", "refuse",
        "import pandas as pd\nfrom mobility_plan.siting import FRLM\n"
        "od = pd.DataFrame({'origin': [1], 'destination': [3], 'flow': [100.0]})\n"
        "m = FRLM.from_network(two_parts(), od, range_km=300, p=1)\nr = m.solve()\n"
        "result = {'objective': r.objective, 'details': {k: str(v)[:100] for k, v in r.details.items()}}",
        ("path", "reach", "connected", "no route"), warn=("unreachable", "no path", "cannot be refuelled"))
    lib("netlib-frlm-od-nan", "FRLM with a NaN flow", "refuse",
        "import pandas as pd\nfrom mobility_plan.siting import FRLM\n"
        "od = pd.DataFrame({'origin': [1], 'destination': [2], 'flow': [float('nan')]})\n"
        "FRLM.from_network(two_parts(), od, range_km=300, p=1).solve()", ("flow", "nan"))
    lib("netlib-frlm-empty-od", "FRLM with an empty OD table", "refuse",
        "import pandas as pd\nfrom mobility_plan.siting import FRLM\n"
        "od = pd.DataFrame({'origin': [], 'destination': [], 'flow': []})\n"
        "FRLM.from_network(two_parts(), od, range_km=300, p=1).solve()", ("od", "empty", "flow"))
    return cases


# --------------------------------------------------------------------------- library: export and uploads


_GEO = '''
import json, numpy as np, geopandas as gpd, shapely
from shapely.geometry import Point, Polygon
from mobility_plan import export, uploads
def pts(coords, crs="EPSG:4326", **cols):
    return gpd.GeoDataFrame(cols, geometry=[Point(c) if c is not None else None for c in coords], crs=crs)
def read(*args, **kwargs):  # read_upload returns a GeoDataFrame, or an object holding it as .frame
    layer = uploads.read_upload(*args, **kwargs)
    return getattr(layer, "frame", layer)
'''


def _strict_json(text: str) -> Any:
    def no_constant(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=no_constant)


def cases_export_uploads() -> list[Case]:
    A1, A2 = "lib_export", "lib_uploads"
    cases: list[Case] = []

    def ex(id: str, what: str, expect: str, code: str, needles: tuple[str, ...] = (), **kw: Any) -> None:
        cases.append(_lib(id, A1, what, expect, _GEO + code, needles=needles, **kw))

    def up(id: str, what: str, expect: str, code: str, needles: tuple[str, ...] = (), **kw: Any) -> None:
        cases.append(_lib(id, A2, what, expect, _GEO + code, needles=needles, **kw))

    def valid_geojson(ctx: Ctx, o: Outcome) -> str | None:
        text = (o.result or {}).get("result")
        try:
            doc = _strict_json(text)
        except (ValueError, TypeError) as exc:
            return f"not strict RFC 8259 JSON: {exc}"
        return None if doc.get("type") == "FeatureCollection" else "not a FeatureCollection"

    ex("exp-ok-5179", "export points given in EPSG:5179 -> lon/lat", "accept",
       "f = pts([(953000, 1952000)], crs='EPSG:5179', name=['a'])\nresult = export.geojson_bytes(f).decode()",
       check=lambda ctx, o: valid_geojson(ctx, o) or (None if '"coordinates":[126.' in o.result["result"] or
                                                       '"coordinates":[127.' in o.result["result"]
                                                       else "coordinates not in Korean lon/lat"))
    ex("exp-empty-frame", "export a frame with no rows", "either",
       "f = pts([], name=[])\nresult = export.geojson_bytes(f).decode()", ("empty", "no feature"),
       check=valid_geojson)
    ex("exp-none-geometry", "export a feature without geometry", "refuse",
       "f = pts([None, (127.0, 37.5)], name=['a', 'b'])\nexport.geojson_bytes(f)", ("geometry",))
    ex("exp-empty-geometry", "export an empty Point", "refuse",
       "f = gpd.GeoDataFrame({'n': [1]}, geometry=[Point()], crs='EPSG:4326')\nexport.geojson_bytes(f)",
       ("empty", "geometry"))
    ex("exp-bowtie", "export a self-intersecting polygon", "refuse",
       "f = gpd.GeoDataFrame({'n': [1]}, geometry=[Polygon([(127,37),(128,38),(128,37),(127,38)])], crs='EPSG:4326')\n"
       "export.geojson_bytes(f)", ("invalid",))
    ex("exp-no-crs", "export a frame without CRS", "refuse",
       "f = pts([(127.0, 37.5)], crs=None)\nexport.geojson_bytes(f)", ("crs",))
    ex("exp-nan-property", "export a NaN property: output must stay strict JSON", "accept",
       "f = pts([(127.0, 37.5)], value=[float('nan')])\nresult = export.geojson_bytes(f).decode()", check=valid_geojson)
    ex("exp-inf-property", "export an inf property: output must stay strict JSON", "either",
       "f = pts([(127.0, 37.5)], value=[float('inf')])\nresult = export.geojson_bytes(f).decode()", ("inf", "finite"),
       check=valid_geojson)
    ex("exp-inf-coordinate", "export a point at (inf, 37.5)", "refuse",
       "f = pts([(float('inf'), 37.5)])\nresult = export.geojson_bytes(f).decode()", ("finite", "invalid", "inf"))
    ex("exp-nan-coordinate", "export a point at (nan, nan)", "refuse",
       "f = pts([(float('nan'), float('nan'))])\nresult = export.geojson_bytes(f).decode()",
       ("empty", "invalid", "nan", "geometry"))
    ex("exp-numpy-types", "export numpy int64 / bool / Timestamp properties", "accept",
       "import pandas as pd\nf = pts([(127.0, 37.5)], n=np.array([5], dtype='int64'), b=[np.bool_(True)], "
       "t=[pd.Timestamp('2026-01-01')])\nresult = export.geojson_bytes(f).decode()", check=valid_geojson)
    ex("exp-not-frame", "export a plain DataFrame", "refuse",
       "import pandas as pd\nexport.geojson_bytes(pd.DataFrame({'a': [1]}))", ("geodataframe",))
    ex("exp-no-overwrite", "to_geojson(overwrite=False) on an existing user file: kept", "refuse",
       "p = IN / 'mine.geojson'\np.write_text('my layer')\nf = pts([(127.0, 37.5)])\n"
       "export.to_geojson(f, p, overwrite=False)", ("exists",))
    ex("exp-path-is-dir", "to_geojson onto an existing folder", "refuse",
       "(IN / 'd.geojson').mkdir()\n(IN / 'd.geojson' / 'keep.txt').write_text('keep')\n"
       "export.to_geojson(pts([(127.0, 37.5)]), IN / 'd.geojson')", ("d.geojson", "folder", "directory"))
    ex("exp-readonly", "to_geojson into a read-only folder", "refuse",
       "import subprocess\nsubprocess.run(['chattr', '+i', str(OUT.parent)], check=True)\n"
       "export.to_geojson(pts([(127.0, 37.5)]), OUT.parent / 'x.geojson')",
       ("permission", "cannot write", "read-only", "not permitted"))
    ex("exp-read-missing", "read_geojson of a missing file", "refuse", "export.read_geojson(IN / 'none.geojson')",
       ("none.geojson",))
    ex("exp-read-garbage", "read_geojson of a garbage file", "refuse",
       "(IN / 'g.geojson').write_bytes(bytes(range(256)))\nexport.read_geojson(IN / 'g.geojson')", ("g.geojson",))

    WORDS, W_KEY, KOREAN_KEYS = '"many"', '"w"', '"이름":"서울","w"'
    fc = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"w":%s},'
          '"geometry":{"type":"Point","coordinates":[%s]}}]}')
    up("up-ok", "a valid GeoJSON point layer with weights", "accept",
       f"r = read({(fc % ('5', '127.0, 37.5'))!r}.encode(), 'd.geojson', weight_column='w')\n"
       "result = [len(r), str(r.crs)]", check=result_is(lambda r: r[0] == 1 and "4326" in r[1], "1 feature in 4326"))
    up("up-empty", "an empty upload", "refuse", "uploads.read_upload(b'', 'd.geojson')", ("empty",))
    up("up-shp", "a .shp upload", "refuse", "uploads.read_upload(b'abc', 'd.shp')", ("shp", "unsupported"))
    up("up-garbage", "garbage bytes named .geojson", "refuse",
       "uploads.read_upload(bytes(range(256)) * 10, 'd.geojson')", ("cannot be read", "d.geojson"))
    up("up-garbage-gpkg", "garbage bytes named .gpkg", "refuse",
       "uploads.read_upload(b'SQLite format 3\\x00' + bytes(2000), 'd.gpkg')", ("cannot be read", "d.gpkg"))
    up("up-no-features", "a FeatureCollection with no features", "refuse",
       "uploads.read_upload(b'{\"type\":\"FeatureCollection\",\"features\":[]}', 'd.geojson')", ("no features",))
    up("up-swapped", "points with lon/lat swapped", "refuse",
       f"uploads.read_upload({(fc % ('5', '37.5, 127.0'))!r}.encode(), 'd.geojson')", ("outside", "swapped"))
    up("up-tokyo", "points in Tokyo", "refuse",
       f"uploads.read_upload({(fc % ('5', '139.69, 35.68'))!r}.encode(), 'd.geojson')", ("outside",))
    up("up-metres-as-degrees", "EPSG:5179 metres in a file without CRS member (read as 4326)", "refuse",
       f"uploads.read_upload({(fc % ('5', '953000, 1952000'))!r}.encode(), 'd.geojson')", ("outside", "crs"))
    up("up-weight-negative", "weight column negative", "refuse",
       f"uploads.read_upload({(fc % ('-5', '127.0, 37.5'))!r}.encode(), 'd.geojson', weight_column='w')",
       ("w", ">= 0", "negative"))
    up("up-weight-string", "weight column of words", "refuse",
       f"uploads.read_upload({(fc % (WORDS, '127.0, 37.5'))!r}.encode(), 'd.geojson', weight_column='w')",
       ("w", "number"))
    up("up-weight-null", "weight null", "refuse",
       f"uploads.read_upload({(fc % ('null', '127.0, 37.5'))!r}.encode(), 'd.geojson', weight_column='w')",
       ("w", "finite", "missing", "empty"))
    up("up-weight-missing", "weight column absent", "refuse",
       f"uploads.read_upload({(fc % ('5', '127.0, 37.5'))!r}.encode(), 'd.geojson', weight_column='demand')",
       ("demand",))
    up("up-linestring", "a LineString layer where points/polygons are needed", "refuse",
       "t = '{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":"
       "{\"type\":\"LineString\",\"coordinates\":[[127.0,37.5],[127.1,37.6]]}}]}'\n"
       "uploads.read_upload(t.encode(), 'd.geojson')", ("linestring",))
    up("up-polygons-as-points", "polygons where points are needed", "refuse",
       "t = '{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":"
       "{\"type\":\"Polygon\",\"coordinates\":[[[127.0,37.5],[127.1,37.5],[127.1,37.6],[127.0,37.5]]]}}]}'\n"
       "uploads.read_upload(t.encode(), 'd.geojson', geometry='points')", ("polygon", "point"))
    up("up-bowtie", "a self-intersecting polygon", "refuse",
       "t = '{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":"
       "{\"type\":\"Polygon\",\"coordinates\":[[[127,37],[128,38],[128,37],[127,38],[127,37]]]}}]}'\n"
       "uploads.read_upload(t.encode(), 'd.geojson')", ("invalid",))
    up("up-null-geometry", "a feature with null geometry", "refuse",
       "t = '{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":null}]}'\n"
       "uploads.read_upload(t.encode(), 'd.geojson')", ("geometry",))
    up("up-too-big", "a 25 MB upload", "refuse", "uploads.read_upload(b' ' * 25_000_000, 'd.geojson')", ("mb",))
    up("up-cp949-props", "GeoJSON with CP949-encoded Korean properties", "either",
       f"r = read({(fc % ('5', '127.0, 37.5')).replace(W_KEY, KOREAN_KEYS)!r}"
       ".encode('cp949'), 'd.geojson')\nresult = r.iloc[0].drop('geometry').to_dict()",
       ("encoding", "utf-8", "cannot be read"),
       check=result_is(lambda r: r.get("이름") == "서울", "Korean property decoded"))
    up("up-bare-geometry", "a bare Point geometry (not a FeatureCollection)", "either",
       "r = read(b'{\"type\":\"Point\",\"coordinates\":[127.0,37.5]}', 'd.geojson')\n"
       "result = len(r)", ("featurecollection", "feature"), check=result_is(lambda r: r == 1, "1 feature"))
    up("up-traversal-name", "an upload named ../../etc/passwd.geojson (only a label)", "accept",
       f"r = read({(fc % ('5', '127.0, 37.5'))!r}.encode(), '../../etc/passwd.geojson')\n"
       "result = len(r)", check=result_is(lambda r: r == 1, "1 feature"))
    up("up-geometry-arg-bad", "geometry='lines' (bad argument)", "refuse",
       f"uploads.read_upload({(fc % ('5', '127.0, 37.5'))!r}.encode(), 'd.geojson', geometry='lines')",
       ("geometry", "lines"))
    up("up-inf-coordinate", "a point with a huge coordinate 1e400", "refuse",
       f"uploads.read_upload({(fc % ('5', '1e400, 37.5'))!r}.encode(), 'd.geojson')",
       ("outside", "invalid", "finite", "cannot be read"))
    return cases


# --------------------------------------------------------------------------- library: data loaders, fleet, demand


def cases_data_lib() -> list[Case]:
    A = "lib_data"
    kepco = "stations/kepco_ev_stations_20250630.csv"
    h2 = "stations/hydrogen_stations_2024.csv"
    rest = "stations/rest_areas_20210809.csv"
    monthly = "fleet/ev_stock_sido_monthly.csv"
    tcs = "traffic/tcs_tollgate_od_202210.csv"
    cases: list[Case] = []

    def load(id: str, what: str, loader: str, files: tuple[str, ...], mutate: Callable[[Ctx], None],
             needles: tuple[str, ...], warn: tuple[str, ...] = ("swapped", "outside", "duplicate"),
             expect: str = "refuse", check: Any = None) -> None:
        code = (f"from mobility_plan import data\nframe = data.{loader}()\n"
                "result = {'rows': len(frame), 'bounds': [float(v) for v in frame.total_bounds] "
                "if hasattr(frame, 'total_bounds') else None}")
        cases.append(_lib(id, A, what, expect, code, data=files, setup=mutate, needles=needles, warn=warn,
                          check=check))

    load("data-kepco-swapped", "KEPCO stations with 위도/경도 swapped", "load_kepco_ev_stations", (kepco,),
         _mutate_data(kepco, _csv_transform("cp949", _swap_columns("위도", "경도"))),
         ("swapped", "outside", "latitude", "corrupt", "checksum"))
    load("data-h2-swapped", "hydrogen stations with 위도/경도 swapped", "load_hydrogen_stations", (h2,),
         _mutate_data(h2, _csv_transform("utf-8", _swap_columns("위도", "경도"))),
         ("swapped", "outside", "latitude", "corrupt", "checksum"))
    load("data-h2-dup", "hydrogen stations with every row twice", "load_hydrogen_stations", (h2,),
         _mutate_data(h2, _csv_transform("utf-8", _duplicate_rows)), ("duplicate", "rows", "corrupt", "checksum"))
    load("data-h2-deleted", "hydrogen stations file deleted", "load_hydrogen_stations", (h2,), _delete_data(h2),
         ("hydrogen_stations", "missing", "does not exist"))
    load("data-h2-dir", "hydrogen stations file replaced by a folder", "load_hydrogen_stations", (h2,),
         _replace_data_with_dir(h2), DIR_WORDS)
    load("data-h2-extra-col", "hydrogen stations with an extra column (same values)", "load_hydrogen_stations", (h2,),
         _mutate_data(h2, _csv_transform("utf-8", _extra_column)), ("column", "corrupt", "checksum"), expect="either",
         check=result_is(lambda r: r["rows"] == 221, "221 stations"))
    load("data-h2-cp949", "hydrogen stations re-saved as CP949 (same values)", "load_hydrogen_stations", (h2,),
         _mutate_data(h2, lambda b: b.decode("utf-8-sig").encode("cp949")), ("encoding", "corrupt", "checksum"),
         expect="either", check=result_is(lambda r: r["rows"] == 221, "221 stations"))
    load("data-h2-empty", "hydrogen stations file emptied", "load_hydrogen_stations", (h2,),
         _mutate_data(h2, lambda b: b""), ("empty", "hydrogen"))
    load("data-h2-latin1", "hydrogen stations file mangled (UTF-8 decoded as Latin-1, re-saved)",
         "load_hydrogen_stations", (h2,), _mutate_data(h2, lambda b: b.decode("utf-8").encode("utf-8").decode(
             "latin-1").encode("utf-8")), ("corrupt", "checksum", "encoding", "column"))
    load("data-rest-truncated", "rest areas cut mid-line", "load_rest_areas", (rest,),
         _mutate_data(rest, lambda b: b[: len(b) // 2 + 7]), ("truncat", "corrupt", "checksum", "rest"))
    load("data-rest-binary", "rest areas replaced by binary bytes", "load_rest_areas", (rest,),
         _mutate_data(rest, _garbage), ("rest_areas", "corrupt", "encoding"))
    load("data-kepco-header-only", "KEPCO stations with the header only", "load_kepco_ev_stations", (kepco,),
         _mutate_data(kepco, lambda b: b.split(b"\n", 1)[0] + b"\n"), ("kepco", "empty", "rows", "corrupt",
                                                                        "checksum"))
    load("data-monthly-sum-off", "monthly EV stock where a province no longer adds up to sum17",
         "load_ev_stock_sido_monthly", (monthly,), _mutate_data(monthly, lambda b: b.replace(b"2018-12,9564",
                                                                                           b"2018-12,99564", 1)),
         ("sum17", "corrupt", "checksum", "registered"))
    load("data-tcs-truncated", "toll-gate OD file cut in half", "load_tollgate_od", (tcs,), _mutate_data(tcs, _truncate),
         ("truncat", "corrupt", "checksum", "tollgate", "toll-gate"))
    cases.append(_lib("data-unknown-key", A, "source_path of an unknown dataset", "refuse",
                      "from mobility_plan import data\ndata.source_path('no_such_dataset')", needles=("no_such_dataset",)))
    return cases


def cases_fleet_lib() -> list[Case]:
    A = "lib_fleet"
    cases: list[Case] = []

    def lib(id: str, what: str, expect: str, code: str, needles: tuple[str, ...] = (), **kw: Any) -> None:
        cases.append(_lib(id, A, what, expect, "from mobility_plan import fleet, demand\nimport numpy as np\n" + code,
                          needles=needles, **kw))

    lib("flib-project-model-bad", "project_fleet(model='linear')", "refuse",
        "fleet.project_fleet('ev', 2030, model='linear')", ("linear", "model"))
    lib("flib-project-year-huge", "project_fleet to year 10000", "refuse", "fleet.project_fleet('ev', 10000)",
        ("year",), warn=("extrapolat",))
    lib("flib-project-vehicle-bad", "project_fleet('bus')", "refuse", "fleet.project_fleet('bus', 2030)", ("bus",))
    lib("flib-need-nan", "infrastructure_need with a NaN national fleet", "refuse",
        "demand.infrastructure_need('ev', float('nan'), year=2030)", ("nan", "vehicles", "finite"))
    lib("flib-need-negative", "infrastructure_need with -5 vehicles", "refuse",
        "demand.infrastructure_need('ev', -5, year=2030)", ("vehicles", "negative", ">="))
    lib("flib-params-util-nan", "DemandParameters station_utilisation = nan", "refuse",
        "demand.DemandParameters.defaults('fcev', station_utilisation=float('nan'))", ("utilisation",))
    lib("flib-params-unknown", "DemandParameters unknown override", "refuse",
        "demand.DemandParameters.defaults('fcev', colour=1.0)", ("colour",))
    lib("flib-allocate-negative", "allocate_fleet with -100 vehicles", "refuse",
        "demand.allocate_fleet('ev', -100)", ("vehicles", "negative", ">="))
    lib("flib-largest-remainder-nan", "largest_remainder with NaN weights", "refuse",
        "demand.largest_remainder(10, np.array([1.0, np.nan]))", ("nan", "weights", "finite"))
    lib("flib-largest-remainder-ok", "largest_remainder(10, [1, 1, 1]) adds up to 10", "accept",
        "result = demand.largest_remainder(10, np.array([1.0, 1.0, 1.0])).tolist()",
        check=result_is(lambda r: sum(r) == 10 and max(r) - min(r) <= 1, "sums to 10, fair split"))
    lib("flib-largest-remainder-zero", "largest_remainder with all-zero weights", "refuse",
        "demand.largest_remainder(10, np.zeros(3))", ("weights", "zero"))
    lib("flib-allocate-sum", "allocate_fleet('fcev', 850000, level='sigungu') adds up", "accept",
        "t = demand.allocate_fleet('fcev', 850000, level='sigungu')\n"
        "col = 'vehicles' if 'vehicles' in t.columns else t.select_dtypes('number').columns[-1]\n"
        "result = int(t[col].sum())", check=result_is(lambda r: r == 850000, "regions add up to 850,000"))
    return cases


def cases_maps_lib() -> list[Case]:
    """The map building blocks the app and notebooks use: base geography, legends, tooltips, views."""
    A = "lib_maps"
    cases: list[Case] = []

    def lib(id: str, what: str, expect: str, code: str, needles: tuple[str, ...] = (), **kw: Any) -> None:
        cases.append(_lib(id, A, what, expect, "from mobility_plan import maps\nimport numpy as np\n"
                          "import pandas as pd\n" + code, needles=needles, **kw))

    lib("maps-base-swapped-bounds", "base_geography with latitude and longitude swapped", "refuse",
        "maps.base_geography((37.5, 126.9, 37.6, 127.0))", ("latitude", "swapped"))
    lib("maps-base-reversed-bounds", "base_geography with east < west", "refuse",
        "maps.base_geography((127.1, 37.5, 126.9, 37.6))", ("west < east",))
    lib("maps-base-nan-bounds", "base_geography with a NaN bound", "refuse",
        "maps.base_geography((float('nan'), 37.5, 127.0, 37.6))", ("bounds",))
    lib("maps-base-text-bounds", "base_geography with text bounds", "refuse",
        "maps.base_geography(('a', 'b', 'c', 'd'))", ("bounds",))
    lib("maps-base-short-bounds", "base_geography with three numbers as bounds", "refuse",
        "maps.base_geography((126.9, 37.5, 127.0))", ("bounds",))
    lib("maps-base-level-bad", "base_geography(levels=('county',))", "refuse",
        "maps.base_geography(levels=('county',))", ("county", "levels"))
    lib("maps-base-levels-empty", "base_geography(levels=())", "refuse", "maps.base_geography(levels=())",
        ("levels",))
    lib("maps-base-labels-bad", "labels of a level not drawn", "refuse",
        "maps.base_geography(levels=('sido',), labels='adm3')", ("adm3", "levels"))
    lib("maps-base-outside-korea", "base_geography far from Korea draws nothing", "accept",
        "g = maps.base_geography((2.0, 48.0, 3.0, 49.0))\nresult = [len(g.layers), len(g.areas)]",
        check=result_is(lambda r: r == [0, 0], "no layer and no area"))
    lib("maps-base-national-ok", "national base: 17 provinces, tooltips pass the check", "accept",
        "g = maps.base_geography(labels='sido')\n"
        "result = [len(g.areas), maps.tooltip_problems(g.layers, maps.TOOLTIP_HTML)]",
        check=result_is(lambda r: r == [17, []], "17 provinces, no tooltip problem"))
    lib("maps-bounds-of-nan", "bounds_of only NaN", "refuse", "maps.bounds_of([float('nan')], [float('nan')])",
        ("finite",))
    lib("maps-bounds-of-one-point", "bounds_of a single point gets a non-zero box", "accept",
        "w, s, e, n = maps.bounds_of([127.0], [37.5])\nresult = [w < 127.0 < e, s < 37.5 < n]",
        check=result_is(lambda r: r == [True, True], "the box holds the point"))
    lib("maps-color-bins-text", "color_bins of text values", "refuse", "maps.color_bins(['a', 'b'])",
        ("could not convert", "float", "number"))
    lib("maps-color-bins-all-nan", "color_bins of only NaN gives a 'no data' legend", "accept",
        "colors, legend = maps.color_bins([np.nan, np.nan])\nresult = [len(colors), [e.label for e in legend]]",
        check=result_is(lambda r: r == [2, ["no data"]], "two grey values, one 'no data' row"))
    lib("maps-color-bins-palette", "color_bins with an unknown palette", "refuse",
        "maps.color_bins([1.0, 2.0], palette='Rainbow')", ("Rainbow", "palette"))
    lib("maps-with-tips-mismatch", "with_tips with fewer titles than rows", "refuse",
        "maps.with_tips(pd.DataFrame({'a': [1, 2]}), ['one'], [['x'], ['y']])", ("2 rows", "titles"))
    lib("maps-deck-html-in-tip", "a tooltip field holding HTML", "refuse",
        "df = maps.with_tips(pd.DataFrame({'lon': [127.0], 'lat': [37.5]}), ['<b>x</b>'], [['y']])\n"
        "maps.deck([maps.points_layer(df, color=[1, 2, 3], columns=maps.TOOLTIP_FIELDS)], maps.view_for([127], [37.5]))",
        ("html", "tags"))
    lib("maps-deck-missing-field", "a pickable layer without the tooltip fields", "refuse",
        "df = pd.DataFrame({'lon': [127.0], 'lat': [37.5], 'name': ['x']})\n"
        "maps.deck([maps.points_layer(df, color=[1, 2, 3], columns=['name'])], maps.view_for([127], [37.5]))",
        ("tip_title", "lacks"))
    lib("maps-legend-escapes", "legend labels with markup are escaped", "accept",
        "result = maps.legend_html('<script>t</script>', [maps.LegendEntry([1, 2, 3], '<img src=x>')])",
        check=result_is(lambda r: "<script>" not in r and "<img" not in r and "&lt;img" in r, "escaped"))
    lib("maps-view-for-empty", "view_for with no points frames Korea", "accept",
        "v = maps.view_for([], [])\nresult = [v.longitude, v.latitude]",
        check=result_is(lambda r: 124 < r[0] < 132 and 33 < r[1] < 39, "a view over Korea"))
    lib("maps-scale-bar-zoom-16", "scale bar at street zoom is a short round distance", "accept",
        "from pydeck import ViewState\nresult = maps.scale_bar(ViewState(longitude=127, latitude=37.5, zoom=16))",
        check=result_is(lambda r: r[0] in (50, 100) and 0 < r[1] <= 120, "50 or 100 m within 120 px"))
    lib("maps-points-missing-lon", "points_layer of a frame without lon/lat", "refuse",
        "maps.points_layer(pd.DataFrame({'x': [1.0]}), color=[1, 2, 3])", ("lon",))
    return cases


# =========================================================================== registry and main


def all_cases() -> list[Case]:
    cases = (cases_cli_basics() + cases_data_status() + cases_network() + cases_costs() + cases_fleet()
             + cases_solve() + cases_scenario() + cases_plan_cli() + cases_sweep() + cases_outputs()
             + cases_siting() + cases_network_lib() + cases_export_uploads() + cases_data_lib() + cases_fleet_lib()
             + cases_maps_lib())
    ids = Counter(c.id for c in cases)
    duplicated = [i for i, n in ids.items() if n > 1]
    if duplicated:
        raise SystemExit(f"duplicated case ids: {duplicated}")
    return cases


def _table(rows: list[dict[str, Any]], key: str) -> str:
    groups: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        groups[row[key]][row["class"]] += 1
    shown = [c for c in CLASSES if any(g[c] for g in groups.values())]
    width = max([len(key)] + [len(k) for k in groups]) + 2
    lines = [f"{key:<{width}}" + "".join(f"{c:>14}" for c in shown) + f"{'total':>8}"]
    for name in sorted(groups):
        g = groups[name]
        lines.append(f"{name:<{width}}" + "".join(f"{g[c]:>14}" for c in shown) + f"{sum(g.values()):>8}")
    total = Counter()
    for g in groups.values():
        total.update(g)
    lines.append(f"{'ALL':<{width}}" + "".join(f"{total[c]:>14}" for c in shown) + f"{sum(total.values()):>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=None, help="only these areas (or case ids / id prefixes)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--json", default=None, help="write every case's record to this JSON file")
    parser.add_argument("--workers", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders of non-clear/non-honest cases")
    parser.add_argument("--strict", action="store_true", help="exit 1 when data loss or silent wrong > 0")
    parser.add_argument("--no-fork", action="store_true",
                        help="run each library case as a fresh Python process (slower; default: forked from a "
                             "server that imported the project once)")
    args = parser.parse_args(argv)
    global USE_FORK
    USE_FORK = not args.no_fork

    cases = all_cases()
    if args.only:
        cases = [c for c in cases if c.area in args.only or any(c.id == o or c.id.startswith(o) for o in args.only)]
    if args.list:
        by_area: dict[str, list[Case]] = defaultdict(list)
        for case in cases:
            by_area[case.area].append(case)
        for area, items in by_area.items():
            print(f"{area} ({len(items)})")
            for case in items:
                print(f"  {case.id:<38} {case.expect:<7} {case.what}")
        print(f"{len(cases)} cases")
        return 0
    if not cases:
        print("no case selected", file=sys.stderr)
        return 0

    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"measuring {SRC} (data {SHARED}); {len(cases)} cases, {args.workers} workers", file=sys.stderr, flush=True)
    start = time.perf_counter()
    shared_before = full_hash(SHARED)
    fixtures = build_fixtures(cases)
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    # slow cases first, so that the pool ends with short ones
    order = sorted(cases, key=lambda c: -(c.timeout + (200 if c.needs else 0)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = {pool.submit(run_case, case, fixtures, args.keep): case for case in order}
        for future in concurrent.futures.as_completed(futures):
            row = future.result()
            with lock:
                rows.append(row)
                print(f"[{len(rows):>3}/{len(cases)}] {row['class']:<13} {row['seconds']:>6.1f} s  {row['id']}",
                      file=sys.stderr, flush=True)
    shared_after = full_hash(SHARED)
    for folder in fixtures.values():
        shutil.rmtree(folder.parent, ignore_errors=True)
    elapsed = time.perf_counter() - start
    order_ids = {c.id: i for i, c in enumerate(all_cases())}
    rows.sort(key=lambda r: order_ids.get(r["id"], 0))

    print(f"\nhostile campaign on {SRC}: {len(rows)} cases in {elapsed / 60:.1f} min ({args.workers} workers)\n")
    print("per area and class")
    print(_table(rows, "area"))
    counts = Counter(r["class"] for r in rows)
    tracebacks = counts["traceback"] + counts["hang"]
    print(f"\ntracebacks + hangs: {tracebacks} of {len(rows)} = {100 * tracebacks / len(rows):.1f} % (goal <= 2 %); "
          f"silent wrong {counts['silent_wrong']} (goal 0); data loss {counts['data_loss']} (goal 0)")
    if shared_before != shared_after:
        print(f"\n!!! THE REAL DATA DIRECTORY {SHARED} CHANGED DURING THE CAMPAIGN !!!")
    bad = [r for r in rows if r["class"] not in ("clear", "honest")]
    if bad:
        print("\ncases neither clear nor honest (worst first)")
        rank = {c: i for i, c in enumerate(("data_loss", "silent_wrong", "traceback", "hang", "wrong_refusal",
                                            "vague", "skipped"))}
        for r in sorted(bad, key=lambda r: (rank.get(r["class"], 9), r["area"], r["id"])):
            print(f"\n--- {r['class'].upper()}  {r['id']}  [{r['area']}] expect {r['expect']}: {r['what']}")
            print(f"    why: {r['reason']}")
            if r.get("command"):
                print(f"    run: {r['command']}")
            if r.get("code"):
                print("    code: " + r["code"].replace("\n", "\n          "))
            tail = "\n".join(r.get("output_tail", "").strip().splitlines()[-8:])
            if tail:
                print("    output: " + tail.replace("\n", "\n            "))
    if args.json:
        payload = {"checkout": str(SRC), "data": str(SHARED), "seconds": round(elapsed, 1), "counts": dict(counts),
                   "shared_data_unchanged": shared_before == shared_after, "cases": rows}
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        print(f"\nwrote {args.json}")
    if args.strict and (counts["data_loss"] or counts["silent_wrong"] or shared_before != shared_after):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
