"""``seg.dcm`` survives a re-run without its source DICOM (``twinsep report DIR`` on a
laptop without the CT): the DICOM-SEG needs the source series to be written, which a
plan does not keep, so the plan's own file is kept when it was written from the same
inputs (the export stage's cache key); a re-run that changes it (other colours) cannot
keep it and says so.

The plan runs the stages up to ``export`` from a 64-voxel DICOM phantom and its own
label maps (no segmentation or min-cut computed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twinsep.plan import PlanOptions, read_plan, rerun_plan, run_plan


def _stages() -> list:
    from twinsep.fusion.stage import build_stage as fusion
    from twinsep.interop.stage import stage as export
    from twinsep.segment.stage import build_stage as segment
    from twinsep.separate.stage import build_stage as separate
    from twinsep.twins.stage import build_stage as twins

    return [segment(), twins(), fusion(), separate(), export()]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan with ``seg.dcm``, its DICOM series then moved away."""
    from twinsep.phantom import make_phantom, write_phantom

    root = tmp_path_factory.mktemp("segdcm")
    src = root / "case"
    write_phantom(make_phantom("vertical-II", size=64, seed=3), src, dicom=True)
    out = root / "plan"
    opts = PlanOptions(
        scan_path=src / "ct",
        segmentation_path=src / "labels.nii.gz",
        twin_map_path=src / "twins.nii.gz",
    )
    run_plan(opts, out, stages=_stages())
    assert (out / "seg.dcm").is_file()
    shutil.move(str(src), str(root / "elsewhere"))
    return out


@pytest.fixture()
def planned(made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the plan, re-run from a folder where its scan is not."""
    out = tmp_path / "plan"
    shutil.copytree(made, out)
    monkeypatch.setattr("twinsep.plan._pipeline", _stages)
    monkeypatch.chdir(tmp_path)
    return out


def test_a_rerun_without_the_source_keeps_seg_dcm(planned: Path) -> None:
    before = (planned / "seg.dcm").read_bytes()
    run = rerun_plan(planned)
    assert run.computed == []
    plan = read_plan(planned)
    assert (planned / "seg.dcm").read_bytes() == before
    assert "seg.dcm" in plan["exports"]["files"]
    assert not any("seg.dcm not written" in w for w in plan["warnings"])


def test_a_rerun_that_changes_it_does_not_keep_a_stale_seg_dcm(planned: Path) -> None:
    """Other colours: the export stage's key changes, the old file (old colours) is not
    the plan's any more; without the source it is not written, with a warning."""
    rerun_plan(planned, colour_a="#00AA00")
    plan = read_plan(planned)
    assert not (planned / "seg.dcm").exists()
    assert any("seg.dcm not written" in w for w in plan["warnings"])
