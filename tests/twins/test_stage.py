"""The twins stage through the plan runner's contract (run -> write -> plan.json sections)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twinsep.plan import PlanOptions, StageContext
from twinsep.realanatomy.fuse import FusionConfig, fuse_heads
from twinsep.realanatomy.head import analytic_head
from twinsep.segment.result import TissueLabels
from twinsep.twins.stage import build_stage


def test_twins_stage_writes_file_and_design_section(tmp_path: Path):
    case = fuse_heads(analytic_head(1.0), FusionConfig(spacing_mm=2.5, table=False))
    seg = TissueLabels(labels=case.labels, contrast=True, hu_thresholds={})
    opts = PlanOptions(scan_path=tmp_path / "ct.nii.gz")
    ctx = StageContext(opts, results={"segment": seg})
    stage = build_stage()
    ctx.params = stage.params
    ctx.stage_name = stage.name
    res = stage.run(ctx)
    out = stage.write(res, ctx, tmp_path)
    assert (tmp_path / "twins.nii.gz").is_file()
    tw = out["twins"]
    assert set(tw) == {"A", "B"}
    assert tw["A"]["hex"] == "#7B3FA0" and tw["A"]["colour"] == "purple"
    assert tw["B"]["hex"] == "#F28C28" and tw["B"]["colour"] == "orange"
    for name in ("A", "B"):
        assert set(tw[name]["tissue_ml"]) == {"soft_tissue", "bone", "brain", "csf", "vessel"}
        assert tw[name]["volume_ml"] == pytest.approx(sum(tw[name]["tissue_ml"].values()), abs=0.01)
    vv = case.labels.voxel_volume_mm3 / 1000
    total = float((case.labels.array > 0).sum()) * vv
    assert tw["A"]["volume_ml"] + tw["B"]["volume_ml"] == pytest.approx(total, rel=1e-4)
    assert "default" in out["twin_assignment"]["rule"]
    import nibabel as nib

    img = nib.load(str(tmp_path / "twins.nii.gz"))
    assert np.allclose(img.affine, case.labels.affine, atol=1e-4)
    assert set(np.unique(np.asarray(img.dataobj))) == {0, 1, 2}
