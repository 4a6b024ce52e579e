"""Every bad input gives one ScanError line naming the file and the reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from twinsep.errors import InputError, ScanError
from twinsep.io import load_scan

from .corpus import CASES, BadCase


def _root_can_read(case: BadCase) -> bool:
    try:
        with open(case.path, "rb") as fh:
            fh.read(1)
    except OSError:
        return False
    return True


def test_corpus_is_large_enough() -> None:
    # The brief asks for at least 14 distinct bad inputs.
    assert len(CASES) >= 14


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises_one_line_scan_error(name: str, tmp_path: Path) -> None:
    case = CASES[name](tmp_path)
    if name == "unreadable_file" and _root_can_read(case):
        pytest.skip("running with privileges that read a chmod-000 file (root)")
    with pytest.raises(ScanError) as info:
        load_scan(case.path, series_uid=case.series_uid)
    err = info.value
    assert isinstance(err, InputError) and isinstance(err, ValueError)
    line = err.one_line()
    assert "\n" not in line
    assert "Traceback" not in line
    assert case.names in line, line
    low = line.lower()
    for word in case.words:
        assert word.lower() in low, f"{word!r} missing from: {line}"
    if name == "unreadable_file":
        os.chmod(case.path, 0o600)
