"""Low-level file helpers: encoding-aware text reading and atomic writes."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ._errors import DataSourceError, ValidationError

__all__ = ["read_text", "read_csv_text", "atomic_path", "write_bytes_atomic", "staged_dir", "read_toml"]

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
    half-written file and an existing file is kept if writing fails.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600 files; give the usual permissions
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(target: Path, payload: bytes) -> Path:
    """Write ``payload`` to ``target`` through a temporary file and a rename."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)
    return Path(target)


@contextlib.contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``out`` that replaces ``out`` on success.

    Everything is written into the staging folder; only when the ``with`` block ends
    without an exception is ``out`` (if any) moved aside and the staging folder renamed
    to ``out``. On an exception the staging folder is removed and ``out`` is untouched.
    """
    out = Path(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp creates 0700 folders; give the usual permissions
    try:
        yield staging
        if out.exists():
            backup = parent / f".{out.name}.old"
            if backup.exists():
                shutil.rmtree(backup)
            out.rename(backup)
            staging.rename(out)
            shutil.rmtree(backup)
        else:
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def read_toml(path: Path) -> dict:
    """Parse a UTF-8 TOML file; a bad encoding or syntax is a :class:`ValidationError` naming the file."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path} is not UTF-8 text ({exc}); save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path} is not valid TOML: {exc}") from exc
