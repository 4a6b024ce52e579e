"""The segment stage's parameters: every dataclass it uses (the CT rules, ``MRParams``,
``ThickSliceParams``) is passed in explicitly, recorded in ``plan.json`` ``parameters``
and part of the stage's cache key (STYLE item 5)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from twinsep.plan import PlanOptions, StageContext, run_plan, stage_key
from twinsep.plan_cache import params_to_json
from twinsep.segment.params import MRParams
from twinsep.segment.result import TissueLabels
from twinsep.segment.stage import SegmentStageParams, build_stage
from twinsep.segment.thick import ThickSliceParams


def _changed_mr() -> MRParams:
    """``MRParams`` with its first float field moved (whichever fields it holds)."""
    base = MRParams()
    name = next(
        f.name for f in dataclasses.fields(base) if isinstance(getattr(base, f.name), float)
    )
    return dataclasses.replace(base, **{name: getattr(base, name) + 0.125})


def _params() -> SegmentStageParams:
    return SegmentStageParams(mr=_changed_mr(), thick=ThickSliceParams(warn_voxel_mm=1.0))


def _nifti(path: Path, array: np.ndarray, spacing_mm: float) -> Path:
    nib.save(nib.Nifti1Image(array, np.diag([spacing_mm] * 3 + [1.0])), str(path))
    return path


def test_plan_json_records_the_mr_and_thick_slice_parameters(tmp_path: Path) -> None:
    """A plan made with non-default MR and thick-slice values writes exactly those values
    under ``parameters.segment`` (the user's tissue map keeps the plan cheap)."""
    from twinsep.phantom import make_phantom, write_phantom
    from twinsep.twins.stage import build_stage as twins

    write_phantom(make_phantom("vertical-II", size=48, seed=1), tmp_path / "case")
    case = tmp_path / "case"
    opts = PlanOptions(
        scan_path=case / "ct.nii.gz",
        segmentation_path=case / "labels.nii.gz",
        twin_map_path=case / "twins.nii.gz",
    )
    params = _params()
    run_plan(opts, tmp_path / "plan", stages=[build_stage(params), twins()])
    recorded = json.loads((tmp_path / "plan" / "plan.json").read_text())["parameters"]["segment"]
    assert set(recorded) == {"tissues", "mr", "thick"}
    assert recorded["mr"] == params_to_json(params.mr) != params_to_json(MRParams())
    assert recorded["thick"] == {
        "warn_voxel_mm": 1.0,
        "warn_ratio": 5.0,
        "contrast_question_mm": 3.0,
    }
    assert recorded["tissues"] == params_to_json(params.tissues)


def test_cache_key_follows_each_parameter_block(tmp_path: Path) -> None:
    """The same parameters give the same key; a changed MR or thick-slice value another."""
    opts = PlanOptions(scan_path=tmp_path / "ct.nii.gz")
    digests: dict[str, str | None] = {"scan": "s" * 64}

    def key(params: SegmentStageParams | None) -> str:
        return stage_key(build_stage(params), opts, digests, {})

    default = key(None)
    assert key(SegmentStageParams()) == default
    assert key(SegmentStageParams(mr=_changed_mr())) != default
    assert key(SegmentStageParams(thick=ThickSliceParams(warn_voxel_mm=1.0))) != default


def _context(scan: Path, params: SegmentStageParams, mr: Path | None = None) -> StageContext:
    ctx = StageContext(PlanOptions(scan_path=scan, mr_path=mr))
    ctx.params = params
    ctx.stage_name = "segment"
    return ctx


def _labels(vol: Any) -> TissueLabels:
    return TissueLabels(
        labels=vol.with_array(np.zeros(vol.shape, np.uint8)), contrast=False, hu_thresholds={}
    )


def test_mr_alone_gets_the_stage_mr_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An MR scan (no HU range: guessed MR) is segmented with the stage's ``MRParams``
    and ``SegmentParams``, not with defaults built inside the stage."""
    seen: dict[str, Any] = {}

    def fake_mr(vol: Any, *, params: Any, mr_params: Any) -> TissueLabels:
        seen.update(params=params, mr_params=mr_params)
        return _labels(vol)

    monkeypatch.setattr("twinsep.segment.mr.segment_mr_t1", fake_mr)
    rng = np.random.default_rng(0)
    scan = _nifti(tmp_path / "t1.nii.gz", rng.uniform(0, 400, (24, 24, 24)).astype(np.float32), 2.0)
    params = _params()
    build_stage(params).run(_context(scan, params))
    assert seen["mr_params"] == params.mr != MRParams()
    assert seen["params"] is params.tissues


def test_ct_with_mr_fuses_with_the_stage_mr_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--mr``: the fusion gets the stage's ``MRParams``; the thick-slice warning follows
    the stage's ``ThickSliceParams`` (2 mm voxels warned at 1.0 mm, not at the default 2)."""
    seen: dict[str, Any] = {}

    def fake_fuse(result: TissueLabels, ct: Any, mr: Any, *, params: Any) -> TissueLabels:
        seen["mr_params"] = params
        return result

    monkeypatch.setattr("twinsep.segment.stage.segment_ct", lambda vol, params: _labels(vol))
    monkeypatch.setattr("twinsep.segment.mr.fuse_mr", fake_fuse)
    rng = np.random.default_rng(1)
    ct = np.full((24, 24, 24), -1000, np.int16)
    ct[4:20, 4:20, 4:20] = rng.integers(0, 1200, (16, 16, 16))
    scan = _nifti(tmp_path / "ct.nii.gz", ct, 2.0)
    mr = _nifti(tmp_path / "t1.nii.gz", rng.uniform(0, 400, (24, 24, 24)).astype(np.float32), 2.0)
    params = _params()
    ctx = _context(scan, params, mr)
    build_stage(params).run(ctx)
    assert seen["mr_params"] == params.mr != MRParams()
    assert any("coarser than 1 mm" in w for w in ctx.warnings)
    default_ctx = _context(scan, SegmentStageParams(), mr)
    build_stage().run(default_ctx)
    assert not any("coarser than" in w for w in default_ctx.warnings)
