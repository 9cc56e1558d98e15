"""Scenario sweeps: a grid of variations of one scenario, run in parallel on Dask distributed.

A sweep file (TOML) names a base scenario and a grid of values for dotted keys of that
scenario::

    [sweep]
    name = "h2_range_stations"
    base = "korea_2030"                 # a shipped scenario name, or a path relative to this file
    layers = ["expressway_h2"]          # optional: keep only these layers
    time_limit_s = 20                   # optional: solver limit for every run

    [grid]
    "layer.expressway_h2.range_km" = [300.0, 600.0]
    "layer.expressway_h2.budgets_by_year" = [{2030 = 10}, {2030 = 20}]
    "fleet.target_vehicles" = [600000, 850000]

Every combination of the grid values is one run (here 2 x 2 x 2 = 8). A grid of more than
:data:`MAX_SWEEP_RUNS` runs is refused before anything is built, unless a larger
``max_runs`` (``--max-runs`` on the command line) is given on purpose. Types are strict: the
sweep name is a plain identifier, and NaN or infinity in any grid value is refused. Each run is a full
:func:`mobility_plan.plan.run_plan`; its key figures go into one table (``sweep.csv``,
``sweep.json``) and its GeoJSON layouts into ``runs/<run_id>/``. Runs go to a Dask
``LocalCluster`` (worker processes on this machine) by default, or to an existing cluster
given by its scheduler address; ``workers=0`` runs them one after another in this process
(the serial baseline of the benchmark). A run that fails is recorded with its error and does
not stop the others.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import math
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import ValidationError
from ._io import OutputFolder, child_path, output_folder, read_toml, write_bytes_atomic
from .data import PROJECT_DATA
from .plan import resolve_scenario, run_plan
from .data import file_problem
from .scenario import name_problem, scenario_from_dict

__all__ = ["Sweep", "SweepRun", "SweepResult", "load_sweep", "sweep_from_dict", "run_sweep", "flatten_summary",
           "SWEEP_DIR", "MAX_SWEEP_RUNS", "grid_size", "check_scheduler_address"]

#: Folder of the sweeps shipped with the project.
SWEEP_DIR = PROJECT_DATA / "sweeps"

_SWEEP_KEYS = {"name", "description", "base", "layers", "time_limit_s"}
#: Largest grid run without asking: 1,000 runs of about 10 s each already take hours on
#: two cores; a larger grid is almost always a mistake (3 keys x 100 values = 1,000,000
#: runs). Pass ``max_runs`` (``--max-runs``) to run a larger grid on purpose.
MAX_SWEEP_RUNS = 1000
_RUN_FILES = ("sites.geojson", "coverage.geojson", "regions.geojson", "flows.geojson", "summary.json", "report.md")


@dataclass(frozen=True)
class SweepRun:
    """One point of the grid: its id, the values it sets, and its scenario content."""

    run_id: str
    values: dict[str, Any]
    content: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: base scenario content and the runs of its grid."""

    name: str
    description: str
    base: Path
    grid: dict[str, list[Any]]
    runs: tuple[SweepRun, ...]
    time_limit_s: float | None = None


@dataclass(frozen=True)
class SweepResult:
    """What a sweep produced: the table (one row per run) and where it was written."""

    table: pd.DataFrame
    out: Path | None
    seconds: float
    workers: int

    @property
    def failed(self) -> pd.DataFrame:
        """The rows of runs that failed, with their errors."""
        return self.table[self.table["status"] != "ok"]


def _set_path(content: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key (``fleet.target_vehicles``, ``layer.<name>.range_km``) in scenario content."""
    parts = key.split(".")
    if parts[0] == "layer":
        if len(parts) != 3:
            raise ValidationError(f"[grid] key {key!r}: layer keys are written 'layer.<layer name>.<key>'")
        layers = {table.get("name"): table for table in content.get("layer", [])}
        if parts[1] not in layers:
            raise ValidationError(f"[grid] key {key!r}: the base scenario has no layer {parts[1]!r}; "
                                  f"its layers are {sorted(layers)}")
        layers[parts[1]][parts[2]] = copy.deepcopy(value)
        return
    if parts[0] not in ("scenario", "fleet", "demand") or len(parts) != 2:
        raise ValidationError(f"[grid] key {key!r}: use 'scenario.<key>', 'fleet.<key>', 'demand.<key>' or "
                              "'layer.<layer name>.<key>'")
    content.setdefault(parts[0], {})[parts[1]] = copy.deepcopy(value)


def _base_value(content: dict[str, Any], key: str) -> Any:
    """The value the base scenario gives a dotted grid key, or ``None`` when it gives none."""
    parts = key.split(".")
    if parts[0] == "layer" and len(parts) == 3:
        layers = {table.get("name"): table for table in content.get("layer", []) if isinstance(table, dict)}
        return layers.get(parts[1], {}).get(parts[2])
    table = content.get(parts[0], {})
    return table.get(parts[1]) if len(parts) == 2 and isinstance(table, dict) else None


def _toml_type(value: Any) -> str:
    """TOML type of a value, with integers and floats both a number: ``boolean``, ``number``, ``string``, ..."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "table"}.get(type(value), type(value).__name__)


def _label(value: Any) -> str:
    if isinstance(value, dict):
        return "-".join(f"{k}_{v}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", str(value)).strip("_")


def grid_size(grid: dict[str, list[Any]]) -> int:
    """Number of runs of a grid: the product of its value counts, computed without building any run."""
    return math.prod(len(values) for values in grid.values()) if grid else 0


def _non_finite(value: Any) -> bool:
    """Whether a grid value holds NaN or infinity anywhere (in a list or table too)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def _run_name(sweep_name: str, run_id: str) -> str:
    """Scenario name of one run: the sweep name and run id, made a valid name of at most 64 characters."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{sweep_name}_{run_id}")
    name = re.sub(r"\.{2,}", ".", name).lstrip("._-")[:64].rstrip("._-")
    return name or "sweep_run"


def sweep_from_dict(content: dict[str, Any], *, source: str = "<dict>", base_dir: Path | None = None,
                    max_runs: int = MAX_SWEEP_RUNS) -> Sweep:
    """Validate a parsed sweep file and expand its grid into runs.

    Parameters
    ----------
    content
        The parsed sweep file.
    source
        Where it came from, for messages.
    base_dir
        Folder against which a relative ``base`` scenario path is resolved.
    max_runs
        Largest number of runs accepted (default :data:`MAX_SWEEP_RUNS`); the grid size is
        computed before any run is built.

    Raises
    ------
    ValidationError
        On unknown keys, wrong types (a name that is not an identifier, NaN or infinity
        in a grid value), a missing or invalid base scenario, an empty grid, a grid of more
        than ``max_runs`` runs, or a grid key that does not name a part of the scenario.
        Other values are checked per run by the scenario rules when the sweep runs; an
        invalid value fails only its own runs.
    """
    problems: list[str] = []
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
        raise ValidationError(f"max_runs must be a whole number >= 1, got {max_runs!r}")
    for key in sorted(set(content) - {"sweep", "grid"}):
        problems.append(f"top level: unknown table {key!r}; a sweep file has [sweep] and [grid]")
    head = content.get("sweep", {})
    if not isinstance(head, dict):
        problems.append(f"[sweep] must be a table, got {head!r}")
        head = {}
    for key in sorted(set(head) - _SWEEP_KEYS):
        problems.append(f"[sweep]: unknown key {key!r}; known keys: {sorted(_SWEEP_KEYS)}")
    if "name" in head:
        problem = name_problem(head["name"], what="[sweep]: 'name'")
        if problem:
            problems.append(problem)
    for key in ("description", "base"):
        if key in head and not isinstance(head[key], str):
            problems.append(f"[sweep]: {key!r} must be a string (in quotes), got {head[key]!r}")
    keep = head.get("layers")
    if keep is not None and (not isinstance(keep, list) or not all(isinstance(name, str) for name in keep)):
        problems.append(f"[sweep]: 'layers' must be a list of layer names (strings), got {keep!r}")
    grid = content.get("grid", {})
    if not isinstance(grid, dict) or not grid:
        problems.append("[grid] is missing or empty; give at least one key = [values]")
        grid = {}
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            problems.append(f"[grid] {key!r} must be a non-empty list of values, got {values!r}")
        elif _non_finite(values):
            problems.append(f"[grid] {key!r} has NaN or infinity among its values {values!r}; give finite numbers")
    limit = head.get("time_limit_s")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)
                              or not math.isfinite(limit) or limit <= 0):
        problems.append(f"[sweep]: 'time_limit_s' must be a finite number > 0 (seconds), got {limit!r}")
    if "base" not in head:
        problems.append("[sweep]: missing 'base' (a shipped scenario name such as 'korea_2030' or a scenario file)")
    if problems:
        raise ValidationError(f"{source}: " + "; ".join(problems))
    runs_count = grid_size(grid)
    if runs_count > max_runs:
        sizes = " x ".join(str(len(values)) for values in grid.values())
        raise ValidationError(
            f"{source}: the grid has {sizes} = {runs_count:,} runs, more than the limit of {max_runs:,} "
            f"(MAX_SWEEP_RUNS = {MAX_SWEEP_RUNS:,}); nothing was run. Use fewer values, or pass "
            f"--max-runs {runs_count} (max_runs={runs_count}) to run this grid on purpose."
        )

    base_name = str(head["base"])
    candidate = (base_dir / base_name) if base_dir is not None else Path(base_name)
    base = resolve_scenario(candidate if candidate.is_file() else base_name)
    base_content = read_toml(base)
    scenario_from_dict(base_content, source=str(base))  # the base itself must be valid
    if keep is not None:
        names = [table.get("name") for table in base_content.get("layer", [])]
        unknown = [name for name in keep if name not in names]
        if unknown:
            raise ValidationError(f"{source}: [sweep] layers names {unknown}, not in the base scenario {names}")
        base_content["layer"] = [table for table in base_content["layer"] if table.get("name") in keep]
    mismatched = []
    for key, values in grid.items():
        expected = _base_value(base_content, key)
        if expected is None:
            continue  # the key is new to the base scenario: its values are checked per run
        wrong = [value for value in values if _toml_type(value) != _toml_type(expected)]
        if wrong:
            mismatched.append(f"[grid] {key!r} has {wrong[:3]!r}, but the base scenario gives a "
                              f"{_toml_type(expected)} ({expected!r}); every value must be a {_toml_type(expected)}")
    if mismatched:
        raise ValidationError(f"{source}: " + "; ".join(mismatched))
    sweep_name = str(head.get("name", Path(source).stem))
    keys = list(grid)
    runs = []
    for number, combination in enumerate(itertools.product(*(grid[k] for k in keys)), start=1):
        run_content = copy.deepcopy(base_content)
        values = dict(zip(keys, combination, strict=True))
        for key, value in values.items():
            _set_path(run_content, key, value)
        label = "_".join(_label(v) for v in combination)
        run_id = f"{number:03d}_{label}"[:80]
        run_content.setdefault("scenario", {})["name"] = _run_name(sweep_name, run_id)
        runs.append(SweepRun(run_id, values, run_content))
    return Sweep(sweep_name, str(head.get("description", "")), base, {k: list(grid[k]) for k in keys},
                 tuple(runs), None if limit is None else float(limit))


def load_sweep(path: str | Path, *, max_runs: int = MAX_SWEEP_RUNS) -> Sweep:
    """Read and validate a sweep TOML file (a path, or the name of a shipped sweep).

    ``max_runs`` is the largest grid accepted (see :func:`sweep_from_dict`).
    """
    path = Path(path)
    problem = file_problem(path)
    if problem is not None and problem != "does not exist":
        raise ValidationError(f"sweep file {path} {problem}; give the path of a sweep TOML file")
    if problem is not None:
        shipped = SWEEP_DIR / f"{path.name.removesuffix('.toml')}.toml"
        if not shipped.is_file():
            names = sorted(p.stem for p in SWEEP_DIR.glob("*.toml"))
            raise ValidationError(f"sweep file {path} does not exist; shipped sweeps: {names}")
        path = shipped
    content = read_toml(path)
    return sweep_from_dict(content, source=str(path), base_dir=path.parent, max_runs=max_runs)


def flatten_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """One flat row of a plan summary: fleet and need in the last year, and every layer KPI.

    Year-keyed KPIs become one column per year (``expressway_h2.flow_refuelled_pct_by_year.2030``).
    """
    row: dict[str, Any] = {}
    fleet = summary["national_fleet_vehicles"]
    last = max(fleet)
    row["fleet_vehicles_final"] = fleet[last]
    need = summary["regional_need_by_year"].get(last, {})
    for key in ("need", "existing", "deficit", "energy_per_day"):
        if key in need:
            row[f"{key}_final"] = need[key]

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        elif isinstance(value, list):
            row[prefix] = json.dumps(value)
        else:
            row[prefix] = value

    for name, kpis in summary["layers"].items():
        walk(name, kpis)
    return row


def _execute(run: SweepRun, time_limit_s: float | None) -> dict[str, Any]:
    """Run one grid point (on a worker): returns its status, KPIs and output files, never raises."""
    start = time.perf_counter()
    record: dict[str, Any] = {"run_id": run.run_id, "status": "ok", "error": "", "files": {}}
    try:
        scenario = scenario_from_dict(run.content, source=f"sweep run {run.run_id}")
        with tempfile.TemporaryDirectory(prefix="mobility-plan-sweep-") as folder:
            out = Path(folder) / "run"
            result = run_plan(scenario, out, progress=False, time_limit_s=time_limit_s)
            record["files"] = {name: (out / name).read_bytes() for name in _RUN_FILES}
        record["kpis"] = flatten_summary(result.summary)
    except Exception as exc:  # noqa: BLE001 - a failing run is reported, the sweep goes on
        record["status"] = "failed"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=6)
        record["kpis"] = {}
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record


def _serial(runs: tuple[SweepRun, ...], time_limit_s: float | None) -> Iterator[dict[str, Any]]:
    for run in runs:
        yield _execute(run, time_limit_s)


def _distributed(runs: tuple[SweepRun, ...], time_limit_s: float | None, *, scheduler: str | None,
                 workers: int, connect_timeout_s: float = 20.0) -> Iterator[dict[str, Any]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ValidationError("Dask distributed is not installed; pip install 'dask[distributed]' or run with "
                              "workers=0 (serial)") from exc
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{connect_timeout_s}s")
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address "
                                  "(tcp://HOST:8786) or leave --scheduler out to start a local cluster") from exc
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        futures = {client.submit(_execute, run, time_limit_s, key=f"sweep-{run.run_id}", pure=False): run
                   for run in runs}
        for future in as_completed(futures):
            run = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. a worker killed for memory
                yield {"run_id": run.run_id, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                       "files": {}, "kpis": {}, "seconds": float("nan")}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def check_scheduler_address(scheduler: object, *, what: str = "scheduler") -> str:
    """Return a Dask scheduler address (``tcp://HOST:PORT``) after checking its form, before any run.

    Raises
    ------
    ValidationError
        Naming the address and the form expected, when it has no port, no host, or is not text.
    """
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    fix = "give the address the scheduler printed, such as tcp://10.0.0.5:8786, or leave --scheduler out to start a " \
          "local cluster"
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValidationError(f"{what} {scheduler!r} is not a Dask scheduler address; {fix}")
    try:
        scheme, location = parse_address(scheduler.strip())
        host = parse_host_port(location)[0] if scheme in ("tcp", "tls", "ws", "wss") else location
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"{what} {scheduler!r} is not a Dask scheduler address ({exc}); {fix}") from None
    if not host or any(c.isspace() for c in host):
        raise ValidationError(f"{what} {scheduler!r} is not a Dask scheduler address (host {host!r}); {fix}")
    return scheduler.strip()


def run_sweep(sweep: Sweep | str | Path, out: str | Path | None = None, *, workers: int = 2,
              scheduler: str | None = None, overwrite: bool = False, progress: bool = True,
              on_result: Callable[[dict[str, Any]], None] | None = None,
              connect_timeout_s: float = 20.0) -> SweepResult:
    """Run every point of a sweep's grid and gather the results.

    Parameters
    ----------
    sweep
        A :class:`Sweep`, a sweep file, or the name of a shipped sweep.
    out
        Output folder for ``sweep.csv``, ``sweep.json`` and ``runs/<run_id>/`` GeoJSON layouts;
        ``None`` keeps only the table in memory. Written to a staging folder and renamed at
        the end; an existing non-empty folder is replaced only with ``overwrite``.
    workers
        Worker processes of the local Dask cluster; ``0`` runs serially in this process.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``); overrides ``workers``.
    overwrite
        Replace an existing output folder.
    progress
        Show a progress bar of completed runs.
    on_result
        Called with each run's record as it completes (for a UI).
    connect_timeout_s
        How long to try reaching ``scheduler`` before giving up (seconds).

    Returns
    -------
    SweepResult
        One row per run (sorted by run id): status, error, seconds, the grid values and the KPIs.
    """
    start = time.perf_counter()
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    if workers < 0:
        raise ValidationError(f"workers = {workers}; give 0 (serial) or more worker processes")
    if scheduler is not None:
        scheduler = check_scheduler_address(scheduler)
    if out is None:
        return _run_and_gather(sweep, None, workers=workers, scheduler=scheduler, progress=progress,
                               on_result=on_result, connect_timeout_s=connect_timeout_s, start=start)
    with output_folder(out, overwrite=overwrite, kind="sweep") as folder:  # checked and locked before any run
        return _run_and_gather(sweep, folder, workers=workers, scheduler=scheduler, progress=progress,
                               on_result=on_result, connect_timeout_s=connect_timeout_s, start=start)


def _run_and_gather(sweep: Sweep, folder: OutputFolder | None, *, workers: int, scheduler: str | None,
                    progress: bool, on_result: Callable[[dict[str, Any]], None] | None, connect_timeout_s: float,
                    start: float) -> SweepResult:
    """The body of :func:`run_sweep`, writing into an output folder this process has claimed (or none)."""
    from tqdm import tqdm

    if scheduler or workers > 0:
        records = _distributed(sweep.runs, sweep.time_limit_s, scheduler=scheduler, workers=max(workers, 1),
                               connect_timeout_s=connect_timeout_s)
    else:
        records = _serial(sweep.runs, sweep.time_limit_s)
    collected = []
    bar = tqdm(total=len(sweep.runs), desc=f"sweep {sweep.name}", unit="run", disable=not progress)
    try:
        for record in records:
            collected.append(record)
            bar.update(1)
            if record["status"] != "ok":
                bar.write(f"run {record['run_id']} failed: {record['error']}")
            if on_result is not None:
                on_result(record)
    finally:
        bar.close()
    values = {run.run_id: run.values for run in sweep.runs}
    rows = []
    for record in sorted(collected, key=lambda r: r["run_id"]):
        row = {"run_id": record["run_id"], "status": record["status"], "error": record["error"],
               "seconds": record["seconds"]}
        row.update({key: (json.dumps(v) if isinstance(v, dict) else v) for key, v in values[record["run_id"]].items()})
        row.update(record["kpis"])
        rows.append(row)
    table = pd.DataFrame(rows)
    if folder is not None:
        with folder.stage() as staging:
            table.to_csv(staging / "sweep.csv", index=False)
            payload = {"sweep": sweep.name, "description": sweep.description, "base": sweep.base.name,
                       "grid": sweep.grid, "runs": json.loads(table.to_json(orient="records"))}
            write_bytes_atomic(staging / "sweep.json",
                               (json.dumps(payload, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
            for record in collected:
                for name, content in record["files"].items():
                    run_folder = child_path(staging / "runs", record["run_id"], what="sweep run id")
                    write_bytes_atomic(child_path(run_folder, name, what="run output"), content)
    return SweepResult(table, None if folder is None else folder.path, time.perf_counter() - start,
                       0 if not (scheduler or workers) else workers)
