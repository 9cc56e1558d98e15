"""Data directory, dataset registry and loaders of the shipped Korean tables.

Every external file is read in place from the data directory (see :func:`data_dir`)
and described in ``data/sources.toml``. Loaders return tidy tables with English
column names, proper dtypes and, for point data, a GeoDataFrame in EPSG:4326.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import tomllib
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import DataSourceError, ValidationError
from ._io import read_csv_text, read_text, write_bytes_atomic

__all__ = [
    "DATA_DIR_ENV",
    "CACHE_DIR_ENV",
    "ACCEPT_CHANGED_ENV",
    "PROJECT_ROOT",
    "PROJECT_DATA",
    "FIRST_YEAR",
    "LAST_YEAR",
    "checkout_root",
    "tables_dir",
    "DataSource",
    "ChangedDataWarning",
    "DataQualityWarning",
    "data_dir",
    "user_cache_dir",
    "load_sources",
    "file_problem",
    "source_path",
    "file_sha256",
    "source_difference",
    "source_size_difference",
    "verify_source",
    "verify_if_registered",
    "check_sources",
    "check_year",
    "load_registered_vehicles",
    "registered_vehicles",
    "fleet_size_problem",
    "load_sido_table",
    "sido_code_for_name",
    "load_hydrogen_stations",
    "load_kepco_ev_stations",
    "load_ev_chargers",
    "load_rest_areas",
    "load_national_fleet_stock",
    "load_ev_stock_sido_monthly",
    "load_ev_fcev_stock_sido",
    "load_ev_registrations_sigungu",
    "load_tollgate_od",
]

#: Environment variable that overrides the data directory.
DATA_DIR_ENV = "MOBILITY_PLAN_DATA_DIR"
#: Environment variable that overrides the user cache folder (``~/.cache/mobility_plan``).
CACHE_DIR_ENV = "MOBILITY_PLAN_CACHE_DIR"
#: Environment variable listing the datasets (registry keys, comma-separated, or ``all``)
#: allowed to differ from ``data/sources.toml``: a newer file of the user's own, run on purpose.
ACCEPT_CHANGED_ENV = "MOBILITY_PLAN_ACCEPT_CHANGED_DATA"


def checkout_root() -> Path | None:
    """The source checkout this code runs from (editable install or ``PYTHONPATH=src``), else ``None``.

    A checkout is recognised by its layout: ``src/mobility_plan`` beside ``data/__init__.py`` and
    ``pyproject.toml``. An installed package (a wheel in site-packages) has none.
    """
    package = Path(__file__).resolve().parent
    root = package.parents[1]
    if package.parent.name == "src" and (root / "data" / "__init__.py").is_file() and (root / "pyproject.toml").is_file():
        return root
    return None


def tables_dir() -> Path:
    """The folder of the project's own tables (CSV tables, ``sources.toml``, ``scenarios/``, ``sweeps/``).

    In a source checkout this is its ``data/`` folder (the tables that go with this code); in an
    installed package, the package data ``mobility_plan.tables`` found through
    :mod:`importlib.resources`.

    Raises
    ------
    DataSourceError
        If neither is there (a broken installation).
    """
    root = checkout_root()
    if root is not None:
        return root / "data"
    from importlib.resources import files

    try:
        tables = files("mobility_plan.tables")
    except ModuleNotFoundError as exc:
        raise DataSourceError("the package data mobility_plan.tables is missing: the installation is broken; "
                              "reinstall mobility-plan (pip install --force-reinstall mobility-plan)") from exc
    if not isinstance(tables, Path):  # e.g. a zipped install: the tables must be plain files
        raise DataSourceError(f"the package data mobility_plan.tables is not a folder ({tables}); install "
                              "mobility-plan unzipped (pip install)")
    return tables


#: Root of the source checkout, or ``None`` for an installed package (see :func:`checkout_root`).
PROJECT_ROOT = checkout_root()
#: The project's own small tables (targets, parameters, registry, scenarios, sweeps): one home, see :func:`tables_dir`.
PROJECT_DATA = tables_dir()

#: Geographic CRS of every lon/lat output.
CRS_LONLAT = "EPSG:4326"
#: Metric CRS used for distances and areas (Korea 2000 / Unified CS).
CRS_METRIC = "EPSG:5179"
#: Bounding box of South Korea (lon_min, lat_min, lon_max, lat_max), islands included: from
#: Baengnyeong-do (124.6 E) and Marado (33.1 N) to Dokdo (131.87 E, hence 132.0, not 131.0, which
#: left Dokdo out) and the northern border (38.6 N). The one home of Korea's bounds: the network,
#: upload and station checks all import it.
KOREA_BOUNDS = (124.5, 33.0, 132.0, 38.7)
#: Share of a station file's points that may lie outside :data:`KOREA_BOUNDS` (each
#: reported in a warning) before the file is refused as wrong (projected, shifted, ...).
MAX_OUTSIDE_SHARE = 0.05

#: Years mobility_plan handles, in data files, scenarios and the command line: from 2010,
#: before the first mass-market EVs in Korea (the national stock series starts in 2014),
#: to 2050, the horizon of Korea's carbon-neutrality strategy (targets in data/targets.csv
#: run to 2040). A year outside this range is a typo or a unit mix-up, and is refused.
FIRST_YEAR = 2010
LAST_YEAR = 2050
#: Largest plausible year-over-year growth of a national stock that already counts 100 or
#: more vehicles: the fastest in the 2014-2025 history is x5.7 (fuel-cell cars, 2018 to
#: 2019); a jump of x20 or more is a typo or a table multiplied by mistake.
MAX_STOCK_GROWTH_PER_YEAR = 20.0
#: Smallest plausible year-over-year ratio of a national stock (a stock does not halve).
MIN_STOCK_RATIO_PER_YEAR = 0.5


class ChangedDataWarning(UserWarning):
    """A data file differs from ``data/sources.toml`` and was accepted on purpose."""


class DataQualityWarning(UserWarning):
    """A data file has a few rows that cannot be used (e.g. points outside Korea); they are left out."""


def data_dir() -> Path:
    """Return the folder holding the external datasets.

    Resolved, in order, from the ``MOBILITY_PLAN_DATA_DIR`` environment variable; then, in a
    source checkout only, ``../shared/data`` beside the repository when that folder exists, then
    ``data/external`` inside the repository. An installed package has no default.

    Returns
    -------
    pathlib.Path
        The data directory (it may not exist yet; :func:`check_sources` says).

    Raises
    ------
    DataSourceError
        In an installed package when ``MOBILITY_PLAN_DATA_DIR`` is not set.
    """
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    root = checkout_root()
    if root is None:
        raise DataSourceError(f"no data directory: set {DATA_DIR_ENV} to the folder that holds the Korean datasets "
                              "(see the README, 'Data'); an installed mobility-plan has no default location")
    shared = root.parent / "shared" / "data"
    if shared.is_dir():
        return shared
    return root / "data" / "external"


@dataclass(frozen=True)
class DataSource:
    """One external dataset as listed in ``data/sources.toml``."""

    key: str
    file: str
    description: str
    publisher: str
    source: str
    licence: str
    encoding: str
    rows: int
    sha256: str
    bytes: int = 0
    columns: int = 0


#: Registry fields that may be left out (0 = unknown).
_OPTIONAL_FIELDS = ("bytes", "columns")


def user_cache_dir() -> Path:
    """Folder of mobility_plan's caches: ``MOBILITY_PLAN_CACHE_DIR`` or ``~/.cache/mobility_plan``."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "mobility_plan"


@lru_cache(maxsize=4)
def load_sources(path: Path | None = None) -> dict[str, DataSource]:
    """Read the dataset registry.

    Parameters
    ----------
    path
        Registry file; defaults to the shipped ``sources.toml`` (see :func:`tables_dir`).

    Returns
    -------
    dict of str to DataSource
        The datasets keyed by their registry key.
    """
    path = Path(path) if path else PROJECT_DATA / "sources.toml"
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataSourceError(f"cannot read the dataset registry {path}: {exc}") from exc
    fields = DataSource.__dataclass_fields__
    sources: dict[str, DataSource] = {}
    for key, entry in entries.items():
        missing = [f for f in fields if f != "key" and f not in entry and f not in _OPTIONAL_FIELDS]
        if missing:
            raise DataSourceError(f"registry entry [{key}] in {path} lacks {missing}")
        sources[key] = DataSource(key=key, **{f: entry[f] for f in fields if f != "key" and f in entry})
    return sources


def _resolve_dir(directory: Path | str | None) -> Path:
    return Path(directory) if directory is not None else data_dir()


def file_problem(path: Path | str) -> str | None:
    """Say why ``path`` cannot be read as a regular file, or ``None`` when it can.

    A folder, a named pipe (FIFO), a socket or a device in place of a file is named as
    such (opening a FIFO would block forever), and so is a missing file or an
    unreadable one.

    Returns
    -------
    str or None
        ``"does not exist"``, ``"is a folder, not a file"``, ... ; ``None`` for a readable file.
    """
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        return "does not exist"
    except NotADirectoryError:
        return "does not exist (a part of its path is a file, not a folder)"
    except PermissionError:
        return "cannot be read (permission denied on its folder)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def source_path(key: str, *, directory: Path | str | None = None) -> Path:
    """Return the path of a registered dataset, checking that it is a readable file.

    Parameters
    ----------
    key
        Registry key, e.g. ``"hydrogen_stations"``.
    directory
        Data directory; defaults to :func:`data_dir`.

    Raises
    ------
    ValidationError
        If ``key`` is not in the registry.
    DataSourceError
        If the file is missing, or something else (a folder, a FIFO) stands in its
        place; the message says where to get it and which setting points the project at it.
    """
    sources = load_sources()
    if key not in sources:
        raise ValidationError(f"unknown dataset {key!r}; known: {sorted(sources)}")
    entry = sources[key]
    path = _resolve_dir(directory) / entry.file
    problem = file_problem(path)
    if problem == "does not exist":
        raise DataSourceError(
            f"dataset {key!r} not found: {path} does not exist. Get {entry.file!r} from "
            f"{entry.publisher} ({entry.source}, licence {entry.licence}) and place it "
            f"under the data directory, or set {DATA_DIR_ENV} to the folder that holds it."
        )
    if problem is not None:
        raise DataSourceError(
            f"dataset {key!r}: {path} {problem}. Replace it with the file {entry.file!r} from "
            f"{entry.publisher} ({entry.source}), or set {DATA_DIR_ENV} to a folder that holds it."
        )
    return path


# --------------------------------------------------------------------------- integrity

#: In-process copy of the checksum cache: resolved path -> (size, mtime_ns, sha256).
_CHECKSUMS: dict[str, tuple[int, int, str]] = {}
_CHECKSUMS_LOADED: list[Path] = []


def _checksum_cache_file() -> Path:
    return user_cache_dir() / "checksums.json"


def _load_checksum_cache(cache_file: Path) -> None:
    if _CHECKSUMS_LOADED and _CHECKSUMS_LOADED[0] == cache_file:
        return
    _CHECKSUMS.clear()
    _CHECKSUMS_LOADED[:] = [cache_file]
    try:
        stored = json.loads(cache_file.read_text(encoding="utf-8"))
        for name, (size, mtime_ns, digest) in stored.items():
            _CHECKSUMS[name] = (int(size), int(mtime_ns), str(digest))
    except (OSError, ValueError, TypeError, AttributeError):
        pass  # no cache yet, or an unreadable one: it is rebuilt


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file, cached by (path, size, modification time) in the user cache folder.

    The first call on a file reads it whole (the 28.5 MB charger list takes about 0.05 s);
    later calls, in this process or another, cost one ``stat``. The cache
    (``checksums.json`` under :func:`user_cache_dir`) is written atomically; a cache that
    cannot be written only costs speed.
    """
    path = Path(path).resolve()
    info = path.stat()
    cache_file = _checksum_cache_file()
    _load_checksum_cache(cache_file)
    cached = _CHECKSUMS.get(str(path))
    if cached is not None and cached[:2] == (info.st_size, info.st_mtime_ns):
        return cached[2]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    _CHECKSUMS[str(path)] = (info.st_size, info.st_mtime_ns, digest.hexdigest())
    try:
        kept = {name: list(value) for name, value in sorted(_CHECKSUMS.items()) if os.path.exists(name)}
        payload = json.dumps(kept, indent=0)  # entries of files that are gone are dropped
        write_bytes_atomic(cache_file, payload.encode("utf-8"))
    except OSError:
        pass  # read-only home or cache folder: the digest is recomputed next time
    return digest.hexdigest()


def _accepted(key: str, accept_changed: bool) -> bool:
    if accept_changed:
        return True
    listed = {name.strip() for name in os.environ.get(ACCEPT_CHANGED_ENV, "").split(",") if name.strip()}
    return "all" in listed or key in listed


def source_size_difference(key: str, path: Path | str) -> str | None:
    """Say how a file's size differs from the ``bytes`` of its registry entry, or ``None``.

    A cheap check (one ``stat``) that catches a truncated or extended file without
    reading it; :func:`source_difference` adds the SHA-256.
    """
    entry = load_sources()[key]
    size = Path(path).stat().st_size
    if entry.bytes and size != entry.bytes:
        return f"its size is {size:,} bytes instead of the registered {entry.bytes:,}"
    return None


def source_difference(key: str, path: Path | str) -> str | None:
    """Say how a file differs from its registry entry (size, SHA-256), or ``None`` when it matches."""
    entry = load_sources()[key]
    size_difference = source_size_difference(key, path)
    if size_difference is not None:
        return size_difference
    digest = file_sha256(path)
    if digest != entry.sha256:
        return f"its SHA-256 is {digest[:16]}... instead of the registered {entry.sha256[:16]}..."
    return None


def _diagnose(entry: DataSource, path: Path, columns: list[str] | None) -> str:
    """What is wrong with a changed table, in words: encoding, emptiness, columns, rows."""
    if not entry.rows:
        return ""
    try:
        text = read_text(path, encoding=entry.encoding)
    except DataSourceError:
        return f"it is not valid {entry.encoding} text (re-saved in another encoding?)"
    if not text.strip():
        return "it is empty"
    lines = [line for line in text.split("\n") if line.strip()]
    found: list[str] = []
    header = [] if entry.key == "expressway_demand" else lines[0].split(",")
    missing = [c for c in (columns or []) if c not in [h.strip().strip('"') for h in header]]
    if missing:
        found.append(f"the column(s) {missing} are missing")
    elif entry.columns and header and len(header) != entry.columns:
        found.append(f"its header has {len(header)} columns instead of {entry.columns}")
    data_rows = len(lines) - (0 if entry.key == "expressway_demand" else 1)
    if data_rows < entry.rows:
        found.append(f"it has {data_rows:,} data rows instead of {entry.rows:,} (truncated?)")
    elif data_rows > entry.rows:
        found.append(f"it has {data_rows:,} data rows instead of {entry.rows:,}")
    if not text.endswith("\n"):
        found.append("its last line is cut off (no final line break)")
    return "; ".join(found)


def verify_source(key: str, path: Path | str, *, accept_changed: bool = False,
                  columns: list[str] | None = None) -> None:
    """Check a data file against ``data/sources.toml`` before it is read.

    Parameters
    ----------
    key
        Registry key of the dataset.
    path
        The file (see :func:`source_path`).
    accept_changed
        Accept a file that differs from the registry (a newer file of the user's own,
        run on purpose), with a :class:`ChangedDataWarning`. Also set for a dataset whose
        key, or ``all``, is listed in ``MOBILITY_PLAN_ACCEPT_CHANGED_DATA``.
    columns
        Columns the loader needs, named in the error when they are missing.

    Raises
    ------
    DataSourceError
        If the file differs and was not accepted: the message names the file, what
        differs (size, digest, encoding, columns, rows) and the two fixes.
    """
    entry = load_sources()[key]
    difference = source_difference(key, path)
    if difference is None:
        return
    if _accepted(key, accept_changed):
        warnings.warn(f"{path} differs from the registered {key!r} file ({difference}); it is used as you "
                      f"asked ({ACCEPT_CHANGED_ENV}), and its content is still checked", ChangedDataWarning,
                      stacklevel=3)
        return
    detail = _diagnose(entry, Path(path), columns)
    raise DataSourceError(
        f"{path} is not the registered {key!r} file: {difference}" + (f"; {detail}" if detail else "")
        + f". Restore the original ({entry.publisher}, {entry.source}; see data/sources.toml), or, to run "
        f"on purpose on a newer file of your own, set {ACCEPT_CHANGED_ENV}={key} (or =all): its content "
        "is still checked."
    )


def verify_if_registered(path: Path | str) -> None:
    """Check ``path`` with :func:`verify_source` when it is a registered file of the data directory.

    Files elsewhere (a graph or folder of the user's own) are not in the registry and pass.
    """
    resolved = Path(path).resolve()
    root = data_dir()
    for key, entry in load_sources().items():
        if (root / entry.file).resolve() == resolved:
            verify_source(key, path)
            return


def check_sources(*, directory: Path | str | None = None, verify_checksums: bool = True) -> pd.DataFrame:
    """Report which registered datasets are present, missing or corrupt.

    Parameters
    ----------
    directory
        Data directory; defaults to :func:`data_dir`.
    verify_checksums
        Compare each file's SHA-256 with the registry (cached by size and modification
        time; the first check of every file takes about 0.1 s in all). Without it, each
        file's size is still compared with the registered ``bytes`` (one ``stat``), so a
        truncated file is reported ``corrupt`` even in a quick check.

    Returns
    -------
    pandas.DataFrame
        One row per dataset: ``key``, ``file``, ``status`` (``ok``, ``missing`` or
        ``corrupt``), ``size_mb``, ``detail``.
    """
    root = _resolve_dir(directory)
    rows = []
    for key, entry in load_sources().items():
        path = root / entry.file
        problem = file_problem(path)
        if problem == "does not exist":
            rows.append((key, entry.file, "missing", np.nan, f"get it from {entry.source}"))
            continue
        if problem is not None:
            rows.append((key, entry.file, "corrupt", np.nan, f"the path {problem}"))
            continue
        size_mb = path.stat().st_size / 1e6
        difference = source_difference(key, path) if verify_checksums else source_size_difference(key, path)
        if difference is not None:
            accepted = f" (accepted by {ACCEPT_CHANGED_ENV})" if _accepted(key, False) else ""
            rows.append((key, entry.file, "corrupt", size_mb, f"{difference}{accepted}"))
            continue
        rows.append((key, entry.file, "ok", size_mb, ""))
    return pd.DataFrame(rows, columns=["key", "file", "status", "size_mb", "detail"])


def _read_source(key: str, directory: Path | str | None, columns: list[str], *, accept_changed: bool = False,
                 **kwargs) -> pd.DataFrame:
    entry = load_sources()[key]
    path = source_path(key, directory=directory)
    verify_source(key, path, accept_changed=accept_changed, columns=columns)
    frame = read_csv_text(path, encoding=entry.encoding, expected_columns=columns, **kwargs)
    frame.attrs["path"] = str(path)
    if entry.rows and len(frame) < entry.rows:
        message = (f"{path} has {len(frame)} data rows, fewer than the {entry.rows} registered: the "
                   "file may be truncated. Restore the original file (see data/sources.toml).")
        if not _accepted(key, accept_changed):
            raise DataSourceError(message)
        warnings.warn(message, ChangedDataWarning, stacklevel=3)
    return frame


# --------------------------------------------------------------------------- checks of content


def _file_rows(index: pd.Index) -> list[int]:
    """Line numbers in the file of data rows (the header is line 1)."""
    return [int(i) + 2 for i in index]


def _counts(raw: pd.DataFrame, columns: list[str], path: Path | str, *, what: str = "vehicle counts") -> pd.DataFrame:
    """The columns as int64 counts; empty, non-numeric, fractional or negative cells are refused, all named."""
    problems: list[str] = []
    out = pd.DataFrame(index=raw.index)
    for column in columns:
        values = pd.to_numeric(raw[column], errors="coerce")
        empty = raw[column].isna()
        bad = values.isna() & ~empty
        if bad.any():
            cells = ", ".join(f"line {line}: {value!r}" for line, value in
                              zip(_file_rows(raw.index[bad])[:3], raw.loc[bad, column].head(3), strict=False))
            problems.append(f"column {column!r} has {int(bad.sum())} non-numeric value(s) ({cells})")
        if empty.any():
            problems.append(f"column {column!r} has {int(empty.sum())} empty cell(s) "
                            f"(lines {_file_rows(raw.index[empty])[:5]})")
        finite = values.dropna()
        if (~np.isfinite(finite)).any():
            problems.append(f"column {column!r} has infinite values")
            finite = finite[np.isfinite(finite)]
        if (finite < 0).any():
            negative = finite[finite < 0]
            problems.append(f"column {column!r} has {len(negative)} negative value(s) "
                            f"(line {_file_rows(negative.index)[0]}: {negative.iloc[0]:g})")
        if (finite != np.floor(finite)).any():
            fractional = finite[finite != np.floor(finite)]
            problems.append(f"column {column!r} has {len(fractional)} fractional value(s) "
                            f"(line {_file_rows(fractional.index)[0]}: {fractional.iloc[0]:g}); {what} are whole")
        if not problems:
            out[column] = values.astype("int64")
    if problems:
        raise DataSourceError(f"{path}: " + "; ".join(problems) + ". Correct these cells or restore the original "
                              "file (see data/sources.toml).")
    return out


def _no_duplicates(raw: pd.DataFrame, keys: list[str], path: Path | str) -> None:
    duplicated = raw.duplicated(keys, keep=False)
    if duplicated.any():
        first = raw.loc[duplicated, keys].head(1).to_dict(orient="records")[0]
        raise DataSourceError(
            f"{path}: {int(duplicated.sum())} rows repeat the same {', '.join(keys)} (e.g. {first}, lines "
            f"{_file_rows(raw.index[duplicated])[:6]}); each must appear once. Remove the duplicates or "
            "restore the original file (see data/sources.toml)."
        )


def check_year(year: object, *, what: str) -> str | None:
    """Say why ``year`` is not a year mobility_plan handles (:data:`FIRST_YEAR` to :data:`LAST_YEAR`), or ``None``."""
    if isinstance(year, bool) or not isinstance(year, int | np.integer):
        return f"{what} must be a whole year such as 2030, got {year!r}"
    if not FIRST_YEAR <= int(year) <= LAST_YEAR:
        return (f"{what} {year} is outside the years mobility_plan handles, {FIRST_YEAR} to {LAST_YEAR} "
                "(see mobility_plan.data.FIRST_YEAR / LAST_YEAR)")
    return None


@lru_cache(maxsize=1)
def _registered_vehicles() -> pd.DataFrame:
    table = read_csv_text(PROJECT_DATA / "registered_vehicles.csv", encoding="utf-8",
                          expected_columns=["year", "vehicles", "rounded_to", "source"])
    table[["year", "vehicles"]] = _counts(table, ["year", "vehicles"], PROJECT_DATA / "registered_vehicles.csv")
    return table.sort_values("year", ignore_index=True)


def load_registered_vehicles() -> pd.DataFrame:
    """Return the number of vehicles of all kinds registered in Korea at the end of some years.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``vehicles``, ``rounded_to`` (1 or 1000) and ``source`` (MOLIT
        registration statistics) from ``data/registered_vehicles.csv``.
    """
    return _registered_vehicles().copy()


def registered_vehicles(year: int) -> tuple[int, int]:
    """Vehicles registered in Korea that bound a fleet of ``year``.

    The figure of ``year`` when the table has it, else of the next later table year (the
    total has grown every year, so it bounds earlier years from above), else of the
    latest table year (for years after the table).

    Returns
    -------
    tuple of int
        ``(vehicles, table_year)``.
    """
    table = _registered_vehicles()
    later = table[table["year"] >= year]
    row = later.iloc[0] if len(later) else table.iloc[-1]
    return int(row["vehicles"]), int(row["year"])


def fleet_size_problem(vehicles: float, *, year: int, what: str) -> str | None:
    """Say why a fleet of ``vehicles`` EVs or FCEVs in ``year`` is impossible, or ``None``.

    A fleet of one kind cannot exceed every vehicle registered in Korea
    (``data/registered_vehicles.csv``); a NaN or infinite fleet is no fleet.
    """
    if not math.isfinite(vehicles):
        return f"{what} must be a finite number of vehicles, got {vehicles!r}"
    total, table_year = registered_vehicles(year)
    if vehicles > total:
        return (f"{what} {vehicles:,.0f} is above the {total:,} vehicles of all kinds registered in Korea at the "
                f"end of {table_year} (MOLIT, data/registered_vehicles.csv); check the unit (vehicles, not "
                "thousands) and the number of zeros")
    return None


def _points(frame: pd.DataFrame, *, path: Path | str, lon_column: str, lat_column: str, lon: str = "lon",
            lat: str = "lat") -> gpd.GeoDataFrame:
    """Turn lon/lat columns into a GeoDataFrame in EPSG:4326, checking they lie in Korea.

    Swapped latitude and longitude, or coordinates mostly outside Korea (projected
    metres, a shifted file), are refused; a few points outside Korea are kept with
    ``valid_location`` False and no geometry, and counted in a :class:`DataQualityWarning`.
    """
    for column in (lon, lat):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    lon_min, lat_min, lon_max, lat_max = KOREA_BOUNDS
    inside = frame[lon].between(lon_min, lon_max) & frame[lat].between(lat_min, lat_max)
    swapped = frame[lat].between(lon_min, lon_max) & frame[lon].between(lat_min, lat_max)
    total = len(frame)
    if total and swapped.sum() > inside.sum():
        raise DataSourceError(
            f"{path}: latitude and longitude are swapped: {int(swapped.sum())} of {total} points lie in Korea only "
            f"when the columns {lat_column!r} (latitude, 33-39 in Korea) and {lon_column!r} (longitude, 124-132) "
            "are exchanged. Swap the two columns back, or restore the original file (see data/sources.toml)."
        )
    outside = ~inside
    if outside.any():
        no_coordinates = int(frame[[lon, lat]].isna().any(axis=1).sum())
        example = frame.loc[outside, [lon, lat]].head(3).to_numpy().tolist()
        summary = (f"{path}: {int(outside.sum())} of {total} points lie outside Korea (lon {lon_min}-{lon_max}, "
                   f"lat {lat_min}-{lat_max}), {no_coordinates} of them without coordinates; e.g. lines "
                   f"{_file_rows(frame.index[outside])[:3]} at {example}")
        if outside.mean() > MAX_OUTSIDE_SHARE:
            projected = bool((frame[[lon, lat]].abs() > 1000).any(axis=None))
            hint = " They look like projected metres, not degrees." if projected else ""
            raise DataSourceError(f"{summary}: more than {MAX_OUTSIDE_SHARE:.0%} of the file.{hint} Columns "
                                  f"{lon_column!r} and {lat_column!r} must hold longitude and latitude in degrees "
                                  "(EPSG:4326); restore the original file (see data/sources.toml).")
        warnings.warn(f"{summary}; they are kept with valid_location = False and no geometry", DataQualityWarning,
                      stacklevel=3)
    frame["valid_location"] = inside
    geometry = gpd.points_from_xy(frame[lon].where(inside), frame[lat].where(inside))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS_LONLAT)


# --------------------------------------------------------------------------- regions


@lru_cache(maxsize=1)
def load_sido_table() -> pd.DataFrame:
    """Return the 17 provinces (sido) with KOSTAT code, English and Korean names.

    Returns
    -------
    pandas.DataFrame
        Columns ``sido_code`` (2-digit string), ``name_en``, ``name_ko``,
        ``name_ko_short``, ``aliases_ko`` and ``source``.
    """
    table = read_csv_text(PROJECT_DATA / "regions_sido.csv", encoding="utf-8", dtype={"sido_code": str})
    table["aliases_ko"] = table["aliases_ko"].fillna("")
    return table


@lru_cache(maxsize=1)
def _sido_name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for row in load_sido_table().itertuples():
        names = [row.name_ko, row.name_ko_short, row.name_en, *filter(None, row.aliases_ko.split(";"))]
        for name in names:
            index[name.strip()] = row.sido_code
    return index


def sido_code_for_name(name: str) -> str:
    """Return the 2-digit sido code for a Korean (full, short or former) or English name.

    Raises
    ------
    ValidationError
        If the name is not a known province.
    """
    code = _sido_name_index().get(str(name).strip())
    if code is None:
        raise ValidationError(
            f"unknown province (sido) name {name!r}; expected one of the names in "
            f"data/regions_sido.csv such as '서울', '서울특별시' or 'Seoul'"
        )
    return code


def _sido_codes(names: pd.Series) -> pd.Series:
    index = _sido_name_index()
    codes = names.astype(str).str.strip().map(index)
    unknown = sorted(names[codes.isna()].astype(str).unique())
    if unknown:
        raise DataSourceError(
            f"unknown province names {unknown[:5]}; add them as aliases in data/regions_sido.csv"
        )
    return codes.astype("string")


# --------------------------------------------------------------------------- stations


def load_hydrogen_stations(*, directory: Path | str | None = None, accept_changed: bool = False) -> gpd.GeoDataFrame:
    """Load the 221 hydrogen refuelling stations (state of 2024-10).

    Returns
    -------
    geopandas.GeoDataFrame
        ``station_id``, ``build_year``, ``name``, ``sido_name_ko``, ``sido_code``,
        ``address``, ``use`` (``commercial`` or ``research``), ``lon``, ``lat``,
        ``valid_location`` and point geometry in EPSG:4326.
    """
    columns = ["번호", "구축연도", "충전소명", "지역_대분류", "주소", "용도", "위도", "경도"]
    raw = _read_source("hydrogen_stations", directory, columns, accept_changed=accept_changed)
    path = raw.attrs["path"]
    _no_duplicates(raw, ["번호"], path)
    use_map = {"상업용": "commercial", "연구용": "research"}
    frame = pd.DataFrame(
        {
            "station_id": _counts(raw, ["번호"], path, what="station numbers")["번호"],
            "build_year": pd.to_numeric(raw["구축연도"], errors="coerce").astype("Int64"),
            "name": raw["충전소명"].astype("string"),
            "sido_name_ko": raw["지역_대분류"].astype("string").str.strip(),
            "address": raw["주소"].astype("string"),
            "use": raw["용도"].map(use_map).fillna("other").astype("string"),
            "lon": raw["경도"],
            "lat": raw["위도"],
        }
    )
    frame.insert(4, "sido_code", _sido_codes_from_address(frame["address"], frame["sido_name_ko"]))
    return _points(frame, path=path, lon_column="경도", lat_column="위도")


#: Typos in published region columns (checked against the addresses).
_REGION_TYPOS = {"광구": "광주"}


def _sido_codes_from_address(address: pd.Series, region: pd.Series) -> pd.Series:
    """Sido code of each row: the address's first word when it names a province, else
    the region column. Addresses are more reliable than the region columns of the
    published files (``충청``/``경상`` labels, chargers filed under the wrong sido)."""
    index = _sido_name_index()
    from_address = address.astype(str).str.split(n=1).str[0].map(index)
    from_region = region.astype(str).str.strip().replace(_REGION_TYPOS).map(index)
    codes = from_address.fillna(from_region)
    if codes.isna().any():
        bad = sorted(region[codes.isna()].astype(str).unique())
        raise DataSourceError(f"cannot tell the province of the regions {bad}; add them to data/regions_sido.csv")
    return codes.astype("string")


def load_kepco_ev_stations(*, directory: Path | str | None = None, accept_changed: bool = False) -> gpd.GeoDataFrame:
    """Load the 4,635 KEPCO-operated EV charging stations (2025-06-30).

    Returns
    -------
    geopandas.GeoDataFrame
        ``station_id``, ``name``, ``address``, ``address_detail``, ``lon``, ``lat``,
        ``opening_hours``, ``phone``, ``registered`` (date), ``valid_location`` and
        point geometry in EPSG:4326.
    """
    columns = ["충전소아이디", "충전소명", "충전소주소", "상세주소", "위도", "경도", "이용가능시간", "연락처", "등록일자"]
    raw = _read_source("kepco_ev_stations", directory, columns, accept_changed=accept_changed)
    _no_duplicates(raw, ["충전소아이디"], raw.attrs["path"])
    frame = pd.DataFrame(
        {
            "station_id": raw["충전소아이디"].astype("string"),
            "name": raw["충전소명"].astype("string"),
            "address": raw["충전소주소"].astype("string"),
            "address_detail": raw["상세주소"].astype("string"),
            "lon": raw["경도"],
            "lat": raw["위도"],
            "opening_hours": raw["이용가능시간"].astype("string"),
            "phone": raw["연락처"].astype("string"),
            "registered": pd.to_datetime(raw["등록일자"], errors="coerce"),
        }
    )
    return _points(frame, path=raw.attrs["path"], lon_column="경도", lat_column="위도")


#: Power assumed for chargers whose rating is not listed: AC slow 7 kW, DC fast 50 kW
#: (the standard ratings of Korean public chargers of that generation).
ASSUMED_SLOW_POWER_KW = 7.0
ASSUMED_FAST_POWER_KW = 50.0


def load_ev_chargers(*, directory: Path | str | None = None, accept_changed: bool = False) -> pd.DataFrame:
    """Load the national EV charger list: 191,514 chargers (2022-10-27).

    Power comes from the listed rating (e.g. ``급속(100kW단독)``); where none is
    listed, 7 kW is assumed for slow AC and 50 kW for fast DC chargers and
    ``power_kw_source`` says ``assumed``.

    Returns
    -------
    pandas.DataFrame
        ``sido_name_ko`` (as published), ``sido_code`` (from the address where it
        names a province: some rows are filed under the wrong sido),
        ``sigungu_name_ko``, ``address``, ``station_name``, ``facility_group``, ``facility_type``, ``charger_class``
        (``fast`` / ``slow``), ``charger_model``, ``connector``, ``operator_group``,
        ``operator``, ``power_kw``, ``power_kw_source``, ``access`` (``public`` /
        ``restricted``), ``charger_id``.
    """
    columns = [
        "시도", "군구", "주소", "충전소명", "시설구분(대)", "시설구분(소)", "기종(대)", "기종(소)",
        "운영기관(대)", "운영기관(소)", "급속충전량", "충전기타입", "이용자제한", "충전기ID",
    ]
    raw = _read_source("ev_chargers", directory, columns, accept_changed=accept_changed)
    charger_class = raw["기종(대)"].map({"급속": "fast", "완속": "slow"})
    if charger_class.isna().any():
        bad = sorted(raw.loc[charger_class.isna(), "기종(대)"].astype(str).unique())[:5]
        raise DataSourceError(f"unexpected charger classes {bad} in the EV charger list (expected 급속/완속)")
    label = raw["급속충전량"].fillna(raw["기종(소)"]).astype(str)
    listed_kw = pd.to_numeric(label.str.extract(r"(\d+(?:\.\d+)?)\s*kW", expand=False), errors="coerce")
    assumed_kw = np.where(charger_class == "fast", ASSUMED_FAST_POWER_KW, ASSUMED_SLOW_POWER_KW)
    frame = pd.DataFrame(
        {
            "sido_name_ko": raw["시도"].astype("string").str.strip(),
            "sido_code": _sido_codes_from_address(raw["주소"], raw["시도"]),
            "sigungu_name_ko": raw["군구"].astype("string").str.strip(),
            "address": raw["주소"].astype("string"),
            "station_name": raw["충전소명"].astype("string"),
            "facility_group": raw["시설구분(대)"].astype("string"),
            "facility_type": raw["시설구분(소)"].astype("string"),
            "charger_class": charger_class.astype("category"),
            "charger_model": raw["기종(소)"].astype("string"),
            "connector": raw["충전기타입"].astype("string"),
            "operator_group": raw["운영기관(대)"].astype("string"),
            "operator": raw["운영기관(소)"].astype("string"),
            "power_kw": listed_kw.fillna(pd.Series(assumed_kw, index=raw.index)).astype("float64"),
            "power_kw_source": np.where(listed_kw.notna(), "listed", "assumed"),
            "access": raw["이용자제한"].map({"이용가능": "public", "이용자제한": "restricted"}).astype("string"),
            "charger_id": _counts(raw, ["충전기ID"], raw.attrs["path"], what="charger ids")["충전기ID"],
        }
    )
    frame["power_kw_source"] = frame["power_kw_source"].astype("category")
    return frame


def _rest_area_key(name: pd.Series) -> pd.Series:
    """Normalise a rest-area or fuel-station name for matching: drop suffixes and spaces."""
    key = name.astype(str).str.replace(r"\s+", "", regex=True)
    key = key.str.replace(r"(주유소|휴게소|충전소)$", "", regex=True)
    return key.str.replace(r"(주유소|휴게소)(?=\()", "", regex=True)


def load_rest_areas(*, directory: Path | str | None = None, accept_changed: bool = False) -> gpd.GeoDataFrame:
    """Load the 199 expressway rest areas, joined by name to the 2023 EV/H2 list.

    The 2023 fuel-station list has no coordinates; its names (``황전(광양)주유소``)
    are matched to rest-area names (``황전(광양)``) after dropping the
    ``주유소``/``휴게소`` suffix and spaces.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name``, ``road_type``, ``route_no``, ``route_name``, ``direction``,
        ``kind``, ``parking_spaces``, ``has_fuel``, ``has_lpg``, ``has_ev_2021``,
        ``phone``, ``matched_2023``, ``match_2023`` (``exact``, ``base_name`` for a
        match on the name without the bracketed direction, or missing), ``has_ev_2023``, ``has_h2_2023`` (nullable
        booleans: missing where unmatched), ``lon``, ``lat`` and points in EPSG:4326.
    """
    columns = ["휴게소명", "도로종류", "도로노선번호", "도로노선명", "도로노선방향", "위도", "경도", "휴게소종류",
               "주차면수", "주유소유무", "LPG충전소유무", "전기차충전소유무", "휴게소전화번호"]
    raw = _read_source("rest_areas", directory, columns, accept_changed=accept_changed)
    path = raw.attrs["path"]
    yes_no = {"Y": True, "N": False}
    frame = pd.DataFrame(
        {
            "name": raw["휴게소명"].astype("string").str.strip(),
            "road_type": raw["도로종류"].astype("string"),
            "route_no": pd.to_numeric(raw["도로노선번호"], errors="coerce").astype("Int64"),
            "route_name": raw["도로노선명"].astype("string"),
            "direction": raw["도로노선방향"].astype("string"),
            "kind": raw["휴게소종류"].astype("string"),
            "parking_spaces": pd.to_numeric(raw["주차면수"], errors="coerce").astype("Int64"),
            "has_fuel": raw["주유소유무"].map(yes_no).astype("boolean"),
            "has_lpg": raw["LPG충전소유무"].map(yes_no).astype("boolean"),
            "has_ev_2021": raw["전기차충전소유무"].map(yes_no).astype("boolean"),
            "phone": raw["휴게소전화번호"].astype("string"),
            "lon": raw["경도"],
            "lat": raw["위도"],
        }
    )
    fuel = _read_source("rest_area_fuel", directory, ["주유소명", "전화번호", "전기차 충전소", "수소차 충전소"],
                        accept_changed=accept_changed)
    o_x = {"O": True, "X": False}
    fuel = pd.DataFrame(
        {
            "key": _rest_area_key(fuel["주유소명"]),
            "has_ev_2023": fuel["전기차 충전소"].astype(str).str.strip().map(o_x),
            "has_h2_2023": fuel["수소차 충전소"].astype(str).str.strip().map(o_x),
        }
    ).drop_duplicates("key")
    # Second pass on the name without the direction in brackets, used only where
    # every fuel station of that base name agrees on both flags.
    fuel["base"] = fuel["key"].str.replace(r"\(.*\)$", "", regex=True)
    agree = fuel.groupby("base")[["has_ev_2023", "has_h2_2023"]].nunique().eq(1).all(axis=1)
    by_base = fuel[fuel["base"].isin(agree[agree].index)].drop_duplicates("base")
    frame["key"] = _rest_area_key(frame["name"])
    frame["base"] = frame["key"].str.replace(r"\(.*\)$", "", regex=True)
    exact = frame.merge(fuel.drop(columns="base"), on="key", how="left")
    loose = frame[["base"]].merge(by_base.drop(columns="key"), on="base", how="left")
    frame = exact.drop(columns=["key", "base"])
    frame["match_2023"] = np.where(exact["has_ev_2023"].notna(), "exact", None)
    for column in ("has_ev_2023", "has_h2_2023"):
        fill = frame[column].isna() & loose[column].notna()
        frame.loc[fill, column] = loose.loc[fill, column]
        frame.loc[fill, "match_2023"] = "base_name"
    frame["match_2023"] = frame["match_2023"].astype("string")
    frame["matched_2023"] = frame["has_ev_2023"].notna()
    for column in ("has_ev_2023", "has_h2_2023"):
        frame[column] = frame[column].astype("boolean")
    return _points(frame, path=path, lon_column="경도", lat_column="위도")


# --------------------------------------------------------------------------- fleet


def load_national_fleet_stock(*, directory: Path | str | None = None, accept_changed: bool = False) -> pd.DataFrame:
    """Load the national year-end stock of EVs and fuel-cell cars, 2014-2025.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``ev_stock`` and ``fcev_stock`` (vehicles), ``source``.

    Raises
    ------
    DataSourceError
        On a non-numeric, empty, negative or fractional count, a repeated year, a year
        outside :data:`FIRST_YEAR`-:data:`LAST_YEAR`, a stock above every vehicle
        registered in Korea, or a year-over-year jump of x20 or more (or a halving).
    """
    columns = ["year_end", "ev_stock", "fcev_stock", "source"]
    raw = _read_source("national_fleet_stock", directory, columns, accept_changed=accept_changed)
    path = raw.attrs["path"]
    counts = _counts(raw, ["year_end", "ev_stock", "fcev_stock"], path)
    _no_duplicates(counts, ["year_end"], path)
    frame = pd.DataFrame(
        {
            "year": counts["year_end"],
            "ev_stock": counts["ev_stock"],
            "fcev_stock": counts["fcev_stock"],
            "source": raw["source"].astype("string"),
        }
    ).sort_values("year", ignore_index=True)
    _check_national_stock(frame, path)
    return frame


def _check_national_stock(frame: pd.DataFrame, path: Path | str) -> None:
    """Refuse years out of range, stocks above every registered vehicle and implausible jumps."""
    problems = [p for p in (check_year(int(y), what="year_end") for y in frame["year"]) if p][:3]
    for row in frame.itertuples():
        if not problems:
            both = row.ev_stock + row.fcev_stock
            total, table_year = registered_vehicles(int(row.year))
            if both > total:
                problems.append(f"{row.year}: {both:,} EVs and fuel-cell cars, more than the {total:,} vehicles of "
                                f"all kinds registered in Korea at the end of {table_year} "
                                "(data/registered_vehicles.csv)")
    for column in ("ev_stock", "fcev_stock"):
        values = frame[column].to_numpy()
        for i in range(1, len(values)):
            before, after = int(values[i - 1]), int(values[i])
            if before < 100:
                continue
            ratio = after / before
            if ratio >= MAX_STOCK_GROWTH_PER_YEAR or ratio < MIN_STOCK_RATIO_PER_YEAR:
                problems.append(f"{column} goes from {before:,} ({frame['year'].iloc[i - 1]}) to {after:,} "
                                f"({frame['year'].iloc[i]}), x{ratio:.3g} in a year; a plausible change is "
                                f"x{MIN_STOCK_RATIO_PER_YEAR:g} to x{MAX_STOCK_GROWTH_PER_YEAR:g}")
    if problems:
        raise DataSourceError(f"{path}: implausible national stock: " + "; ".join(problems[:4])
                              + ". A row was mistyped or the table multiplied; correct it or restore the original "
                              "file (see data/sources.toml).")


def load_ev_stock_sido_monthly(*, directory: Path | str | None = None, accept_changed: bool = False) -> pd.DataFrame:
    """Load the monthly EV stock by province (17 sido), 2018-12 to 2025-02.

    Returns
    -------
    pandas.DataFrame
        Long table: ``month`` (first day of the month), ``sido_name_ko``,
        ``sido_code``, ``ev_stock`` (vehicles).

    Raises
    ------
    DataSourceError
        If a month's provinces do not add up to the file's own ``sum17`` column.
    """
    sido = load_sido_table()["name_ko_short"].tolist()
    raw = _read_source("ev_stock_sido_monthly", directory, ["date", *sido, "sum17"], accept_changed=accept_changed)
    path = raw.attrs["path"]
    counts = _counts(raw, [*sido, "sum17"], path)
    months = pd.to_datetime(raw["date"], format="%Y-%m", errors="coerce")
    if months.isna().any():
        bad_dates = raw.loc[months.isna(), "date"].tolist()[:5]
        raise DataSourceError(f"{path}: the 'date' column has values that are not months written YYYY-MM: "
                              f"{bad_dates}; correct them or restore the original file (see data/sources.toml).")
    counts["date"] = raw["date"]
    _no_duplicates(counts, ["date"], path)
    years = [p for p in (check_year(int(y), what="month of") for y in months.dt.year.unique()) if p]
    if years:
        raise DataSourceError(f"{path}: {years[0]}; correct the 'date' column.")
    total = counts[sido].sum(axis=1)
    bad = raw.loc[total != counts["sum17"], "date"].tolist()
    if bad:
        raise DataSourceError(f"{path}: the provinces do not add up to sum17 for {bad[:5]}; the file is corrupt. "
                              "Restore the original file (see data/sources.toml).")
    for month, national in zip(raw["date"], counts["sum17"], strict=True):
        problem = fleet_size_problem(float(national), year=int(str(month)[:4]), what=f"EV stock of {month}")
        if problem:
            raise DataSourceError(f"{path}: {problem}. Correct the row or restore the original file.")
    long = counts.melt(id_vars=["date"], value_vars=sido, var_name="sido_name_ko", value_name="ev_stock")
    long["month"] = pd.to_datetime(long.pop("date"), format="%Y-%m")
    long["sido_code"] = _sido_codes(long["sido_name_ko"])
    long["ev_stock"] = long["ev_stock"].astype("int64")
    return long[["month", "sido_name_ko", "sido_code", "ev_stock"]].sort_values(
        ["month", "sido_code"], ignore_index=True
    )


def load_ev_fcev_stock_sido(*, directory: Path | str | None = None, accept_changed: bool = False) -> pd.DataFrame:
    """Load EVs (2023-12) and fuel-cell cars (2023-12, 2024-08) by province.

    Returns
    -------
    pandas.DataFrame
        Long table: ``sido_name_ko``, ``sido_code``, ``vehicle`` (``ev`` / ``fcev``),
        ``month``, ``stock`` (vehicles).
    """
    series = ["ev_2023_12", "fcev_2023_12", "fcev_2024_08"]
    raw = _read_source("ev_fcev_stock_sido", directory, ["sido", *series], accept_changed=accept_changed)
    path = raw.attrs["path"]
    counts = _counts(raw, series, path)
    counts.insert(0, "sido", raw["sido"])
    counts["sido_code"] = _sido_codes(raw["sido"])
    _no_duplicates(counts, ["sido_code"], path)
    for column in series:
        problem = fleet_size_problem(float(counts[column].sum()), year=int(column.split("_")[1]),
                                     what=f"the provinces' {column}")
        if problem:
            raise DataSourceError(f"{path}: {problem}. Correct the column or restore the original file.")
    long = counts.drop(columns="sido_code").melt(id_vars=["sido"], var_name="series", value_name="stock")
    parts = long["series"].str.extract(r"(?P<vehicle>ev|fcev)_(?P<y>\d{4})_(?P<m>\d{2})")
    frame = pd.DataFrame(
        {
            "sido_name_ko": long["sido"].astype("string"),
            "sido_code": _sido_codes(long["sido"]),
            "vehicle": parts["vehicle"].astype("string"),
            "month": pd.to_datetime(parts["y"] + "-" + parts["m"] + "-01"),
            "stock": long["stock"].astype("int64"),
        }
    )
    return frame.sort_values(["vehicle", "month", "sido_code"], ignore_index=True)


def load_ev_registrations_sigungu(*, directory: Path | str | None = None, accept_changed: bool = False) -> pd.DataFrame:
    """Load EVs by sigungu, use and vehicle type (2025-04; 719,039 vehicles in all).

    The region label (``서울 중구``, ``경기 수원시 장안구``) is split into a province
    and a sigungu name; ``sido_code`` comes from the province. Sigungu codes are
    attached by :func:`mobility_plan.census.attach_sigungu_codes`.

    Returns
    -------
    pandas.DataFrame
        ``sido_name_ko``, ``sido_code``, ``sigungu_name_ko``, ``use``
        (``business`` / ``non_business``), ``passenger``, ``van``, ``truck``,
        ``special``, ``total`` (vehicles).
    """
    columns = ["시군구별", "연료별", "용도별", "승용", "승합", "화물", "특수", "계"]
    raw = _read_source("ev_registrations_sigungu", directory, columns, accept_changed=accept_changed)
    path = raw.attrs["path"]
    _no_duplicates(raw, ["시군구별", "용도별"], path)
    label = raw["시군구별"].astype(str).str.strip().str.split(n=1, expand=True)
    counts = {"passenger": "승용", "van": "승합", "truck": "화물", "special": "특수", "total": "계"}
    frame = pd.DataFrame(
        {
            "sido_name_ko": label[0].astype("string"),
            "sido_code": _sido_codes(label[0]),
            "sigungu_name_ko": label[1].astype("string"),
            "use": raw["용도별"].map({"사업용": "business", "비사업용": "non_business"}).astype("string"),
        }
    )
    numbers = _counts(raw, list(counts.values()), path)
    for name, column in counts.items():
        frame[name] = numbers[column]
    parts = frame[["passenger", "van", "truck", "special"]].sum(axis=1)
    if (parts != frame["total"]).any():
        raise DataSourceError(f"{path}: vehicle types do not add up to the total (lines "
                              f"{_file_rows(frame.index[parts != frame['total']])[:5]}); the file is corrupt. "
                              "Restore the original file (see data/sources.toml).")
    problem = fleet_size_problem(float(frame["total"].sum()), year=2025, what="the registered EVs")
    if problem:
        raise DataSourceError(f"{path}: {problem}. Restore the original file (see data/sources.toml).")
    return frame


# --------------------------------------------------------------------------- traffic


def load_tollgate_od(*, directory: Path | str | None = None, accept_changed: bool = False) -> pd.DataFrame:
    """Load toll-gate origin-destination daily volumes, October 2022.

    Returns
    -------
    pandas.DataFrame
        Long table: ``date``, ``origin_gate_code``, ``origin_gate_name``,
        ``destination_gate_code``, ``destination_gate_name``, ``direction``
        (``to_destination``: traffic from origin to destination; ``to_origin``: the
        reverse), ``vehicle_class`` (1-6), ``vehicles`` (vehicles/day).

    Raises
    ------
    DataSourceError
        If a row's classes do not add up to its published total.
    """
    directions = {"to_destination": "도착지방향", "to_origin": "출발지방향"}
    class_cols = {d: [f"{p}{k}종교통량" for k in range(1, 7)] for d, p in directions.items()}
    total_cols = {d: f"{p}총교통량" for d, p in directions.items()}
    keys = ["집계일자", "출발영업소코드", "도착영업소코드", "출발영업소명", "도착영업소명"]
    needed = keys + [c for cols in class_cols.values() for c in cols] + list(total_cols.values())
    raw = _read_source("tollgate_od", directory, needed, accept_changed=accept_changed)
    path = raw.attrs["path"]
    numeric = ["출발영업소코드", "도착영업소코드", *[c for cols in class_cols.values() for c in cols],
               *total_cols.values()]
    counts = _counts(raw, numeric, path)
    dates = pd.to_datetime(raw["집계일자"].astype(str), format="%Y%m%d", errors="coerce")
    if dates.isna().any():
        raise DataSourceError(f"{path}: '집계일자' has values that are not dates written YYYYMMDD: "
                              f"{raw.loc[dates.isna(), '집계일자'].tolist()[:5]}; restore the original file.")
    counts["집계일자"] = dates
    _no_duplicates(counts, ["집계일자", "출발영업소코드", "도착영업소코드"], path)
    for direction, cols in class_cols.items():
        if (counts[cols].sum(axis=1) != counts[total_cols[direction]]).any():
            raise DataSourceError(f"{path}: classes do not add up to {total_cols[direction]}; the file is corrupt. "
                                  "Restore the original file (see data/sources.toml).")
    base = pd.DataFrame(
        {
            "date": dates,
            "origin_gate_code": counts["출발영업소코드"],
            "origin_gate_name": raw["출발영업소명"].astype("string"),
            "destination_gate_code": counts["도착영업소코드"],
            "destination_gate_name": raw["도착영업소명"].astype("string"),
        }
    )
    parts = []
    for direction, cols in class_cols.items():
        for vehicle_class, column in enumerate(cols, start=1):
            part = base.copy()
            part["direction"] = direction
            part["vehicle_class"] = np.int8(vehicle_class)
            part["vehicles"] = counts[column].to_numpy()
            parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame["direction"] = frame["direction"].astype("category")
    return frame.sort_values(
        ["date", "origin_gate_code", "destination_gate_code", "direction", "vehicle_class"], ignore_index=True
    )
