"""Atomic writes: all or nothing, no temporary files left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinsep.errors import OutputError
from twinsep.io.atomic import (
    atomic_output,
    atomic_output_dir,
    atomic_write_bytes,
    atomic_write_text,
)


def test_write_text_and_bytes(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a.txt", "héllo")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo"
    atomic_write_bytes(tmp_path / "a.txt", b"new")
    assert (tmp_path / "a.txt").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "plan.json"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(dest) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("crash while writing")
    assert dest.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_temp_keeps_suffix(tmp_path: Path) -> None:
    with atomic_output(tmp_path / "x.nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz") and tmp.parent == tmp_path
        tmp.write_bytes(b"1")
    assert (tmp_path / "x.nii.gz").read_bytes() == b"1"


def test_missing_folder_is_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        atomic_write_text(tmp_path / "nope" / "a.txt", "x")


def test_nothing_written_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="nothing was written"), atomic_output(tmp_path / "a"):
        pass
    assert not (tmp_path / "a").exists()


def test_output_dir_all_or_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError), atomic_output_dir(tmp_path / "out") as tmp:
        (tmp / "f").write_text("x")
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_output_dir(tmp_path / "out") as tmp:
        (tmp / "f").write_text("x")
    assert (tmp_path / "out" / "f").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
