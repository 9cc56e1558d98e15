"""Encoding-aware reading and atomic writes."""

from __future__ import annotations

import pytest

from mobility_plan import DataSourceError
from mobility_plan._io import atomic_path, read_csv_text, read_text, write_bytes_atomic

TEXT = "지역,값\n서울,1\n부산,2\n"


@pytest.mark.parametrize(
    "encoding, newline",
    [("cp949", "\r\n"), ("utf-8-sig", "\n"), ("utf-8-sig", "\r"), ("utf-8", "\r\n")],
)
def test_read_text_decodes_and_normalises_line_endings(tmp_path, encoding, newline):
    path = tmp_path / "table.csv"
    path.write_bytes(TEXT.replace("\n", newline).encode(encoding))
    assert read_text(path) == TEXT
    frame = read_csv_text(path)
    assert list(frame.columns) == ["지역", "값"]
    assert frame["값"].tolist() == [1, 2]


def test_wrong_declared_encoding_names_file_and_fix(tmp_path):
    path = tmp_path / "cp949.csv"
    path.write_bytes(TEXT.encode("cp949"))
    with pytest.raises(DataSourceError, match=r"cp949\.csv.*not valid utf-8-sig"):
        read_text(path, encoding="utf-8-sig")


def test_undecodable_bytes_raise(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x00\xff" * 10)
    with pytest.raises(DataSourceError, match="not valid"):
        read_text(path)


def test_missing_columns_and_empty_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"lacks the column\(s\) \['c'\]"):
        read_csv_text(path, expected_columns=["a", "c"])
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataSourceError, match="empty"):
        read_csv_text(empty)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "out.json"
    write_bytes_atomic(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
