"""Files that appear, change or share a name with the tool's own during a run are never deleted or overwritten.

Each race is staged deterministically: the with-block body acts "during the run", and the ``_io._checkpoint``
hook acts at the named moment of the swap (after the last check, before the exchange; after the exchange)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from mobility_plan import MobilityPlanError, ValidationError
from mobility_plan import _io
from mobility_plan._io import (MANIFEST_NAME, OutputNote, atomic_path, check_output_dir, output_file, output_folder,
                               read_manifest)


def _write_folder(out: Path, payload: str, *, overwrite: bool = True, during=None) -> None:
    """Write a 3-file folder through the real output layer; ``during()`` runs while the run works."""
    with output_folder(out, overwrite=overwrite, kind="test") as folder, folder.stage() as staging:
        for i in range(3):
            (staging / f"part{i}.txt").write_text(payload * (i + 1), encoding="utf-8")
        if during is not None:
            during()


def _is_new(out: Path, payload: str) -> bool:
    return (read_manifest(out) is not None
            and all((out / f"part{i}.txt").read_text(encoding="utf-8") == payload * (i + 1) for i in range(3)))


@pytest.fixture
def at(monkeypatch):
    """``at("point", action)``: run ``action()`` when the swap reaches ``point`` (the test's hand at that moment)."""
    def install(point: str, action) -> None:
        def checkpoint(name: str) -> None:
            if name == point:
                action()
        monkeypatch.setattr(_io, "_checkpoint", checkpoint)
    return install


def _kept(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.kept-*"))


# --------------------------------------------------------------------------- 1. files that appear during the run


def test_a_file_saved_into_the_empty_output_folder_during_the_run_is_not_deleted(tmp_path):
    out = tmp_path / "results"
    out.mkdir()  # the user makes an empty folder and runs without --overwrite

    def save_draft():
        (out / "thesis_draft.docx").write_bytes(b"years of work")

    with pytest.raises(ValidationError, match="not empty"):
        _write_folder(out, "new", overwrite=False, during=save_draft)
    assert (out / "thesis_draft.docx").read_bytes() == b"years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no staging folder left


def test_a_folder_made_by_someone_during_a_run_on_a_new_path_is_not_swapped_out(tmp_path):
    out = tmp_path / "results"

    def make_it():
        out.mkdir()
        (out / "mine.csv").write_text("a,b\n", encoding="utf-8")

    with pytest.raises(ValidationError, match="not empty"):
        _write_folder(out, "new", overwrite=False, during=make_it)
    assert (out / "mine.csv").read_text(encoding="utf-8") == "a,b\n"
    with pytest.raises(ValidationError, match="not written by mobility-plan"):
        _write_folder(tmp_path / "other", "new", overwrite=True,
                      during=lambda: ((tmp_path / "other").mkdir(), (tmp_path / "other" / "x.txt").write_text("x")))
    assert (tmp_path / "other" / "x.txt").read_text() == "x"


def test_a_file_added_to_a_tool_folder_during_an_overwrite_run_is_not_deleted(tmp_path):
    out = tmp_path / "results"
    _write_folder(out, "old")
    with pytest.raises(ValidationError, match=r"did not write \(notes.txt\)"):
        _write_folder(out, "new", during=lambda: (out / "notes.txt").write_text("mine", encoding="utf-8"))
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine" and _is_new(out, "old")


def test_a_file_saved_after_the_last_check_is_kept_aside_and_named(tmp_path, at):
    out = tmp_path / "results"
    _write_folder(out, "old")
    at("before-exchange", lambda: (out / "thesis_draft.docx").write_bytes(b"years of work"))
    with pytest.warns(OutputNote, match=r"thesis_draft.docx.*\.results\.kept-"):
        _write_folder(out, "new")
    assert _is_new(out, "new") and not (out / "thesis_draft.docx").exists()
    [kept] = _kept(out)
    assert (kept / "thesis_draft.docx").read_bytes() == b"years of work"
    at("never", lambda: None)  # the next run, undisturbed, leaves the kept copy alone
    _write_folder(out, "newer")
    assert _kept(out) == [kept] and (kept / "thesis_draft.docx").read_bytes() == b"years of work"


def test_a_file_saved_into_an_empty_folder_after_the_last_check_is_kept(tmp_path, at):
    out = tmp_path / "results"
    out.mkdir()
    at("before-exchange", lambda: (out / "thesis_draft.docx").write_bytes(b"years of work"))
    with pytest.warns(OutputNote, match="thesis_draft.docx"):
        _write_folder(out, "new", overwrite=False)
    [kept] = _kept(out)
    assert (kept / "thesis_draft.docx").read_bytes() == b"years of work" and _is_new(out, "new")


def test_a_folder_made_after_the_last_check_on_a_new_path_is_not_replaced(tmp_path, at):
    out = tmp_path / "results"

    def make_it():
        out.mkdir()
        (out / "mine.csv").write_text("a,b\n", encoding="utf-8")

    at("before-exchange", make_it)
    with pytest.raises(MobilityPlanError, match="results"):
        _write_folder(out, "new", overwrite=False)
    assert sorted(p.name for p in out.iterdir()) == ["mine.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_a_staging_leftover_holding_a_foreign_file_is_kept_by_the_next_run(tmp_path):
    """Killed right after the exchange: the swapped-out copy, with the user's file, must survive recovery."""
    out = tmp_path / "results"
    _write_folder(out, "old")
    swapped_out = tmp_path / ".results.staging-abcd1234"  # what such a kill leaves beside the new folder
    _write_folder(tmp_path / "x", "older")
    (tmp_path / "x").rename(swapped_out)
    (swapped_out / "thesis_draft.docx").write_bytes(b"years of work")
    with pytest.warns(OutputNote, match="thesis_draft.docx"):
        with output_folder(out, overwrite=True, kind="test"):
            pass
    [kept] = _kept(out)
    assert (kept / "thesis_draft.docx").read_bytes() == b"years of work" and not swapped_out.exists()
    unfinished = tmp_path / ".results.staging-efgh5678"  # a staging folder of a run killed while writing
    unfinished.mkdir()
    (unfinished / "part0.txt").write_text("half", encoding="utf-8")
    (unfinished / _io._STAGING_MARK).write_text("", encoding="utf-8")
    with pytest.warns(OutputNote, match="1 unfinished staging folder"):
        with output_folder(out, overwrite=True, kind="test"):
            pass
    assert not unfinished.exists() and _kept(out) == [kept]


# --------------------------------------------------------------------------- 2. edited files


def test_overwrite_refuses_a_tool_file_the_user_edited(tmp_path):
    out = tmp_path / "results"
    _write_folder(out, "old")
    (out / "part1.txt").write_text("my edits, longer", encoding="utf-8")
    with pytest.raises(ValidationError, match="part1.txt was changed since mobility-plan wrote it; move it out"):
        check_output_dir(out, overwrite=True)
    (out / "part1.txt").write_text("ODLODL", encoding="utf-8")  # same size, other bytes
    with pytest.raises(ValidationError, match="part1.txt was changed since mobility-plan wrote it"):
        _write_folder(out, "new")
    assert (out / "part1.txt").read_text(encoding="utf-8") == "ODLODL"


def test_an_edit_during_the_run_is_not_overwritten(tmp_path, at):
    out = tmp_path / "results"
    _write_folder(out, "old")
    with pytest.raises(ValidationError, match="part0.txt was changed"):
        _write_folder(out, "new", during=lambda: (out / "part0.txt").write_text("mine", encoding="utf-8"))
    assert (out / "part0.txt").read_text(encoding="utf-8") == "mine"
    (out / "part0.txt").write_text("old", encoding="utf-8")
    at("before-exchange", lambda: (out / "part0.txt").write_text("edited", encoding="utf-8"))
    with pytest.warns(OutputNote, match="part0.txt"):
        _write_folder(out, "new")
    [kept] = _kept(out)
    assert (kept / "part0.txt").read_text(encoding="utf-8") == "edited"


# --------------------------------------------------------------------------- 3. same-named files


def test_a_hand_made_old_backup_is_neither_restored_nor_removed(tmp_path):
    out = tmp_path / "results"
    backup = tmp_path / ".results.old"
    backup.mkdir()
    (backup / "thesis.docx").write_bytes(b"my backup")
    with pytest.warns(OutputNote, match=r"left .results.old"):
        _write_folder(out, "new", overwrite=False)
    assert (backup / "thesis.docx").read_bytes() == b"my backup" and _is_new(out, "new")
    with pytest.warns(OutputNote, match=r"left .results.old"):
        _write_folder(out, "newer")  # the target exists: the backup is still not removed
    assert (backup / "thesis.docx").read_bytes() == b"my backup" and _is_new(out, "newer")


def test_a_tool_backup_with_a_foreign_file_is_kept(tmp_path):
    out = tmp_path / "results"
    _write_folder(out, "old")
    backup = tmp_path / ".results.old"
    out.rename(backup)
    (backup / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.warns(OutputNote, match=r"left .results.old"):
        with output_folder(out, overwrite=True, kind="test"):
            pass
    assert (backup / "notes.txt").read_text(encoding="utf-8") == "mine" and not out.exists()


def test_a_foreign_lock_file_is_neither_truncated_nor_removed(tmp_path):
    out = tmp_path / "results"
    lock = tmp_path / ".results.lock"
    lock.write_text("my own notes about the lock\n", encoding="utf-8")
    with pytest.raises(MobilityPlanError, match=r"\.results\.lock.*not.*mobility-plan"):
        _write_folder(out, "new")
    assert lock.read_text(encoding="utf-8") == "my own notes about the lock\n" and not out.exists()


def test_the_lock_file_carries_the_marker_and_a_stale_one_is_reused(tmp_path, at):
    out = tmp_path / "results"
    seen = []
    at("locked", lambda: seen.append((tmp_path / ".results.lock").read_text(encoding="ascii")))
    _write_folder(out, "new")
    assert seen == [f"mobility-plan lock pid={os.getpid()}\n"]
    for stale in ("mobility-plan lock pid=999999\n", "999999\n", ""):  # killed runs' (also of the unmarked version)
        (tmp_path / ".results.lock").write_text(stale, encoding="ascii")
        _write_folder(out, "newer")
        assert _is_new(out, "newer") and sorted(p.name for p in tmp_path.iterdir()) == ["results"]


# --------------------------------------------------------------------------- 4. system errors are named errors


def test_an_unusable_lock_path_is_a_named_error(tmp_path):
    out = tmp_path / "results"
    (tmp_path / ".results.lock").mkdir()  # not a file: opening it fails with an OSError
    with pytest.raises(MobilityPlanError, match=r"\.results\.lock") as caught:
        _write_folder(out, "new")
    assert isinstance(caught.value, OSError) and "choose another" in str(caught.value)


def test_a_backup_name_taken_during_a_fallback_swap_is_a_named_error(tmp_path, at, monkeypatch):
    out = tmp_path / "results"
    _write_folder(out, "old")
    monkeypatch.setattr(_io, "_exchange", lambda a, b: False)  # a system without renameat2

    def take_backup_name():
        (tmp_path / ".results.old").mkdir()
        (tmp_path / ".results.old" / "x.txt").write_text("mine", encoding="utf-8")

    at("before-exchange", take_backup_name)
    with pytest.raises(MobilityPlanError, match=r"\.results\.old"):
        _write_folder(out, "new")
    assert _is_new(out, "old") and (tmp_path / ".results.old" / "x.txt").read_text(encoding="utf-8") == "mine"


# --------------------------------------------------------------------------- files (costs)


def test_a_file_saved_at_the_output_path_during_the_run_is_not_overwritten(tmp_path):
    target = tmp_path / "od.npz"
    with pytest.raises(ValidationError, match="od.npz"):
        with output_file(target, overwrite=False, ours=lambda p: True) as claimed:
            target.write_bytes(b"someone's file")  # saved while the matrix is computed
            with atomic_path(claimed) as tmp:
                tmp.write_bytes(b"matrix")
    assert target.read_bytes() == b"someone's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["od.npz"]


def test_a_tool_file_replaced_by_the_user_during_an_overwrite_run_is_kept(tmp_path):
    target = tmp_path / "od.npz"
    target.write_bytes(b"ours: old matrix")

    def ours(path: Path) -> bool:
        return path.read_bytes().startswith(b"ours")

    with pytest.raises(ValidationError, match="od.npz"):
        with output_file(target, overwrite=True, ours=ours) as claimed:
            target.write_bytes(b"the user's own file")
            with atomic_path(claimed) as tmp:
                tmp.write_bytes(b"ours: new matrix")
    assert target.read_bytes() == b"the user's own file"
    with output_file(target, overwrite=True, ours=lambda p: True) as claimed:  # unchanged since the claim: replaced
        with atomic_path(claimed) as tmp:
            tmp.write_bytes(b"ours: new matrix")
    assert target.read_bytes() == b"ours: new matrix"


def test_costs_keeps_a_file_saved_at_out_while_the_matrix_is_computed(tmp_path, shared_data, at, capsys):
    from mobility_plan.cli import main

    points = tmp_path / "p.csv"
    points.write_text("node\n1\n167\n2\n", encoding="utf-8")
    out = tmp_path / "od.npz"
    args = ["costs", str(shared_data / "expressway_2011"), "--origins", str(points), "--destinations", str(points),
            "--out", str(out)]
    at("file-claimed", lambda: out.write_bytes(b"someone's file"))  # saved once the run has claimed --out
    assert main(args) == 2
    assert "appeared while this run worked" in capsys.readouterr().err
    assert out.read_bytes() == b"someone's file" and sorted(p.name for p in tmp_path.iterdir()) == ["od.npz", "p.csv"]
    out.unlink()
    at("never", lambda: None)
    assert main(args) == 0 and out.read_bytes().startswith(b"PK")  # undisturbed, the matrix is written


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device that is always full)")
def test_a_full_disk_is_a_named_error_and_nothing_is_replaced(tmp_path):
    out = tmp_path / "results"
    _write_folder(out, "old")

    def disk_full():
        Path("/dev/full").write_bytes(b"x" * 10)  # a real ENOSPC from the system

    with pytest.raises(MobilityPlanError, match="disk is full") as caught:
        _write_folder(out, "new", during=disk_full)
    assert isinstance(caught.value, OSError) and _is_new(out, "old")
    target = tmp_path / "od.npz"
    with pytest.raises(MobilityPlanError, match="disk is full"):
        with output_file(target, overwrite=False, ours=lambda p: True) as claimed, atomic_path(claimed):
            disk_full()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
