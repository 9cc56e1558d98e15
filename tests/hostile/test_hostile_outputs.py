"""Hostile output paths: every case runs the real command line and asserts a clear error (or an honest result)
and that nothing outside the run's own output folder changed.

The data directory used here is a copy of the shared one (``MOBILITY_PLAN_DATA_DIR``): a bug that writes
into it must not destroy the real datasets.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mobility_plan import ValidationError
from mobility_plan._io import MANIFEST_NAME
from mobility_plan.data import PROJECT_DATA, data_dir

from .conftest import assert_clear_error, tree_state

pytestmark = pytest.mark.slow

# main() of the CLI with the output layer holding its lock until a file appears (a long run, made visible)
HOLDING_CLI = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mobility_plan import _io
    from mobility_plan.cli import main
    signal_file = Path(sys.argv[1])
    def checkpoint(name):
        if name == "locked":
            signal_file.with_suffix(".held").write_text("held")
            while not signal_file.exists():
                time.sleep(0.05)
    _io._checkpoint = checkpoint
    sys.exit(main(sys.argv[2:]))
""")


@pytest.fixture(scope="module")
def data_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("data") / "data"
    shutil.copytree(data_dir(), copy)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return copy


@pytest.fixture(scope="module")
def made_plan(tmp_path_factory, data_copy) -> Path:
    """A folder written by a real ``mobility-plan plan`` run (copied by the tests that need one)."""
    where = tmp_path_factory.mktemp("made")
    env = dict(os.environ, MOBILITY_PLAN_DATA_DIR=str(data_copy), MOBILITY_PLAN_CACHE_DIR=str(where / "cache"))
    result = subprocess.run([sys.executable, "-m", "mobility_plan.cli", "plan", "korea_2022_backcast", "--out",
                             str(where / "plan"), "--quiet"], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    return where / "plan"


@pytest.fixture
def env(data_copy, tmp_path) -> dict[str, str]:
    # the tool's own cache (data checksums, plans) lives beside the test's folder, not in it
    return {"MOBILITY_PLAN_DATA_DIR": str(data_copy), "MOBILITY_PLAN_CACHE_DIR": str(tmp_path.parent / f"{tmp_path.name}-cache")}


@pytest.fixture
def snapshot(tmp_path, data_copy):
    """Call it once the test's files are laid out: it returns a check that nothing changed since, in the test's
    folder (but ``except_under``, the run's own output folder), the data directory or the project's tables."""

    def take():
        roots = {"tmp": tmp_path, "data": data_copy, "tables": PROJECT_DATA}
        states = {name: tree_state(root) for name, root in roots.items()}

        def unchanged(*, except_under: Path | None = None, only: tuple[str, ...] = ("tmp", "data", "tables")) -> None:
            for name, root in roots.items():
                if name not in only:
                    continue
                now, then = tree_state(root), states[name]
                if except_under is not None and name == "tmp":
                    prefix = str(except_under.relative_to(root))
                    now = {k: v for k, v in now.items() if not (k == prefix or k.startswith(prefix + os.sep))}
                    then = {k: v for k, v in then.items() if not (k == prefix or k.startswith(prefix + os.sep))}
                assert now == then, f"files changed under {root}: {sorted(set(now) ^ set(then))[:10]}"

        return unchanged

    return take


def _verified(folder: Path) -> bool:
    """``folder`` holds exactly the files its manifest names, with their sizes and SHA-256."""
    manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
                     and p.name != MANIFEST_NAME)
    if on_disk != [entry["path"] for entry in manifest["files"]]:
        return False
    return all(hashlib.sha256((folder / e["path"]).read_bytes()).hexdigest() == e["sha256"] for e in manifest["files"])


def _user_folder(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / "thesis.docx").write_bytes(b"years of work")
    (where / "photos").mkdir()
    (where / "photos" / "a.jpg").write_bytes(b"\xff\xd8 jpeg")
    return where


def _scenario(path: Path, name: str) -> Path:
    text = (PROJECT_DATA / "scenarios" / "korea_2022_backcast.toml").read_text(encoding="utf-8")
    path.write_text(text.replace('name = "korea_2022_backcast"', f"name = {json.dumps(name)}"), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the data directory


def test_out_is_the_data_directory(run_cli, env, data_copy, snapshot):
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(data_copy), "--overwrite", env=env)
    assert_clear_error(result, "data directory", "never written there")
    unchanged()


def test_out_inside_the_data_directory(run_cli, env, data_copy, snapshot):
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(data_copy / "osm" / "plan"), env=env)
    assert_clear_error(result, "inside the data directory")
    unchanged()
    assert not (data_copy / "osm" / "plan").exists()


def test_out_holds_the_data_directory(run_cli, env, data_copy, snapshot):
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(data_copy.parent), "--overwrite", env=env)
    assert_clear_error(result, "holds the data directory")
    unchanged()


def test_out_is_the_project_tables(run_cli, env, snapshot):
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(PROJECT_DATA), "--overwrite", env=env)
    assert_clear_error(result, "project's own tables")
    unchanged()


def test_out_is_a_symlink_to_the_data_directory(run_cli, env, data_copy, tmp_path, snapshot):
    (tmp_path / "link").symlink_to(data_copy)
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(tmp_path / "link"), "--overwrite", env=env)
    assert_clear_error(result, "symbolic link")
    result = run_cli("plan", "korea_2022_backcast", "--out", str(tmp_path / "link" / "plan"), env=env)
    assert_clear_error(result, "inside the data directory")
    unchanged()


def test_sweep_out_in_the_data_directory_is_refused_before_any_run(run_cli, env, data_copy, snapshot):
    unchanged = snapshot()
    result = run_cli("sweep", "h2_range_stations", "--out", str(data_copy / "sweep"), "--workers", "0", env=env)
    assert_clear_error(result, "inside the data directory")
    unchanged()


def test_costs_out_in_the_data_directory(run_cli, env, data_copy, tmp_path, snapshot):
    points = tmp_path / "p.csv"
    points.write_text("node\n1\n2\n", encoding="utf-8")
    before_points = tree_state(tmp_path)
    unchanged = snapshot()
    result = run_cli("costs", str(data_copy / "expressway_2011"), "--origins", str(points), "--destinations",
                     str(points), "--out", str(data_copy / "expressway_2011" / "od.npz"), env=env)
    assert_clear_error(result, "inside the data directory")
    assert tree_state(tmp_path) == before_points
    unchanged()


def test_plan_cache_inside_the_data_directory(monkeypatch, data_copy, snapshot):
    from mobility_plan.plan import cached_plan

    monkeypatch.setenv("MOBILITY_PLAN_DATA_DIR", str(data_copy))
    monkeypatch.setenv("MOBILITY_PLAN_CACHE_DIR", str(data_copy / "cache"))
    unchanged = snapshot()
    with pytest.raises(ValidationError, match="inside the data directory"):
        cached_plan("korea_2022_backcast")
    unchanged()


# --------------------------------------------------------------------------- folders the tool did not write


def test_out_holds_user_files_with_overwrite(run_cli, env, tmp_path, snapshot):
    mine = _user_folder(tmp_path / "Documents")
    before_mine = tree_state(mine)
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(mine), "--overwrite", env=env)
    assert_clear_error(result, "not written by mobility-plan", "--overwrite replaces only")
    assert tree_state(mine) == before_mine
    unchanged()


def test_out_holds_user_files_without_overwrite(run_cli, env, tmp_path, snapshot):
    mine = _user_folder(tmp_path / "Documents")
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(mine), env=env)
    assert_clear_error(result, "not empty", "--overwrite")
    unchanged()


def test_tool_folder_with_a_user_file_added(run_cli, env, tmp_path, made_plan, snapshot):
    out = tmp_path / "plan"
    shutil.copytree(made_plan, out)
    (out / "my_notes.md").write_text("do not lose", encoding="utf-8")
    kept = tree_state(out)
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(out), "--overwrite", env=env)
    assert_clear_error(result, "my_notes.md", "did not write")
    assert tree_state(out) == kept
    unchanged()


def test_tool_folder_is_replaced_with_byte_identical_outputs(run_cli, env, tmp_path, made_plan, snapshot):
    out = tmp_path / "plan"
    shutil.copytree(made_plan, out)
    kept = tree_state(out)
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(out), "--overwrite", "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert tree_state(out) == kept and _verified(out)  # same bytes, manifest included
    unchanged(except_under=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "plan"]  # no lock, staging or backup left


def test_sweep_out_holds_user_files(run_cli, env, tmp_path, snapshot):
    mine = _user_folder(tmp_path / "results")
    unchanged = snapshot()
    result = run_cli("sweep", "h2_range_stations", "--out", str(mine), "--overwrite", "--workers", "0", env=env)
    assert_clear_error(result, "not written by mobility-plan")
    unchanged()


def test_costs_overwrite_of_a_foreign_file(run_cli, env, data_copy, tmp_path, snapshot):
    points = tmp_path / "p.csv"
    points.write_text("node\n1\n2\n", encoding="utf-8")
    foreign = tmp_path / "od.npz"
    foreign.write_bytes(b"PK\x03\x04 someone else's archive")
    unchanged = snapshot()
    result = run_cli("costs", str(data_copy / "expressway_2011"), "--origins", str(points), "--destinations",
                     str(points), "--out", str(foreign), "--overwrite", env=env)
    assert_clear_error(result, "not written by mobility-plan")
    unchanged()


def test_costs_overwrite_of_its_own_file_works(run_cli, env, data_copy, tmp_path, snapshot):
    points = tmp_path / "p.csv"
    points.write_text("node\n1\n2\n", encoding="utf-8")
    out = tmp_path / "od.npz"
    args = ("costs", str(data_copy / "expressway_2011"), "--origins", str(points), "--destinations", str(points),
            "--out", str(out))
    unchanged = snapshot()
    assert run_cli(*args, env=env).returncode == 0
    first = out.read_bytes()
    result = run_cli(*args, "--overwrite", "--weight", "length", env=env)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() != first and sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "od.npz", "p.csv"]
    unchanged(except_under=out)


def test_costs_out_is_a_folder(run_cli, env, data_copy, tmp_path, snapshot):
    points = tmp_path / "p.csv"
    points.write_text("node\n1\n2\n", encoding="utf-8")
    (tmp_path / "od.npz").mkdir()
    (tmp_path / "od.npz" / "keep.txt").write_text("keep", encoding="utf-8")
    unchanged = snapshot()
    result = run_cli("costs", str(data_copy / "expressway_2011"), "--origins", str(points), "--destinations",
                     str(points), "--out", str(tmp_path / "od.npz"), "--overwrite", env=env)
    assert_clear_error(result, "is a folder")
    unchanged()


# --------------------------------------------------------------------------- names and paths


def test_out_is_dot(run_cli, env, tmp_path, snapshot):
    cwd = _user_folder(tmp_path / "project")
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", ".", "--overwrite", env=env, cwd=cwd)
    assert_clear_error(result, "not a folder or file name")
    unchanged()


def test_out_is_dotdot_or_the_current_folder_by_path(run_cli, env, tmp_path, snapshot):
    cwd = _user_folder(tmp_path / "project" / "inner")
    unchanged = snapshot()
    assert_clear_error(run_cli("plan", "korea_2022_backcast", "--out", "..", "--overwrite", env=env, cwd=cwd),
                       "not a folder or file name")
    assert_clear_error(run_cli("plan", "korea_2022_backcast", "--out", str(cwd), "--overwrite", env=env, cwd=cwd),
                       "current folder")
    assert_clear_error(run_cli("plan", "korea_2022_backcast", "--out", str(cwd.parent), "--overwrite", env=env,
                               cwd=cwd), "current folder")
    unchanged()


def test_out_is_a_file(run_cli, env, tmp_path, snapshot):
    (tmp_path / "result").write_text("a file", encoding="utf-8")
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(tmp_path / "result"), "--overwrite", env=env)
    assert_clear_error(result, "is a file")
    unchanged()


def test_out_under_a_file(run_cli, env, tmp_path, snapshot):
    (tmp_path / "result").write_text("a file", encoding="utf-8")
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(tmp_path / "result" / "plan"), env=env)
    assert_clear_error(result, "cannot write into")
    unchanged()


def test_out_on_a_read_only_file_system(run_cli, env, snapshot):
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", "/proc/self/plan", env=env)
    assert_clear_error(result, "cannot write into")
    unchanged()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the /proc case covers root")
def test_out_in_a_read_only_folder(run_cli, env, tmp_path, snapshot):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        unchanged = snapshot()
        result = run_cli("plan", "korea_2022_backcast", "--out", str(locked / "plan"), env=env)
        assert_clear_error(result, "cannot write into")
    finally:
        locked.chmod(0o755)
    unchanged()


def test_out_with_a_very_long_name(run_cli, env, tmp_path, snapshot):
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(tmp_path / ("n" * 250)), env=env)
    assert_clear_error(result, "250 bytes long")
    unchanged()


def test_out_with_a_very_long_path(run_cli, env, tmp_path, snapshot):
    deep = tmp_path.joinpath(*(["d" * 100] * 40), "plan")
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(deep), env=env)
    assert_clear_error(result, "use a shorter one")
    unchanged()
    assert not (tmp_path / ("d" * 100)).exists()


def test_scenario_name_traversal(run_cli, env, tmp_path, snapshot):
    first = _scenario(tmp_path / "a.toml", "../../escaped")
    second = _scenario(tmp_path / "b.toml", "fine")
    base = tmp_path / "runs" / "base"
    unchanged = snapshot()
    result = run_cli("plan", str(first), str(second), "--out", str(base), "--overwrite", env=env)
    assert_clear_error(result, "name")
    unchanged()
    assert not (tmp_path / "escaped").exists() and not base.exists()


def test_scenario_name_absolute_path(run_cli, env, tmp_path, snapshot):
    first = _scenario(tmp_path / "a.toml", str(tmp_path / "victim"))
    second = _scenario(tmp_path / "b.toml", "fine")
    victim = _user_folder(tmp_path / "victim")
    kept = tree_state(victim)
    unchanged = snapshot()
    result = run_cli("plan", str(first), str(second), "--out", str(tmp_path / "base"), "--overwrite", env=env)
    assert_clear_error(result, "name")
    assert tree_state(victim) == kept
    unchanged()


def test_two_scenarios_with_one_name(run_cli, env, tmp_path, snapshot):
    first = _scenario(tmp_path / "a.toml", "same")
    second = _scenario(tmp_path / "b.toml", "same")
    unchanged = snapshot()
    result = run_cli("plan", str(first), str(second), "--out", str(tmp_path / "base"), env=env)
    assert_clear_error(result, "more than once")
    unchanged()


def test_symlinked_out_to_a_user_folder(run_cli, env, tmp_path, snapshot):
    mine = _user_folder(tmp_path / "Documents")
    (tmp_path / "out").symlink_to(mine)
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(tmp_path / "out"), "--overwrite", env=env)
    assert_clear_error(result, "symbolic link")
    unchanged()
    assert (tmp_path / "out").is_symlink()


# --------------------------------------------------------------------------- concurrent runs and leftovers


def test_concurrent_runs_into_one_folder(run_cli, env, tmp_path, tmp_path_factory, snapshot):
    out = tmp_path / "plan"
    go = tmp_path_factory.mktemp("signals") / "go.signal"  # outside the watched folder
    unchanged = snapshot()
    first = subprocess.Popen([sys.executable, "-c", HOLDING_CLI, str(go), "plan", "korea_2022_backcast", "--out",
                              str(out), "--quiet"], env=dict(os.environ, **env), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not go.with_suffix(".held").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert go.with_suffix(".held").exists(), "the first run never took the folder"
        second = run_cli("plan", "korea_2022_backcast", "--out", str(out), "--overwrite", env=env)
        assert_clear_error(second, f"another mobility-plan run (process {first.pid}) is writing")
    finally:
        go.write_text("go", encoding="utf-8")
        stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr
    assert _verified(out)  # the first run's result is whole, not lost
    unchanged(except_under=out)


def test_leftover_backup_is_restored_and_said(run_cli, env, tmp_path, made_plan, snapshot):
    shutil.copytree(made_plan, tmp_path / ".plan.old")  # a run killed between the two renames of its swap
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(tmp_path / "plan"), env=env)
    output = assert_clear_error(result, "not empty", "--overwrite")  # restored, then not replaced without --overwrite
    assert "note:" in output and "restored it" in output
    assert _verified(tmp_path / "plan") and not (tmp_path / ".plan.old").exists()
    unchanged(only=("data", "tables"))


def test_leftover_staging_folders_are_removed_and_said(run_cli, env, tmp_path, made_plan, snapshot):
    out = tmp_path / "plan"
    shutil.copytree(made_plan, out)
    shutil.copytree(made_plan, tmp_path / ".plan.staging-abcd1234")  # an old folder swapped out, then killed
    (tmp_path / ".plan.staging-zz_99xyz").mkdir()  # a staging folder of a run killed while writing
    (tmp_path / ".plan.lock").write_text("12345\n", encoding="utf-8")  # the lock file of a killed run
    unchanged = snapshot()
    result = run_cli("plan", "korea_2022_backcast", "--out", str(out), "--overwrite", "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert "note: removed 2 unfinished staging folder(s)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "plan"] and _verified(out)
    unchanged(only=("data", "tables"))


def test_sigkill_while_writing_an_overwrite_leaves_a_whole_folder(env, tmp_path, made_plan, snapshot):
    out = tmp_path / "plan"
    shutil.copytree(made_plan, out)
    old = tree_state(out)
    unchanged = snapshot()
    run = subprocess.Popen([sys.executable, "-m", "mobility_plan.cli", "plan", "korea_2022_backcast", "--out",
                            str(out), "--overwrite", "--quiet"], env=dict(os.environ, **env), cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while run.poll() is None and time.monotonic() < deadline:
        staging = [p for p in tmp_path.glob(".plan.staging-*") if any(p.iterdir())]
        if staging:
            os.kill(run.pid, signal.SIGKILL)  # the outputs are being written
            break
        time.sleep(0.01)
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL, "the run ended before it could be killed while writing"
    assert _verified(out) and tree_state(out) == old  # the whole old folder (the swap had not happened)
    assert [p.name for p in tmp_path.glob(".plan.staging-*")]  # its unfinished staging folder is left ...
    from mobility_plan._io import OutputNote, output_folder

    with pytest.warns(OutputNote, match="unfinished staging"):  # ... and removed by the next run, which says so
        with output_folder(out, overwrite=True, kind="plan"):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]
    unchanged(except_under=out)
