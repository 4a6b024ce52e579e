"""A twin's head and neck apart from its body below the shoulders (``twins.body``).

Truth: the analytic infant head (2.5 mm) above a neck (cylinder, 32 mm radius) and,
from a known shoulder level, a trunk (elliptic cylinder 80 x 55 mm): the head part is
every tissue voxel above the shoulder plane, counted exactly. The same twin without the
trunk (a scan cut through the neck, as every phantom without a body) has no body; the
bodies lie along whatever direction the neck leaves the head (here flipped and along
another array axis).
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.realanatomy.head import analytic_head
from twinsep.twins.body import split_head_body
from twinsep.twins.stage import body_warning
from twinsep.volume import Volume

SP = 2.5
NECK_MM = 45.0  # neck length below the head's cut
TRUNK_MM = 80.0


def _twin(trunk: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels (z up), the head-part mask and the shoulder level's z (mm)."""
    head = analytic_head(SP)
    nx, ny, nz = head.labels.shape
    below = int(round((NECK_MM + TRUNK_MM) / SP))
    lab = np.zeros((nx + 40, ny, nz + below), np.uint8)  # room for the shoulders
    ox = 20
    lab[ox : ox + nx, :, below:] = head.labels
    x = (np.arange(lab.shape[0]) - ox - (nx - 1) / 2) * SP
    y = (np.arange(ny) - (ny - 1) / 2) * SP
    z = (np.arange(lab.shape[2]) - below) * SP + head.affine[2, 3]
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
    z_cut = head.affine[2, 3]  # the head's lowest slice
    z_sh = z_cut - NECK_MM
    neck = (X**2 + (Y + 5.0) ** 2 <= 32.0**2) & (Z < z_cut + 20.0) & (Z >= z_sh)
    lab[neck & (lab == 0)] = L.SOFT_TISSUE
    if trunk:
        body = ((X / 80.0) ** 2 + (Y / 55.0) ** 2 <= 1) & (Z < z_sh)
        lab[body] = L.SOFT_TISSUE
    return lab, Z >= z_sh, z_sh


def _vol(a: np.ndarray) -> Volume:
    return Volume(a, np.diag([SP, SP, SP, 1.0]))


@pytest.mark.parametrize("layout", ["as_built", "flipped_xz"])
def test_head_and_body_against_truth(layout: str) -> None:
    lab, head_part, _ = _twin(trunk=True)
    if layout == "flipped_xz":  # body toward +x of the array: another axis, other sign
        lab = np.ascontiguousarray(np.swapaxes(lab, 0, 2)[::-1])
        head_part = np.ascontiguousarray(np.swapaxes(head_part, 0, 2)[::-1])
    twins = (lab > 0).astype(np.uint8)  # one twin, A
    res = split_head_body(_vol(lab), _vol(twins))
    vox = SP**3 / 1000.0
    truth_head = float(((lab > 0) & head_part).sum()) * vox
    truth_body = float(((lab > 0) & ~head_part).sum()) * vox
    a = res["A"]
    assert "B" not in res
    # within less than one 5 mm slab of the shoulder plane (a neck slab is 16 mL, a
    # trunk slab 69 mL): measured -8.2 mL
    assert a.head_ml == pytest.approx(truth_head, abs=12.0)
    assert a.body_ml == pytest.approx(truth_body, abs=12.0)
    assert a.head_ml + a.body_ml == pytest.approx(truth_head + truth_body, abs=0.01)
    assert sum(a.head_tissue_ml.values()) == pytest.approx(a.head_ml, abs=0.01)
    assert a.head_tissue_ml["brain"] == pytest.approx(float((lab == L.BRAIN).sum()) * vox, abs=0.01)
    assert a.shoulder_mm is not None and a.neck_dir is not None
    warning = body_warning(res)
    assert warning is not None and "twin A" in warning and f"{a.body_ml:.0f} mL" in warning


def test_no_body_without_trunk() -> None:
    lab, _, _ = _twin(trunk=False)
    twins = (lab > 0).astype(np.uint8)
    res = split_head_body(_vol(lab), _vol(twins))
    a = res["A"]
    assert a.body_ml == 0.0 and a.shoulder_mm is None
    assert a.head_ml == pytest.approx(float((lab > 0).sum()) * SP**3 / 1000.0, abs=0.01)
    assert body_warning(res) is None


def test_head_alone_has_no_neck() -> None:
    head = analytic_head(SP)
    twins = (head.labels > 0).astype(np.uint8)
    res = split_head_body(_vol(head.labels), _vol(twins))
    assert res["A"].neck_dir is None and res["A"].body_ml == 0.0


def test_cut_moves_head_volumes_too() -> None:
    """The separate stage corrects the twins section for what the cut moved: the cut
    lies in the heads, so the head volumes move by the same amounts."""
    from twinsep.separate.moved import corrected_twins_section

    entry = {
        "volume_ml": 3000.0,
        "tissue_ml": {"soft_tissue": 2000.0, "bone": 1000.0},
        "head_volume_ml": 1300.0,
        "head_tissue_ml": {"soft_tissue": 700.0, "bone": 600.0},
        "body_volume_ml": 1700.0,
    }
    out = corrected_twins_section({"A": entry}, {"A": {"soft_tissue": -2.5, "bone": 1.0}})
    a = out["A"]
    assert a["volume_ml"] == pytest.approx(2998.5)
    assert a["head_volume_ml"] == pytest.approx(1298.5)
    assert a["head_tissue_ml"] == {"soft_tissue": 697.5, "bone": 601.0}
    assert a["body_volume_ml"] == 1700.0
