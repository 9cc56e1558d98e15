"""Outputs never destroy what the tool did not write: checks before the run, manifests, locks, swaps that
survive a SIGKILL at their most dangerous moments (real kills of real subprocesses), names that cannot escape."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from mobility_plan import ValidationError, data
from mobility_plan._io import (MANIFEST_NAME, OutputNote, check_output_dir, child_path, output_file, output_folder,
                               read_manifest)

# Writes a 3-file output folder with the real output layer; `_checkpoint` is replaced so that the
# process SIGKILLs itself at the named moment of the swap ("never" = no kill), and in "rename" mode
# the atomic exchange is unavailable, as on a system without renameat2.
WRITER = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from mobility_plan import _io
    point, out, mode, payload = sys.argv[1:5]
    if mode == "rename":
        _io._exchange = lambda a, b: False
    def checkpoint(name):
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)
        if name == "locked" and point == "hold":
            Path(out + ".held").write_text(str(os.getpid()))
            while not Path(out + ".go").exists():
                time.sleep(0.05)
    _io._checkpoint = checkpoint
    with _io.output_folder(out, overwrite=True, kind="test") as folder, folder.stage() as staging:
        for i in range(3):
            (staging / f"part{i}.txt").write_text(payload * (i + 1), encoding="utf-8")
    print("done")
""")


def _write(out: Path, payload: str, *, kill_at: str = "never", mode: str = "exchange") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WRITER, kill_at, str(out), mode, payload], capture_output=True,
                          text=True, timeout=120)


def _is_complete(folder: Path, payload: str) -> bool:
    """``folder`` holds the three files of one writer run with ``payload``, as its manifest lists them."""
    manifest = read_manifest(folder)
    if manifest is None:
        return False
    names = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST_NAME)
    return (names == ["part0.txt", "part1.txt", "part2.txt"]
            and [e["path"] for e in manifest["files"]] == names
            and all((folder / f"part{i}.txt").read_text(encoding="utf-8") == payload * (i + 1) for i in range(3)))


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


@pytest.fixture
def written(tmp_path):
    out = tmp_path / "out"
    result = _write(out, "old")
    assert result.returncode == 0, result.stderr
    assert _is_complete(out, "old")
    return out


# --------------------------------------------------------------------------- overwrite only what the tool wrote


def test_overwrite_replaces_a_tool_written_folder_and_refuses_anything_else(written, tmp_path):
    assert _write(written, "new").returncode == 0 and _is_complete(written, "new")
    assert _siblings(written) == ["out"]  # no staging folder, backup or lock left beside it
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(ValidationError, match="not written by mobility-plan"):
        check_output_dir(mine, overwrite=True)
    (written / "notes.txt").write_text("mine", encoding="utf-8")
    (written / "extra").mkdir()
    with pytest.raises(ValidationError, match=r"holds 2 file\(s\) mobility-plan did not write \(extra/, notes.txt\)"):
        check_output_dir(written, overwrite=True)
    result = _write(written, "newer")
    assert result.returncode == 1 and "did not write" in result.stderr
    assert (mine / "thesis.docx").read_bytes() == b"years of work"
    assert (written / "notes.txt").read_text(encoding="utf-8") == "mine" and _is_complete_but(written, "new")


def _is_complete_but(folder: Path, payload: str) -> bool:
    return all((folder / f"part{i}.txt").read_text(encoding="utf-8") == payload * (i + 1) for i in range(3))


def test_a_forged_or_broken_manifest_is_no_licence_to_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("x", encoding="utf-8")
    for text in ("not json", json.dumps({"files": []}), json.dumps(["mobility_plan"])):
        (out / MANIFEST_NAME).write_text(text, encoding="utf-8")
        with pytest.raises(ValidationError, match="not written by mobility-plan"):
            check_output_dir(out, overwrite=True)


def test_manifest_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert _write(first, "same").returncode == 0 and _write(second, "same").returncode == 0
    assert (first / MANIFEST_NAME).read_bytes() == (second / MANIFEST_NAME).read_bytes()
    manifest = read_manifest(first)
    assert manifest["kind"] == "test" and [e["bytes"] for e in manifest["files"]] == [4, 8, 12]


# --------------------------------------------------------------------------- never inside the data directory


def test_no_output_inside_or_around_the_data_directory_or_the_tables(tmp_path):
    shared = data.data_dir()
    for out in (shared, shared / "plan", shared / "osm" / "x", shared.parent, data.PROJECT_DATA,
                data.PROJECT_DATA / "scenarios" / "out"):
        with pytest.raises(ValidationError, match="data directory|project's own tables"):
            check_output_dir(out, overwrite=True)
    with pytest.raises(ValidationError, match="data directory"):
        check_output_file(shared / "od.npz", overwrite=True)


def check_output_file(out, *, overwrite):
    from mobility_plan._io import check_output_file as check

    return check(out, overwrite=overwrite, ours=lambda path: True)


def test_symlink_into_the_data_directory_is_refused(tmp_path):
    link = tmp_path / "out"
    link.symlink_to(data.data_dir())
    with pytest.raises(ValidationError, match="symbolic link"):
        check_output_dir(link, overwrite=True)
    inner = tmp_path / "via"
    inner.symlink_to(data.data_dir())
    with pytest.raises(ValidationError, match="inside the data directory"):
        check_output_dir(inner / "plan", overwrite=True)  # the parent's link is resolved


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["../../x", "..", ".", "", "a/b", "/etc", ".hidden", "a\\b", "x" * 201, "a\x00b",
                                  "-rf"])
def test_names_that_could_escape_or_hide_are_refused(tmp_path, name):
    with pytest.raises(ValidationError, match="cannot name a folder inside the output folder"):
        child_path(tmp_path, name, what="scenario name")


def test_identifier_names_are_kept(tmp_path):
    assert child_path(tmp_path, "korea_2030", what="x") == tmp_path / "korea_2030"
    assert child_path(tmp_path, "서울_2030-v1.2", what="x") == tmp_path / "서울_2030-v1.2"


@pytest.mark.parametrize("out, message", [
    (".", "not a folder or file name"), ("..", "not a folder or file name"), ("/", "not a folder or file name"),
    ("", "not a folder or file name"), ("x" * 230, "230 bytes long"), ("/proc/mobility_plan/x", "cannot write into"),
])
def test_bad_output_paths_are_named(tmp_path, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match=message):
        check_output_dir(out, overwrite=True)
    assert list(tmp_path.iterdir()) == []


def test_output_path_is_checked_before_the_long_run(tmp_path, monkeypatch):
    from mobility_plan import plan

    def work_started(*args, **kwargs):
        raise AssertionError("the plan started working before checking its output folder")

    monkeypatch.setattr(plan, "_national_fleet", work_started)
    for out in (tmp_path / ("y" * 230), "/proc/mobility_plan/x", data.data_dir() / "plan"):
        with pytest.raises(ValidationError):
            plan.run_plan("korea_2022_backcast", out, progress=False)
    with pytest.raises(AssertionError, match="started working"):  # a good folder does reach the work
        plan.run_plan("korea_2022_backcast", tmp_path / "ok", progress=False)
    assert not (tmp_path / "ok").exists() and list(tmp_path.iterdir()) == []


def test_cache_folder_in_the_data_directory_is_refused(monkeypatch):
    from mobility_plan.plan import cached_plan

    with pytest.raises(ValidationError, match="inside the data directory"):
        cached_plan("korea_2022_backcast", root=data.data_dir() / "cache")


# --------------------------------------------------------------------------- locks


def test_a_second_process_is_refused_while_the_first_writes(tmp_path):
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-c", WRITER, "hold", str(out), "exchange", "first"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        held = Path(f"{out}.held")
        deadline = time.monotonic() + 60
        while not held.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held.exists(), "the first writer never took the lock"
        second = _write(out, "second")
        assert second.returncode == 1
        assert f"another mobility-plan run (process {first.pid}) is writing" in second.stderr
        with pytest.raises(ValidationError, match="another mobility-plan run"):
            with output_folder(out, overwrite=True, kind="test"):
                pass
    finally:
        Path(f"{out}.go").write_text("go", encoding="utf-8")
        first.wait(timeout=60)
    assert first.returncode == 0 and _is_complete(out, "first")
    # the lock went with the first run: the next one gets in
    assert _write(out, "third").returncode == 0 and _is_complete(out, "third")


def test_a_waiting_claim_gets_the_folder_when_the_holder_exits(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", WRITER, "hold", str(out), "exchange", "first"])
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{out}.held").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(holder.pid, signal.SIGKILL)  # a killed holder frees its lock
        holder.wait(timeout=30)
        with output_folder(out, overwrite=True, kind="test", wait_s=30) as folder, folder.stage() as staging:
            (staging / "x.txt").write_text("x", encoding="utf-8")
    finally:
        if holder.poll() is None:
            holder.kill()
    assert read_manifest(out)["files"][0]["path"] == "x.txt"


# --------------------------------------------------------------------------- kills at the dangerous moments


@pytest.mark.parametrize("point, survivor", [("locked", "old"), ("before-swap", "old"), ("after-exchange", "new")])
def test_sigkill_during_an_atomic_swap_leaves_a_complete_folder(written, point, survivor):
    killed = _write(written, "new", kill_at=point)
    assert killed.returncode == -signal.SIGKILL
    assert _is_complete(written, survivor)  # at every moment the folder is a whole old or a whole new one
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutputNote)
        with output_folder(written, overwrite=True, kind="test") as folder:
            assert folder.path == written
    notes = [str(w.message) for w in caught if w.category is OutputNote]
    # killed before any staging folder existed: nothing to clean (a stale lock file is no leftover)
    assert len(notes) == (0 if point == "locked" else 1), notes
    assert _siblings(written) == ["out"]  # leftovers removed, lock gone
    assert _is_complete(written, survivor)


def test_sigkill_between_the_two_renames_is_restored_by_the_next_run(written):
    killed = _write(written, "new", kill_at="between-renames", mode="rename")
    assert killed.returncode == -signal.SIGKILL
    assert not written.exists() and _is_complete(written.parent / ".out.old", "old")
    result = _write(written, "newer", mode="rename")
    assert result.returncode == 0, result.stderr
    assert "restored it" in result.stderr and "OutputNote" in result.stderr
    assert _is_complete(written, "newer") and _siblings(written) == ["out"]
    # a claim alone restores the old folder and says so
    assert _write(written, "new", kill_at="between-renames", mode="rename").returncode == -signal.SIGKILL
    with pytest.warns(OutputNote, match="restored it"):
        with output_folder(written, overwrite=True, kind="test"):
            pass
    assert _is_complete(written, "newer") and _siblings(written) == ["out"]


def test_sigkill_after_the_two_renames_keeps_the_new_folder(written):
    killed = _write(written, "new", kill_at="after-renames", mode="rename")
    assert killed.returncode == -signal.SIGKILL and _is_complete(written, "new")
    with pytest.warns(OutputNote, match="removed .out.old"):
        with output_folder(written, overwrite=True, kind="test"):
            pass
    assert _siblings(written) == ["out"] and _is_complete(written, "new")


def test_leftovers_of_other_outputs_are_not_touched(written, tmp_path):
    for name in (".outer.old", ".out.staging-x", ".out.staging-abcd1234.keep", ".out.staging-abcd1234x"):
        (tmp_path / name).mkdir()
    (tmp_path / ".out.staging-abcd1234").mkdir()  # ours: removed
    with pytest.warns(OutputNote, match="1 unfinished staging folder"):
        with output_folder(written, overwrite=True, kind="test"):
            pass
    assert _siblings(written) == [".out.staging-abcd1234.keep", ".out.staging-abcd1234x", ".out.staging-x",
                                  ".outer.old", "out"]


# --------------------------------------------------------------------------- files


def test_output_file_replaces_only_its_own_files(tmp_path):
    target = tmp_path / "od.npz"
    target.write_bytes(b"someone's file")
    with pytest.raises(ValidationError, match="exists; pass --overwrite"):
        with output_file(target, overwrite=False, ours=lambda p: True):
            pass
    with pytest.raises(ValidationError, match="not written by mobility-plan"):
        with output_file(target, overwrite=True, ours=lambda p: False):
            pass
    folder = tmp_path / "dir.npz"
    folder.mkdir()
    with pytest.raises(ValidationError, match="is a folder"):
        with output_file(folder, overwrite=True, ours=lambda p: True):
            pass
    (tmp_path / ".od.npz.abcd1234.tmp").write_bytes(b"half")  # a killed atomic write
    with pytest.warns(OutputNote, match="half-written"):
        with output_file(target, overwrite=True, ours=lambda p: True) as claimed:
            assert claimed == target
    assert target.read_bytes() == b"someone's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.npz", "od.npz"]


# --------------------------------------------------------------------------- a real plan


@pytest.mark.slow
def test_plan_overwrite_keeps_outputs_byte_identical_and_the_manifest_exact(tmp_path):
    from mobility_plan.plan import run_plan

    out = tmp_path / "plan"
    first = run_plan("korea_2022_backcast", out, progress=False)
    before = {name: path.read_bytes() for name, path in first.files.items()}
    manifest = (out / MANIFEST_NAME).read_bytes()
    listed = [entry["path"] for entry in json.loads(manifest)["files"]]
    assert listed == sorted(first.files) and json.loads(manifest)["kind"] == "plan"
    second = run_plan("korea_2022_backcast", out, overwrite=True, progress=False)
    assert {name: path.read_bytes() for name, path in second.files.items()} == before
    assert (out / MANIFEST_NAME).read_bytes() == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]
