"""The real-CT demo cases are listed, and without the data they say how to install it
(exit 2, one line), on any machine (no real data needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinsep.cases import available_cases, build_case
from twinsep.cli import app
from twinsep.errors import InputError
from twinsep.realanatomy import realct


def test_cases_are_listed() -> None:
    cases = available_cases()
    for name in realct.CONFIGS:
        assert name in cases and "real CT" in cases[name]


@pytest.mark.parametrize("name", list(realct.CONFIGS))
def test_missing_data_says_how_to_install(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(realct, "inv3_path", lambda extra=None: None)
    with pytest.raises(InputError, match="make realdata") as ei:
        build_case(name, tmp_path / "cache")
    assert "invesalius-examples" in ei.value.one_line()
    assert not (tmp_path / "cache" / name / "ct.nii.gz").exists()
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--case", name, "--out", str(out)])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "make realdata" in lines[0]
    assert not out.exists()
