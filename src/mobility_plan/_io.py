"""Low-level file helpers: encoding-aware text reading, atomic writes, and the rules of every output."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import tomllib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import DataSourceError, MobilityPlanError, OutputError, ValidationError

__all__ = ["read_text", "read_csv_text", "atomic_path", "write_bytes_atomic", "staged_dir", "read_toml",
           "MANIFEST_NAME", "OutputFolder", "OutputNote", "output_folder", "output_file", "check_output_dir",
           "check_output_file", "child_path", "valid_output_name", "read_manifest", "write_manifest"]

#: Encodings tried, in order, when a file's encoding is not declared.
_FALLBACK_ENCODINGS = ("utf-8-sig", "cp949")


def read_text(path: Path, *, encoding: str | None = None) -> str:
    """Read a text file, decoding it and normalising every line ending to ``\\n``.

    Parameters
    ----------
    path
        File to read.
    encoding
        Expected encoding (``"utf-8-sig"``, ``"cp949"``, ...). When ``None`` the
        encodings UTF-8 (with or without BOM) and CP949 are tried in turn.

    Returns
    -------
    str
        The decoded text with CRLF and CR-only line endings turned into LF.

    Raises
    ------
    DataSourceError
        If the file cannot be read or decoded with the expected encoding.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataSourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    candidates = (encoding,) if encoding else _FALLBACK_ENCODINGS
    for candidate in candidates:
        try:
            text = raw.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        if text.startswith("\ufeff"):
            text = text[1:]
        return text.replace("\r\n", "\n").replace("\r", "\n")
    tried = ", ".join(candidates)
    raise DataSourceError(
        f"{path} is not valid {tried} text; the file may be corrupt or re-saved in "
        f"another encoding. Restore the original file (see data/sources.toml) or "
        f"convert it back to {candidates[0]}."
    )


def read_csv_text(
    path: Path,
    *,
    encoding: str | None = None,
    header: int | None = 0,
    expected_columns: list[str] | None = None,
    dtype: dict | type | None = None,
) -> pd.DataFrame:
    """Read a CSV file whatever its encoding and line endings.

    Parameters
    ----------
    path
        The CSV file.
    encoding
        Expected encoding; see :func:`read_text`.
    header
        Row holding the column names, or ``None`` for a file without header.
    expected_columns
        Columns that must be present; a missing one raises :class:`DataSourceError`.
    dtype
        Passed to :func:`pandas.read_csv`.

    Returns
    -------
    pandas.DataFrame
        The table as published (original column names).

    Raises
    ------
    DataSourceError
        On an unreadable, undecodable or malformed file, or missing columns.
    """
    text = read_text(path, encoding=encoding)
    if not text.strip():
        raise DataSourceError(f"{path} is empty; restore the original file (see data/sources.toml).")
    try:
        frame = pd.read_csv(io.StringIO(text), header=header, dtype=dtype, low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataSourceError(
            f"{path} is not a well-formed CSV file ({exc}); it may be truncated or "
            "edited. Restore the original file (see data/sources.toml)."
        ) from exc
    if expected_columns:
        missing = [c for c in expected_columns if c not in frame.columns]
        if missing:
            raise DataSourceError(
                f"{path} lacks the column(s) {missing}; found {list(frame.columns)[:12]}. "
                "The file is not the expected dataset or is corrupt; restore it "
                "(see data/sources.toml)."
            )
    return frame


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target`` that replaces it on success.

    Whatever the caller writes to the yielded path becomes ``target`` only when
    the ``with`` block ends without an exception, so a reader never sees a
    half-written file and an existing file is kept if writing fails. A ``target`` claimed with
    :func:`output_file` is checked again first: one that appeared or was replaced since the claim by a
    file the tool may not replace is kept, and :class:`ValidationError` is raised.
    """
    target = Path(target)
    claim = _CLAIMED_FILES.get(os.path.abspath(target))
    with _naming_os_errors(target, "write"):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
        except OSError as exc:
            _disk_full_named(exc, target)
            raise
        with _naming_os_errors(target, "write"):
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600 files; give the usual permissions
            if claim is None:
                os.replace(tmp, target)
            else:  # an output claimed by output_file: checked again, never replacing what appeared meanwhile
                _replace_claimed(tmp, target, claim)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(target: Path, payload: bytes) -> Path:
    """Write ``payload`` to ``target`` through a temporary file and a rename."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)
    return Path(target)


# --------------------------------------------------------------------------- outputs
#
# Rules every output of the tool follows (plan and sweep folders, cost matrices, the app's plan cache):
# the path is checked before the long run (a valid name, not the current folder, outside the data
# directories, writable); a lock beside it keeps two runs apart; an existing folder is replaced only
# when the tool wrote it (its manifest names every file in it); the new folder is written beside the
# target and swapped in at the end (atomically where the system allows), and leftovers of a killed
# run are restored or removed by the next run, which says so.

#: File naming every file of a folder the tool wrote (deterministic: paths, sizes, SHA-256; no times).
MANIFEST_NAME = ".mobility-plan-manifest.json"
#: Longest output name accepted (bytes): the hidden siblings (``.NAME.staging-XXXXXXXX``) need room.
MAX_NAME_BYTES = 200
#: Longest output path accepted (bytes), well under the system's PATH_MAX.
MAX_PATH_BYTES = 3800
#: Output names: letters or digits first, then letters, digits, ``_``, ``-`` or ``.`` (any script).
_NAME_RULE = re.compile(r"[^\W_][\w.-]*")
_STAGING_INFIX = ".staging-"
_BACKUP_SUFFIX = ".old"
_LOCK_SUFFIX = ".lock"
#: Beside ``NAME``: ``.NAME.kept-<time>`` holds a replaced folder that had files the tool did not write.
_KEPT_INFIX = ".kept-"
#: In a staging folder until its manifest is written: marks it as the tool's unfinished work.
_STAGING_MARK = ".mobility-plan-staging"
#: First words of a lock file the tool wrote (``mobility-plan lock pid=<pid>``).
_LOCK_MARK = "mobility-plan lock"
_RENAME_NOREPLACE = 1  # renameat2 flags (Linux >= 3.15): fail if the target exists; swap two paths atomically
_RENAME_EXCHANGE = 2


class OutputNote(UserWarning):
    """What a run did about the leftovers of an interrupted one (restored, removed or kept); shown to the user."""


def _checkpoint(point: str) -> None:
    """Mark a dangerous moment of an output swap (a no-op; tests replace it to kill the process there)."""


def _output_error(exc: OSError, path: Path, doing: str) -> OutputError:
    """A named error for a system error of the output layer: what failed, on which path, and what to do."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"the disk is full: free space on the disk holding {path.parent}, or choose another --out, then rerun"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = (f"{path} may belong to another user or lie on a read-only disk: fix its permissions or remove it "
               "(after checking no other run uses it), or choose another --out")
    elif exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
        fix = f"{path} appeared or filled while this run worked; move it away or choose another --out, then rerun"
    else:
        fix = "check that path (remove or rename what is in the way), or choose another --out, then rerun"
    error = OutputError(f"cannot {doing} {path} ({reason}); {fix}")
    error.errno = exc.errno
    return error


@contextlib.contextmanager
def _naming_os_errors(path: Path, doing: str) -> Iterator[None]:
    """Turn a raw :class:`OSError` raised in the block into an :class:`OutputError` naming ``path`` and the fix."""
    try:
        yield
    except MobilityPlanError:
        raise
    except OSError as exc:
        raise _output_error(exc, path, doing) from exc


def _disk_full_named(exc: BaseException, path: Path) -> None:
    """Re-raise a disk-full error of the caller's writing as an :class:`OutputError` (other errors pass)."""
    if isinstance(exc, OSError) and not isinstance(exc, MobilityPlanError) and exc.errno in (errno.ENOSPC,
                                                                                           errno.EDQUOT):
        raise _output_error(exc, path, "write") from exc


def _protected_roots() -> list[tuple[Path, str]]:
    """Folders no output may be written into: the data directory and the project's own tables."""
    from . import data  # lazy: data imports this module

    roots = [(Path(data.PROJECT_DATA).resolve(), "the project's own tables")]
    try:
        roots.append((data.data_dir().resolve(), "the data directory"))
    except Exception:  # noqa: BLE001 - no data directory configured: nothing there to protect
        pass
    return roots


def valid_output_name(name: str, *, what: str) -> str:
    """Return ``name`` when it can be one folder or file name inside an output folder.

    Raises
    ------
    ValidationError
        If ``name`` is empty, ``.`` or ``..``, holds a path separator, starts with a dot or a
        symbol, or is longer than :data:`MAX_NAME_BYTES` bytes: it could escape or hide in the folder.
    """
    if not isinstance(name, str) or not _NAME_RULE.fullmatch(name) or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValidationError(
            f"{what} {name!r} cannot name a folder inside the output folder: use letters, digits, '_', '-' "
            f"and '.' only, starting with a letter or digit, at most {MAX_NAME_BYTES} bytes (no '/', no '..')")
    return name


def child_path(base: Path, name: str, *, what: str) -> Path:
    """``base / name`` for a validated ``name`` (see :func:`valid_output_name`) that stays inside ``base``."""
    child = Path(base) / valid_output_name(name, what=what)
    if Path(os.path.abspath(child)).parent != Path(os.path.abspath(base)):
        raise ValidationError(f"{what} {name!r} would write outside {base}")
    return child


def _canonical(out: str | Path, *, what: str) -> Path:
    """The absolute output path with its parent's symlinks resolved; refuses names that are no names."""
    text = os.fspath(out)
    path = Path(text)
    if not text.strip() or "\x00" in text or path.name in ("", ".", ".."):
        raise ValidationError(f"{what} {text!r} is not a folder or file name (it is the current folder, a parent "
                              "or the root); give a new name such as outputs/plan")
    if len(path.name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise ValidationError(f"{what}: the name {path.name[:40]!r}... is {len(path.name.encode('utf-8'))} bytes "
                              f"long; use at most {MAX_NAME_BYTES} bytes")
    target = path.absolute().parent.resolve() / path.name
    if len(os.fsencode(target)) > MAX_PATH_BYTES:
        raise ValidationError(f"{what}: the path is {len(os.fsencode(target))} bytes long; use a shorter one "
                              f"(at most {MAX_PATH_BYTES} bytes)")
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise ValidationError(f"{what} {text} is the current folder or holds it; give a new folder name")
    for root, label in _protected_roots():
        if target == root or root in target.parents:
            raise ValidationError(f"{what} {target} lies inside {label} ({root}); outputs are never written "
                                  "there. Choose a folder outside it, such as outputs/plan")
        if target in root.parents:
            raise ValidationError(f"{what} {target} holds {label} ({root}); choose another folder")
    if target.is_symlink():
        raise ValidationError(f"{what} {text} is a symbolic link (to {os.readlink(target)}); give the real path")
    return target


def _probe_parent(target: Path, *, what: str) -> None:
    """Create the parent if needed and prove a hidden sibling of ``target`` can be created there."""
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=f".{target.name}{_STAGING_INFIX}", dir=parent)
        os.rmdir(probe)
    except OSError as exc:
        raise ValidationError(f"cannot write into {parent} ({exc.strerror or exc}); choose another {what}") from exc


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a folder the tool wrote, or ``None`` when it has none or it is not one of ours."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file() or path.is_symlink():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(manifest, dict) or manifest.get("written_by") != "mobility_plan":
        return None
    return manifest


def _foreign_entries(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Entries of ``folder`` (relative paths) its manifest does not name."""
    listed = {str(entry.get("path")) for entry in manifest.get("files", []) if isinstance(entry, dict)}
    listed_dirs = {str(parent) for name in listed for parent in Path(name).parents if str(parent) != "."}
    foreign = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = Path(dirpath).relative_to(folder)
        for name in dirnames:
            rel = (rel_dir / name).as_posix()
            if rel not in listed_dirs or (Path(dirpath) / name).is_symlink():
                foreign.append(rel + "/")
        dirnames[:] = [d for d in dirnames if (rel_dir / d).as_posix() in listed_dirs]
        for name in filenames:
            rel = (rel_dir / name).as_posix()
            if rel not in listed and rel != MANIFEST_NAME:
                foreign.append(rel)
    return sorted(foreign)


def _changed_files(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Files its manifest names whose size or SHA-256 differ from what the tool wrote (a missing one is no loss)."""
    changed = []
    for entry in manifest.get("files", []):
        if not isinstance(entry, dict):
            continue
        rel = str(entry.get("path"))
        path = Path(folder) / rel
        if not os.path.lexists(path):
            continue
        if path.is_symlink() or not path.is_file() or path.stat().st_size != entry.get("bytes"):
            changed.append(rel)
            continue
        with path.open("rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != entry.get("sha256"):
                changed.append(rel)
    return sorted(changed)


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _refusal(target: Path, *, overwrite: bool, out: str | Path) -> str | None:
    """Why the folder at ``target`` may not be replaced now, or ``None`` when it may (absent, empty or ours)."""
    if target.is_symlink():
        return f"output folder {out} is a symbolic link (to {os.readlink(target)}); give the real path"
    if not os.path.lexists(target):
        return None
    if not target.is_dir():
        return f"output folder {out} is a file; give a folder"
    if not any(target.iterdir()):
        return None
    if not overwrite:
        return (f"output folder {out} is not empty; pass --overwrite to replace it (only a folder that mobility-plan "
                "wrote is replaced)")
    manifest = read_manifest(target)
    if manifest is None:
        return (f"output folder {out} was not written by mobility-plan (it has no {MANIFEST_NAME}); --overwrite "
                "replaces only folders mobility-plan wrote. Choose another --out, or move its files away yourself")
    foreign = _foreign_entries(target, manifest)
    if foreign:
        return (f"output folder {out} holds {len(foreign)} file(s) mobility-plan did not write ({_shown(foreign)}); "
                "--overwrite would delete them. Move them out or choose another --out")
    changed = _changed_files(target, manifest)
    if changed:
        one = len(changed) == 1
        return (f"in output folder {out}, {_shown(changed)} {'was' if one else 'were'} changed since mobility-plan "
                f"wrote {'it' if one else 'them'}; move {'it' if one else 'them'} out of the folder or delete "
                f"{'it' if one else 'them'}, then rerun")
    return None


def _not_ours(folder: Path) -> list[str]:
    """What in ``folder`` the tool did not write or that changed since (empty: deleting ``folder`` loses nothing).

    An unfinished staging folder (it still holds :data:`_STAGING_MARK`) and an empty folder lose nothing.
    """
    if folder.is_symlink() or not folder.is_dir():
        return [folder.name]
    if (folder / _STAGING_MARK).is_file() and not (folder / _STAGING_MARK).is_symlink():
        return []
    if not any(folder.iterdir()):
        return []
    manifest = read_manifest(folder)
    if manifest is None:
        return sorted(p.name for p in folder.iterdir())
    return sorted(_foreign_entries(folder, manifest) + _changed_files(folder, manifest))


def _keep_aside(folder: Path, target: Path) -> Path:
    """Rename ``folder`` to ``.NAME.kept-<time>`` beside ``target``, which no run removes; return the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    kept = target.parent / f".{target.name}{_KEPT_INFIX}{stamp}"
    number = 1
    while os.path.lexists(kept):
        number += 1
        kept = target.parent / f".{target.name}{_KEPT_INFIX}{stamp}-{number}"
    os.rename(folder, kept)
    return kept


def _discard(old: Path, target: Path) -> str | None:
    """Remove ``old`` (a replaced ``target`` or a staging folder) unless that loses files the tool did not write.

    Such a folder is renamed to ``.NAME.kept-<time>`` (or, if even that fails, left as it is); the returned
    note names it and what it holds. ``None`` when ``old`` was removed.
    """
    if not os.path.lexists(old):
        return None
    foreign = _not_ours(old)
    if not foreign:
        shutil.rmtree(old, ignore_errors=True)  # a leftover is cleaned by the next run
        return None
    try:
        where = _keep_aside(old, target)
    except OSError:
        where = old
    return (f"{_shown(foreign)} appeared or changed in {target} while mobility-plan was replacing it; nothing was "
            f"deleted: the previous folder with those files is kept as {where}. Move what you need out of it, "
            "then delete it")


def check_output_dir(out: str | Path, *, overwrite: bool, what: str = "--out") -> Path:
    """Check an output folder before any work; return its absolute path.

    Parameters
    ----------
    out
        The folder the outputs go to.
    overwrite
        Whether an existing non-empty folder may be replaced; it still must be one the tool wrote.
    what
        How the user named the setting, for messages.

    Raises
    ------
    ValidationError
        If ``out`` is not a valid name (empty, ``.``, too long), is the current folder, lies in or
        holds the data directory or the project's tables, is a symbolic link or a file, is not empty
        (without ``overwrite``), holds files the tool did not write or files changed since the tool
        wrote them (their size or SHA-256 differ from its manifest; with ``overwrite``), is read-only,
        or its parent cannot be written.
    """
    target = _canonical(out, what=what)
    with _naming_os_errors(target, "check the output folder"):
        reason = _refusal(target, overwrite=overwrite, out=out)
    if reason is not None:
        raise ValidationError(reason.replace("output folder", what, 1) if "is a file" in reason else reason)
    if target.is_dir() and not os.access(target, os.W_OK | os.X_OK):
        raise ValidationError(f"output folder {out} is read-only; make it writable or choose another --out")
    _probe_parent(target, what=what)
    return target


def check_output_file(out: str | Path, *, overwrite: bool, ours: Callable[[Path], bool],
                      what: str = "--out") -> Path:
    """Check an output file before any work (the rules of :func:`check_output_dir`); return its absolute path.

    ``ours(path)`` tells whether an existing file is one the tool wrote; only such a file is
    replaced, and only with ``overwrite``.
    """
    target = _canonical(out, what=what)
    if target.is_dir():
        raise ValidationError(f"{what} {out} is a folder; give a file name")
    if target.exists():
        if not overwrite:
            raise ValidationError(f"{out} exists; pass --overwrite to replace it")
        if not target.is_file() or not ours(target):
            raise ValidationError(f"{out} exists and was not written by mobility-plan; --overwrite replaces only "
                                  "files it wrote. Choose another --out or move the file away")
        if not os.access(target.parent, os.W_OK):
            raise ValidationError(f"cannot replace {out}: its folder is read-only")
    _probe_parent(target, what=what)
    return target


@contextlib.contextmanager
def _output_lock(target: Path, *, wait_s: float) -> Iterator[None]:
    """Hold an exclusive lock on ``target`` (a ``.NAME.lock`` file beside it; freed by the system on any exit).

    The lock file holds ``mobility-plan lock pid=<pid>``; a non-empty file of that name without this mark
    is someone else's and is neither reused, truncated nor removed.
    """
    import fcntl

    lock_path = target.parent / f".{target.name}{_LOCK_SUFFIX}"
    deadline = time.monotonic() + wait_s
    with _naming_os_errors(lock_path, "use the lock file"):
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                found = re.search(r"pid=(\d+)", os.pread(fd, 256, 0).decode("ascii", "replace"))
                os.close(fd)
                if time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                raise ValidationError(f"another mobility-plan run (process {found[1] if found else 'unknown'}) is "
                                      f"writing {target}; wait for it to finish or choose another --out") from None
            try:
                same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino  # not unlinked by its last holder meanwhile
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            content = os.pread(fd, 256, 0)
            legacy = re.fullmatch(rb"\d+\n?", content) is not None  # a killed run's lock from before the mark
            if content.strip() and not legacy and not content.startswith(_LOCK_MARK.encode("ascii")):
                raise OutputError(f"{lock_path} is in the way: mobility-plan keeps its lock for {target} in a file of "
                                  f"that name, but this file was not written by mobility-plan (it does not start with "
                                  f"'{_LOCK_MARK}'). Move or rename it, or choose another --out, then rerun")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{_LOCK_MARK} pid={os.getpid()}\n".encode("ascii"), 0)
        except BaseException:
            os.close(fd)
            raise
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                os.unlink(lock_path)
        os.close(fd)


def _leftovers(target: Path, pattern: str) -> list[Path]:
    rule = re.compile(re.escape(f".{target.name}") + pattern)
    return sorted(p for p in target.parent.iterdir() if rule.fullmatch(p.name) and not p.is_symlink())


def _recover(target: Path) -> list[str]:
    """Restore or remove what an interrupted run on ``target`` left beside it (call under the lock).

    Only what the tool wrote is restored or removed: a ``.NAME.old`` folder or a staging folder holding
    anything else (a hand-made backup, a file saved during a run) is left or kept aside, and named.
    """
    notes = []
    with _naming_os_errors(target, "recover what an interrupted run left beside"):
        backup = target.parent / f".{target.name}{_BACKUP_SUFFIX}"
        if backup.is_dir() and not backup.is_symlink():
            foreign = _not_ours(backup)
            if foreign:
                notes.append(f"left {backup.name} beside {target} as it is: it holds files mobility-plan did not "
                             f"write or that changed since ({_shown(foreign)}). If it is an old copy of "
                             f"{target.name}, move what you need out of it and delete it")
            elif not os.path.lexists(target):
                backup.rename(target)
                notes.append(f"a run killed while replacing {target} had left it aside as {backup.name}; restored it")
            else:
                shutil.rmtree(backup, ignore_errors=True)
                notes.append(f"removed {backup.name}, the previous {target.name} left by a run killed after "
                             "replacing it" if not backup.exists() else f"could not remove {backup}, an old copy of "
                             f"{target.name} left by a killed run; delete it by hand")
        removed = 0
        for folder in _leftovers(target, re.escape(_STAGING_INFIX) + r"[a-z0-9_]{8}"):
            note = _discard(folder, target)
            if note is None:
                removed += 1
            else:
                notes.append(note)
        if removed:
            notes.append(f"removed {removed} unfinished staging folder(s) of an interrupted run beside {target}")
        partial = _leftovers(target, r"\.[a-z0-9_]{8}\.tmp")
        for file in partial:
            file.unlink(missing_ok=True)
        if partial:
            notes.append(f"removed {len(partial)} half-written temporary file(s) of an interrupted run beside "
                         f"{target}")
    for note in notes:
        warnings.warn(note, OutputNote, stacklevel=4)
    return notes


def _renameat2(a: Path, b: Path, flags: int) -> bool:
    """``renameat2(a, b, flags)`` (Linux); ``False`` where the system or the file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # this file system cannot; fall back
        return False
    raise OSError(code, os.strerror(code), str(b))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); ``False`` where the system cannot."""
    return _renameat2(a, b, _RENAME_EXCHANGE)


def _rename_new(source: Path, target: Path) -> bool:
    """Rename ``source`` to a ``target`` that must not exist (fails if it appeared); ``False`` where unsupported."""
    return _renameat2(source, target, _RENAME_NOREPLACE)


def write_manifest(folder: Path, *, kind: str) -> Path:
    """Write the manifest naming every file under ``folder`` (sorted paths, sizes, SHA-256; deterministic)."""
    files = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel in (MANIFEST_NAME, _STAGING_MARK):
            continue
        payload = path.read_bytes()
        files.append({"path": rel, "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})
    manifest = {"written_by": "mobility_plan", "kind": kind, "files": files}
    return write_bytes_atomic(Path(folder) / MANIFEST_NAME,
                              (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def _swap_in(staging: Path, target: Path, *, overwrite: bool, what: str = "--out") -> None:
    """Put the complete ``staging`` folder at ``target``; a kill at any point leaves a recoverable state.

    ``target`` is checked again first (it may have changed since the claim); the folder swapped out is
    deleted only when that loses nothing the tool did not write, else it is kept aside and named.
    """
    with _naming_os_errors(target, "check the output folder"):
        reason = _refusal(target, overwrite=overwrite, out=target)
    if reason is not None:
        raise ValidationError(f"{reason} (it changed while this run worked; nothing was replaced or deleted)")
    existed = os.path.lexists(target)
    _checkpoint("before-exchange")  # the last check is done; anything that appears from here is caught below
    with _naming_os_errors(target, "put the new output at"):
        if not existed:
            try:
                if _rename_new(staging, target):
                    return
            except FileExistsError:
                raise OutputError(f"{target} appeared while this run worked (someone created it); it was not "
                                  f"replaced. Move it away or choose another {what}, then rerun") from None
            os.rename(staging, target)  # fails on a folder that appeared and holds anything
            return
        if _exchange(staging, target):
            _checkpoint("after-exchange")  # target is the new folder; staging holds the old one
            note = _discard(staging, target)
        else:
            backup = target.parent / f".{target.name}{_BACKUP_SUFFIX}"
            if os.path.lexists(backup):
                raise OutputError(f"cannot replace {target}: {backup} is in the way (it may be yours, so it is not "
                                  "removed); move or rename it, then rerun")
            os.rename(target, backup)
            _checkpoint("between-renames")  # no target: the next run restores it from the backup
            os.rename(staging, target)
            _checkpoint("after-renames")
            note = _discard(backup, target)
    if note is not None:
        warnings.warn(note, OutputNote, stacklevel=4)


@dataclass(frozen=True)
class OutputFolder:
    """An output folder claimed by this process (checked and locked); :meth:`stage` writes it.

    ``overwrite`` is the user's choice at the claim; it rules the check repeated just before the swap.
    """

    path: Path
    kind: str
    notes: tuple[str, ...] = ()
    overwrite: bool = False
    what: str = "--out"

    @contextlib.contextmanager
    def stage(self) -> Iterator[Path]:
        """Yield an empty staging folder that replaces :attr:`path`, with a manifest, when the block succeeds.

        On an exception the staging folder is removed and :attr:`path` is untouched. Before the swap
        :attr:`path` is checked again, as at the claim: a folder that appeared, gained files or had files
        edited meanwhile is not replaced (:class:`ValidationError`).
        """
        with _naming_os_errors(self.path.parent, "create a staging folder in"):
            staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}{_STAGING_INFIX}", dir=self.path.parent))
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staging, 0o777 & ~umask)  # mkdtemp creates 0700 folders; give the usual permissions
            (staging / _STAGING_MARK).write_bytes(b"")
        try:
            try:
                yield staging
            except OSError as exc:
                _disk_full_named(exc, staging)
                raise
            with _naming_os_errors(staging, "finish the new output in"):
                write_manifest(staging, kind=self.kind)
                (staging / _STAGING_MARK).unlink()
            _checkpoint("before-swap")
            _swap_in(staging, self.path, overwrite=self.overwrite, what=self.what)
        finally:
            note = _discard(staging, self.path)  # only what the tool wrote is removed
            if note is not None:
                warnings.warn(note, OutputNote, stacklevel=3)


@contextlib.contextmanager
def output_folder(out: str | Path, *, overwrite: bool, kind: str, wait_s: float = 0.0,
                  what: str = "--out") -> Iterator[OutputFolder]:
    """Claim an output folder for a run: check it, lock it, recover what a killed run left.

    Parameters
    ----------
    out
        The output folder.
    overwrite
        Replace an existing folder (one the tool wrote; see :func:`check_output_dir`).
    kind
        What the folder holds (``"plan"``, ``"sweep"``), recorded in its manifest.
    wait_s
        How long to wait for another run writing the same folder (seconds); ``0`` refuses at once.
    what
        How the user named the setting, for messages.

    Raises
    ------
    ValidationError
        If the folder fails a check of :func:`check_output_dir`, or another run holds it.
    OutputError
        If the lock file or a leftover cannot be used (someone else's file, permissions, a full disk).
    """
    target = check_output_dir(out, overwrite=overwrite, what=what)
    with _output_lock(target, wait_s=wait_s):
        notes = _recover(target)
        check_output_dir(out, overwrite=overwrite, what=what)  # again: another run may have written it meanwhile
        _checkpoint("locked")
        yield OutputFolder(target, kind, tuple(notes), overwrite=overwrite, what=what)


@dataclass(frozen=True)
class _FileClaim:
    """What :func:`output_file` saw at its claim, for :func:`atomic_path` to check again before replacing."""

    state: tuple[int, ...] | None
    overwrite: bool
    ours: Callable[[Path], bool]
    what: str


#: Output files claimed by :func:`output_file` in this process, by absolute path.
_CLAIMED_FILES: dict[str, _FileClaim] = {}


def _file_state(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns)


def _check_claimed_file(target: Path, claim: _FileClaim) -> tuple[int, ...] | None:
    """Refuse when ``target`` changed since the claim into something the tool may not replace; return its state."""
    state = _file_state(target)
    if state is None or state == claim.state:
        return state
    if not claim.overwrite:
        raise ValidationError(f"{target} appeared while this run worked (someone saved a file there); it was not "
                              f"overwritten. Move it away or choose another {claim.what}, then rerun")
    if not stat.S_ISREG(state[2]) or not claim.ours(target):
        raise ValidationError(f"{target} was replaced while this run worked by a file mobility-plan did not write; "
                              f"it was not overwritten. Move it away or choose another {claim.what}, then rerun")
    return state


def _replace_claimed(tmp: Path, target: Path, claim: _FileClaim) -> None:
    """Move ``tmp`` to a claimed ``target`` only if ``target`` is still absent, unchanged or the tool's."""
    if _check_claimed_file(target, claim) is None:
        try:
            os.link(tmp, target)  # never replaces: fails if the target appeared since the check
        except FileExistsError:
            _check_claimed_file(target, claim)
        except OSError:  # no hard links on this file system
            pass
        else:
            tmp.unlink()
            return
    os.replace(tmp, target)


@contextlib.contextmanager
def output_file(out: str | Path, *, overwrite: bool, ours: Callable[[Path], bool],
                what: str = "--out") -> Iterator[Path]:
    """Claim an output file for a run (checked and locked, leftovers removed); yield its absolute path.

    Write it with :func:`atomic_path` inside the block: it checks the file again before replacing it, and
    refuses (:class:`ValidationError`) if it appeared or changed meanwhile into one the tool did not write.
    """
    target = check_output_file(out, overwrite=overwrite, ours=ours, what=what)
    with _output_lock(target, wait_s=0.0):
        _recover(target)
        check_output_file(out, overwrite=overwrite, ours=ours, what=what)
        _CLAIMED_FILES[os.path.abspath(target)] = _FileClaim(_file_state(target), overwrite, ours, what)
        try:
            _checkpoint("file-claimed")
            yield target
        finally:
            _CLAIMED_FILES.pop(os.path.abspath(target), None)


@contextlib.contextmanager
def staged_dir(out: Path, *, overwrite: bool = True, kind: str = "output") -> Iterator[Path]:
    """Claim ``out`` and yield a staging folder that replaces it on success (:func:`output_folder` in one step)."""
    with output_folder(out, overwrite=overwrite, kind=kind) as folder, folder.stage() as staging:
        yield staging

def read_toml(path: Path) -> dict:
    """Parse a UTF-8 TOML file (a leading BOM, as Windows Notepad saves, is dropped); a bad encoding or
    syntax is a :class:`ValidationError` naming the file."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path} is not UTF-8 text ({exc}); save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path} is not valid TOML: {exc}") from exc
