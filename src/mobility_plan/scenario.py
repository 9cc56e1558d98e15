"""Scenario files (TOML): read, validate and describe a planning scenario before any work starts.

A scenario names its years, the fleet target, the adoption curve and allocation, demand
parameter overrides, and one ``[[layer]]`` per infrastructure layer (the siting model,
network, candidates, counts or budgets per year, and whether existing sites are kept).
Every problem in a file is collected and reported at once, each naming the key, the
rule and the fix (unknown keys get a "did you mean", keys with the wrong unit suffix are
named as such). Types are strict: a quoted ``"no"`` is not a boolean, NaN and infinity are
not numbers, a region code is a quoted string, and a scenario name is a plain identifier
(it names output folders, so ``../x`` is refused).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._errors import ValidationError
from ._io import read_toml
from .data import PROJECT_DATA, check_year, file_problem, fleet_size_problem
from .demand import DemandParameters
from .fleet import MODELS, VEHICLES, actual_stock, target_below_stock_problem

__all__ = ["Scenario", "FleetSettings", "Layer", "load_scenario", "scenario_from_dict", "SCENARIO_DIR",
           "shipped_scenarios", "NAME_PATTERN", "name_problem"]

#: Folder of the scenarios shipped with the project.
SCENARIO_DIR = PROJECT_DATA / "scenarios"

_UNITS = ("_km", "_m", "_s", "_min", "_h", "_kw", "_kwh", "_kg", "_kg_per_day", "_vehicles", "_pct")
_LAYER_KINDS = ("ev_fast", "ev_slow", "h2")
_LAYER_MODELS = ("lscp", "mclp", "pmedian", "pcenter", "capacitated", "frlm", "need")
_NETWORKS = ("expressway", "osm_seoul_central", "osm_seoul_yongsan", "osm_songpa_xml", "none")
_CANDIDATES = ("expressway_nodes", "rest_areas", "network_nodes", "kepco_stations", "regions")
_DEMANDS = ("expressway_od", "adm3_census", "region_need")

#: What a scenario, sweep or layer name may be: 1 to 64 letters, digits, ``_``, ``.`` or ``-``,
#: starting with a letter or digit, without ``..``. Names become folder and file names.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: What a region code may be: the digits of a KOSTAT code or its prefix (``"11"`` Seoul,
#: ``"11010"`` Jongno-gu), given as a quoted string.
_REGION_PATTERN = re.compile(r"^[0-9]{2,10}$")


def name_problem(name: object, *, what: str) -> str | None:
    """Say why ``name`` cannot name a scenario, sweep or layer (see :data:`NAME_PATTERN`), or ``None``."""
    if not isinstance(name, str):
        return f"{what} must be a string (a name in quotes), got {_describe(name)}"
    if not NAME_PATTERN.match(name) or ".." in name:
        return (f"{what} {name!r} is not a plain name: use 1 to 64 letters, digits, '_', '.' or '-', starting "
                "with a letter or digit, without '..' or path separators (it becomes a folder name)")
    return None


def _describe(value: object) -> str:
    """A value and its TOML type, for messages: ``the string 'no'``, ``the integer 11``."""
    kinds = {bool: "the boolean", int: "the integer", float: "the number", str: "the string", list: "the array",
             dict: "the table"}
    kind = next((label for cls, label in kinds.items() if type(value) is cls), f"a {type(value).__name__}")
    return f"{kind} {value!r}"


@dataclass(frozen=True)
class FleetSettings:
    """The fleet target and how it is spread: vehicle type, target, curve, allocation."""

    vehicle: str
    target_vehicles: float
    target_year: int
    model: str = "logistic"
    allocation: str = "registrations_census"
    prior_share: float = 0.02


@dataclass(frozen=True)
class Layer:
    """One infrastructure layer to site (chargers or hydrogen stations)."""

    name: str
    kind: str
    model: str
    network: str = "none"
    candidates: str = "regions"
    demand: str = "region_need"
    counts_by_year: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    budgets_by_year: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    range_km: float | None = None
    radius_s: float | None = None
    lock_existing: bool = True
    time_limit_s: float = 60.0
    region: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated planning scenario."""

    name: str
    description: str
    years: tuple[int, ...]
    level: str
    mode: str
    fleet: FleetSettings
    demand: DemandParameters
    layers: tuple[Layer, ...]
    source: str = ""
    #: ``[demand]`` keys the scenario file set on purpose (they hold for every year).
    demand_overrides: tuple[str, ...] = ()

    def demand_in(self, year: int) -> DemandParameters:
        """The demand parameters of ``year``: EV charger ratios on their path to the 2030 targets
        (``data/charger_ratio_path.csv``) unless the scenario set them; everything else as resolved."""
        if self.fleet.vehicle != "ev":
            return self.demand
        return self.demand.with_charger_ratios(year, keep=self.demand_overrides)


_TOP = {"scenario", "fleet", "demand", "layer"}
_SCENARIO_KEYS = {"name", "description", "years", "level", "mode"}
_FLEET_KEYS = set(FleetSettings.__dataclass_fields__)
_LAYER_KEYS = set(Layer.__dataclass_fields__)


def _unknown(keys: set[str], known: set[str], where: str, problems: list[str]) -> None:
    for key in sorted(keys - known):
        stem = key
        for unit in sorted(_UNITS, key=len, reverse=True):
            if key.endswith(unit):
                stem = key[: -len(unit)]
                break
        same_stem = [k for k in known if k != key and (k == stem or k.startswith(stem + "_"))]
        if same_stem and stem != key:
            problems.append(f"{where}: {key!r} has the wrong unit; this value is given as {same_stem[0]!r} "
                            f"(convert it to that unit)")
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {sorted(known)}"
        problems.append(f"{where}: unknown key {key!r}{hint}")


def _number(table: dict, key: str, where: str, problems: list[str], *, low: float | None = None,
            high: float | None = None, strict_low: bool = False, required: bool = True) -> float | None:
    if key not in table:
        if required:
            problems.append(f"{where}: missing {key!r}")
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: {key!r} must be a number, got {_describe(value)}")
        return None
    if not math.isfinite(value):
        problems.append(f"{where}: {key!r} must be a finite number, got {value!r}")
        return None
    if low is not None and (value <= low if strict_low else value < low):
        problems.append(f"{where}: {key!r} = {value} must be {'>' if strict_low else '>='} {low}")
    if high is not None and value > high:
        problems.append(f"{where}: {key!r} = {value} must be <= {high}")
    return float(value)


def _choice(table: dict, key: str, options: tuple[str, ...], where: str, problems: list[str],
            default: str | None = None) -> str | None:
    value = table.get(key, default)
    if value is None:
        problems.append(f"{where}: missing {key!r} (one of {list(options)})")
        return None
    if not isinstance(value, str):
        problems.append(f"{where}: {key!r} must be a string, one of {list(options)}, got {_describe(value)}")
        return None
    if value not in options:
        problems.append(f"{where}: {key!r} = {value!r} is not one of {list(options)}")
        return None
    return value


def _boolean(table: dict, key: str, where: str, problems: list[str], *, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        problems.append(f"{where}: {key!r} must be true or false (a TOML boolean, without quotes), got "
                        f"{_describe(value)}")
        return default
    return value


def _text(table: dict, key: str, where: str, problems: list[str]) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        problems.append(f"{where}: {key!r} must be a string (in quotes), got {_describe(value)}")
        return None
    return value


def _region(table: dict, where: str, problems: list[str]) -> str | None:
    value = table.get("region")
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{where}: 'region' must be a region code as a string, e.g. region = \"11\" (Seoul), got "
                        f"{_describe(value)}; put the code in quotes")
        return None
    if not _REGION_PATTERN.match(value):
        problems.append(f"{where}: 'region' = {value!r} is not a KOSTAT region code (2 to 10 digits, e.g. \"11\")")
        return None
    return value


def _table(content: dict, key: str, problems: list[str]) -> dict:
    value = content.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"[{key}] must be a table, got {_describe(value)}")
        return {}
    return value


def _per_year(table: dict, key: str, years: tuple[int, ...], where: str, problems: list[str]) -> dict[int, int]:
    raw = table.get(key, {})
    if not isinstance(raw, dict):
        problems.append(f"{where}: {key!r} must be a table of year = number, e.g. {{2028 = 10, 2030 = 20}}")
        return {}
    out: dict[int, int] = {}
    for year, value in raw.items():
        try:
            year_int = int(year)
        except ValueError:
            problems.append(f"{where}: {key!r} has the key {year!r}, which is not a year")
            continue
        year_problem = check_year(year_int, what=f"{where}: {key!r} names the year")
        if year_problem:
            problems.append(year_problem)
            continue
        if year_int not in years:
            problems.append(f"{where}: {key!r} names {year_int}, which is not among the scenario years {list(years)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{where}: {key!r}.{year} must be a whole number >= 0, got {value!r}")
            continue
        out[year_int] = value
    return out


def scenario_from_dict(content: dict[str, Any], *, source: str = "<dict>") -> Scenario:
    """Validate a parsed scenario; raises :class:`ValidationError` listing every problem."""
    problems: list[str] = []
    _unknown(set(content), _TOP, "top level", problems)
    head = _table(content, "scenario", problems)
    _unknown(set(head), _SCENARIO_KEYS, "[scenario]", problems)
    name = head.get("name", Path(source).stem)
    problem = name_problem(name, what="[scenario]: 'name'" if "name" in head else "the file name (no [scenario] name)")
    if problem:
        problems.append(problem)
    description = _text(head, "description", "[scenario]", problems)
    years_raw = head.get("years", [])
    if (not isinstance(years_raw, list) or not years_raw
            or not all(isinstance(y, int) and not isinstance(y, bool) for y in years_raw)):
        problems.append(f"[scenario]: 'years' must be a non-empty list of whole years, e.g. [2026, 2028, 2030], "
                        f"got {_describe(years_raw)}")
        years: tuple[int, ...] = ()
    else:
        year_problems = [p for p in (check_year(y, what="[scenario]: 'years' has") for y in years_raw) if p]
        problems.extend(year_problems)
        years = () if year_problems else tuple(sorted(set(years_raw)))
    level = _choice(head, "level", ("sido", "sigungu", "adm3"), "[scenario]", problems, default="sido")
    mode = _choice(head, "mode", ("plan", "backcast"), "[scenario]", problems, default="plan")

    fleet_table = _table(content, "fleet", problems)
    _unknown(set(fleet_table), _FLEET_KEYS, "[fleet]", problems)
    vehicle = _choice(fleet_table, "vehicle", VEHICLES, "[fleet]", problems)
    target = _number(fleet_table, "target_vehicles", "[fleet]", problems, low=0, strict_low=True)
    target_year = fleet_table.get("target_year")
    model = _choice(fleet_table, "model", MODELS, "[fleet]", problems, default="logistic")
    allocation = _choice(fleet_table, "allocation", ("registrations_census",), "[fleet]", problems,
                         default="registrations_census")
    prior = _number(fleet_table, "prior_share", "[fleet]", problems, low=0, high=1, required=False)
    target_year_problem = check_year(target_year, what="[fleet]: 'target_year'") if "target_year" in fleet_table \
        else "[fleet]: missing 'target_year' (a year, e.g. 2030)"
    if target_year_problem:
        problems.append(target_year_problem)
        target_year = None
    elif target is not None:
        size_problem = fleet_size_problem(target, year=target_year, what="[fleet]: 'target_vehicles'")
        if size_problem:
            problems.append(size_problem)
    if vehicle is not None and years and target_year is not None:
        history = actual_stock(vehicle)
        last_year = int(history.index.max())
        if mode == "backcast":
            if years[-1] > last_year:
                problems.append(f"[scenario]: a backcast looks at past years; {years[-1]} is after the last actual "
                                f"year {last_year}")
        elif years[0] < last_year:
            problems.append(f"[scenario]: 'years' start in {years[0]}, before the last actual year {last_year}; "
                            "set mode = \"backcast\" to look back")
        if mode == "backcast":
            if target_year not in history.index:
                problems.append(f"[fleet]: backcast 'target_year' {target_year} has no actual stock to compare with")
        elif target_year < last_year:
            problems.append(f"[fleet]: 'target_year' {target_year} is before the last actual year {last_year}")
        elif target is not None and (below := target_below_stock_problem(vehicle, target, target_year,
                                                                         what="[fleet]: 'target_vehicles'")):
            problems.append(below)
        elif isinstance(target_year, int) and years and target_year not in years:
            problems.append(f"[fleet]: 'target_year' {target_year} must be one of the scenario years {list(years)}")

    overrides = _table(content, "demand", problems)
    demand = None
    numbers = {k: float(v) for k, v in overrides.items()
               if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}
    for key, value in overrides.items():
        if key not in numbers:
            kind = "a finite number" if isinstance(value, float) else "a number"
            problems.append(f"[demand]: {key!r} must be {kind}, got {_describe(value)}")
    if vehicle is not None:
        try:
            demand = DemandParameters.defaults(vehicle, **numbers)
        except ValidationError as exc:
            problems.append(f"[demand]: {exc}")

    layers = []
    raw_layers = content.get("layer", [])
    if not isinstance(raw_layers, list):
        problems.append("'layer' must be an array of tables: write each as [[layer]]")
        raw_layers = []
    for position, table in enumerate(raw_layers, start=1):
        if not isinstance(table, dict):
            problems.append(f"[[layer]] {position} must be a table, got {_describe(table)}")
            continue
        where = f"[[layer]] {table.get('name', position)!r}"
        if "name" in table:
            layer_name_problem = name_problem(table["name"], what=f"{where}: 'name'")
            if layer_name_problem:
                problems.append(layer_name_problem)
        _unknown(set(table), _LAYER_KEYS, where, problems)
        kind = _choice(table, "kind", _LAYER_KINDS, where, problems)
        model_name = _choice(table, "model", _LAYER_MODELS, where, problems)
        network = _choice(table, "network", _NETWORKS, where, problems, default="none")
        candidates = _choice(table, "candidates", _CANDIDATES, where, problems, default="regions")
        demand_source = _choice(table, "demand", _DEMANDS, where, problems, default="region_need")
        counts = _per_year(table, "counts_by_year", years, where, problems)
        budgets = _per_year(table, "budgets_by_year", years, where, problems)
        if counts and budgets:
            problems.append(f"{where}: give counts_by_year or budgets_by_year, not both")
        if budgets and sum(budgets.values()) == 0:
            problems.append(f"{where}: budgets_by_year opens no site at all (every budget is 0)")
        if counts and any(b < a for a, b in zip(list(counts.values()), list(counts.values())[1:])):
            problems.append(f"{where}: counts_by_year must not decrease (sites stay open)")
        range_km = _number(table, "range_km", where, problems, low=0, strict_low=True, required=model_name == "frlm")
        radius_s = _number(table, "radius_s", where, problems, low=0, strict_low=True,
                           required=model_name in ("lscp", "mclp"))
        limit = _number(table, "time_limit_s", where, problems, low=0, strict_low=True, required=False)
        lock_existing = _boolean(table, "lock_existing", where, problems, default=True)
        region = _region(table, where, problems)
        if model_name == "frlm" and network not in (None, "expressway"):
            problems.append(f"{where}: model 'frlm' runs on network 'expressway', got {network!r}")
        if model_name in ("mclp", "pmedian", "pcenter", "frlm") and not (counts or budgets):
            problems.append(f"{where}: model {model_name!r} needs counts_by_year or budgets_by_year")
        layers.append(Layer(
            name=str(table.get("name", f"layer_{position}")), kind=kind or "", model=model_name or "",
            network=network or "none", candidates=candidates or "regions", demand=demand_source or "region_need",
            counts_by_year=MappingProxyType(counts), budgets_by_year=MappingProxyType(budgets), range_km=range_km,
            radius_s=radius_s, lock_existing=lock_existing,
            time_limit_s=limit if limit is not None else 60.0, region=region,
        ))
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        problems.append(f"layer names must be unique, got {names}")
    if problems:
        listed = "\n  - ".join(problems)
        raise ValidationError(f"scenario {source} has {len(problems)} problem(s):\n  - {listed}")
    return Scenario(
        name=str(name), description=description or "", years=years, level=level, mode=mode,
        fleet=FleetSettings(vehicle=vehicle, target_vehicles=float(target), target_year=int(target_year),
                            model=model, allocation=allocation, prior_share=0.02 if prior is None else prior),
        demand=demand, layers=tuple(layers), source=source, demand_overrides=tuple(sorted(numbers)),
    )


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario TOML file (every problem reported at once).

    Raises
    ------
    ValidationError
        On a missing or malformed file, or any rule broken (key, unit, range).
    """
    path = Path(path)
    problem = file_problem(path)
    if problem == "does not exist":
        shipped = ", ".join(p.name for p in shipped_scenarios())
        raise ValidationError(f"scenario file {path} does not exist; shipped scenarios: {shipped}")
    if problem is not None:
        raise ValidationError(f"scenario file {path} {problem}; give the path of a scenario TOML file")
    content = read_toml(path)
    return scenario_from_dict(content, source=str(path))


def shipped_scenarios() -> list[Path]:
    """The scenario files in ``data/scenarios``."""
    return sorted(SCENARIO_DIR.glob("*.toml"))
