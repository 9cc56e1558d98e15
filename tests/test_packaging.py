"""Installable as a package: a real wheel, installed into a fresh virtual environment without the source tree,
runs a plan from another folder; the editable install and PYTHONPATH=src keep finding the tables."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from mobility_plan import data

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("regions_sido.csv", "sources.toml", "targets.csv", "vehicle_parameters.csv")


def _source_copy(destination: Path) -> Path:
    """The repository's files (tracked or new, not ignored) copied to ``destination``: builds never touch the tree."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return destination


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment less anything that would put the source tree on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "MOBILITY_PLAN_DATA_DIR")}
    env.update(extra)
    return env


def _fresh_venv(where: Path) -> Path:
    """A new virtual environment whose dependencies come from this (shared) one: nothing is downloaded.

    ``--system-site-packages`` alone would expose the base interpreter's packages, not this venv's, so
    a ``.pth`` line adds this venv's site-packages as a plain path (its own ``.pth`` files, such as an
    editable install of the repository, are not processed).
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(where)], check=True,
                   timeout=120)
    python = where / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "shared_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


def _pip(python: Path, *args: str, cwd: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), *args, "--no-index",
                             "--no-build-isolation", "--no-deps", "--ignore-installed", "--quiet"],
                            cwd=cwd, capture_output=True, text=True, timeout=300, env=_clean_env())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_wheel_installs_into_a_clean_venv_and_plans_from_another_folder(tmp_path, shared_data):
    source = _source_copy(tmp_path / "repo")
    wheels = tmp_path / "wheels"
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                             "--quiet", "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=300,
                            env=_clean_env())
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = wheels.glob("mobility_plan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for table in TABLES:
        assert f"mobility_plan/tables/{table}" in names
    shipped = {f"mobility_plan/tables/{p.relative_to(ROOT / 'data').as_posix()}"
               for p in (ROOT / "data").glob("*/*.toml") if p.parent.name in ("scenarios", "sweeps")}
    assert shipped and shipped <= names
    assert not [n for n in names if "/external/" in n or "/cache/" in n]  # the licensed data is never packaged
    packages = {p.parent.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src").rglob("__init__.py")}
    assert {f"{package}/__init__.py" for package in packages} <= names  # no subpackage left out of the list

    python = _fresh_venv(tmp_path / "venv")
    _pip(python, "install", str(wheel), cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _clean_env(MOBILITY_PLAN_DATA_DIR=str(shared_data), MOBILITY_PLAN_CACHE_DIR=str(tmp_path / "cache"))
    probe = subprocess.run(
        [str(python), "-c", "import mobility_plan, mobility_plan.data as d, mobility_plan.sweep as s; "
                            "print(mobility_plan.__file__); print(d.PROJECT_DATA); print(d.checkout_root()); "
                            "print(len(s.load_sweep('h2_range_stations').runs))"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    module, tables, checkout, runs = probe.stdout.split("\n")[:4]
    venv = str((tmp_path / "venv").resolve())
    assert module.startswith(venv) and tables.startswith(venv) and tables.endswith("mobility_plan/tables")
    assert checkout == "None" and runs == "16"

    cli = tmp_path / "venv" / "bin" / "mobility-plan"
    plan = subprocess.run([str(cli), "plan", "seoul_central_ev", "--out", "x", "--quiet"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert (elsewhere / "x" / "summary.json").is_file() and (elsewhere / "x" / "sites.geojson").stat().st_size > 1000
    # the installed tables are protected like the data directory
    refused = subprocess.run([str(cli), "plan", "seoul_central_ev", "--out", str(Path(tables) / "x")], cwd=elsewhere,
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "project's own tables" in refused.stderr
    # an installed package has no default data directory: a clear error, not a traceback
    env.pop("MOBILITY_PLAN_DATA_DIR")
    missing = subprocess.run([str(cli), "plan", "korea_2022_backcast", "--out", "y"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "set MOBILITY_PLAN_DATA_DIR" in missing.stderr
    assert not (elsewhere / "y").exists()


@pytest.mark.slow
def test_editable_install_reads_the_checkout_tables_and_the_shared_data_beside_it(tmp_path, shared_data):
    source = _source_copy(tmp_path / "repo")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data)  # "../shared/data beside the repository"
    python = _fresh_venv(tmp_path / "venv")
    _pip(python, "install", "-e", str(source), cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = subprocess.run(
        [str(python), "-c", "import mobility_plan.data as d, mobility_plan.scenario as s, importlib.resources as r; "
                            "print(d.PROJECT_DATA); print(d.data_dir()); "
                            "print(sorted(p.stem for p in s.shipped_scenarios())); print(r.files('mobility_plan.tables'))"],
        cwd=elsewhere, env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    tables, directory, scenarios, package_data = probe.stdout.split("\n")[:4]
    assert Path(tables) == (source / "data").resolve() == Path(package_data).resolve()  # package-dir maps data/
    assert Path(directory) == (tmp_path / "shared" / "data")
    assert "seoul_central_ev" in scenarios


def test_source_tree_on_pythonpath_reads_its_own_tables():
    # this suite itself runs with PYTHONPATH=src or an editable install: the tables are this checkout's data/
    assert data.checkout_root() == ROOT
    assert data.PROJECT_DATA == ROOT / "data" and all((data.PROJECT_DATA / t).is_file() for t in TABLES)
    result = subprocess.run([sys.executable, "-c", "import mobility_plan.data as d; print(d.PROJECT_DATA)"],
                            cwd="/", env=_clean_env(PYTHONPATH=str(ROOT / "src")), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and Path(result.stdout.strip()) == ROOT / "data"
