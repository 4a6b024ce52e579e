"""A twin's head and neck apart from its body below the shoulders (``twins.body``).

Truth: the analytic infant head (2.5 mm) above a neck (cylinder, 32 mm radius) and,
from a known shoulder level, a trunk (elliptic cylinder 80 x 55 mm): the head part is
every tissue voxel above the shoulder plane, counted exactly. The same twin without the
trunk (a scan cut through the neck, as every phantom without a body) has no body; the
bodies lie along whatever direction the neck leaves the head (here flipped and along
another array axis). Two more twins: shoulders that widen over 40 mm, tilted 25 deg to
the scan's slices and cut by its edge 5 mm below their lowest point (the truth: the
same shoulder plane, rotated with the twin), and an arm raised from the trunk's side
along the head, pressed 3 mm into its scalp and over its top (the truth: the head part
without the arm).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

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


def _grid(
    lab: np.ndarray, below: int, ox: int, nx: int, ny: int, z0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = (np.arange(lab.shape[0]) - ox - (nx - 1) / 2) * SP
    y = (np.arange(ny) - (ny - 1) / 2) * SP
    z = (np.arange(lab.shape[2]) - below) * SP + z0
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
    return X, Y, Z


def _sloped_twin() -> tuple[np.ndarray, np.ndarray]:
    """Labels and head part of a twin whose shoulders widen from the neck (32 mm) to
    the trunk (80 x 55 mm) over 40 mm below the shoulder plane."""
    head = analytic_head(SP)
    nx, ny, nz = head.labels.shape
    below = int(round((NECK_MM + TRUNK_MM) / SP))
    lab = np.zeros((nx + 40, ny, nz + below), np.uint8)
    lab[20 : 20 + nx, :, below:] = head.labels
    X, Y, Z = _grid(lab, below, 20, nx, ny, head.affine[2, 3])
    z_cut = head.affine[2, 3]
    z_sh = z_cut - NECK_MM
    neck = (X**2 + (Y + 5.0) ** 2 <= 32.0**2) & (Z < z_cut + 20.0) & (Z >= z_sh)
    lab[neck & (lab == 0)] = L.SOFT_TISSUE
    f = np.clip((z_sh - Z) / 40.0, 0.0, 1.0)
    a, b = 32.0 + 48.0 * f, 32.0 + 23.0 * f
    lab[((X / a) ** 2 + ((Y + 5.0 * (1.0 - f)) / b) ** 2 <= 1) & (Z < z_sh)] = L.SOFT_TISSUE
    return lab, Z >= z_sh


def test_shoulders_cut_by_the_scan_edge() -> None:
    """Before the cut-slab rule: no level, head +162.7 mL (the upper chest) over the
    truth; with it +13.9 mL, as with the whole trunk in the scan (+9.2 mL); with the
    shoulders' top at the profile's knee +1.0 mL (+0.7 mL with the whole trunk)."""
    lab, head_part = _sloped_twin()
    lab = ndi.rotate(lab, 25.0, axes=(1, 2), order=0, reshape=True)
    head_part = ndi.rotate(head_part.astype(np.uint8), 25.0, axes=(1, 2), order=0) > 0
    low = int(np.flatnonzero(((lab > 0) & head_part).any(axis=(0, 1)))[0])
    z0 = low - 2  # the scan ends 5 mm below the shoulder plane's lowest point
    lab, head_part = np.ascontiguousarray(lab[:, :, z0:]), head_part[:, :, z0:]
    res = split_head_body(_vol(lab), _vol((lab > 0).astype(np.uint8)))
    a = res["A"]
    vox = SP**3 / 1000.0
    truth_head = float(((lab > 0) & head_part).sum()) * vox
    assert a.shoulder_mm is not None and a.shoulders_cut
    assert a.head_ml == pytest.approx(truth_head, abs=25.0)
    assert a.limb_ml == 0.0
    warning = body_warning(res)
    assert warning is not None and "ends at its shoulders" in warning
    # the same twin with the whole trunk in the scan: found on whole slabs
    whole, _ = _sloped_twin()
    b = split_head_body(_vol(whole), _vol((whole > 0).astype(np.uint8)))["A"]
    assert b.shoulder_mm is not None and not b.shoulders_cut


def test_raised_arm_is_not_head() -> None:
    """An arm from the trunk's side, pressed 3 mm into the scalp along the head and
    over its top: before the limb rule the head held it (+196.3 mL over the truth; the
    arm above the shoulder plane is 207.1 mL); with it +33.7 mL (the arm's side within
    the head's 15 mm covering), limb 162.6 mL; with the level read again without the
    limb, at the profile's knee, +21.9 mL, limb 159.4 mL."""
    lab, head_part, z_sh = _twin(trunk=True)
    lab = np.pad(lab, ((0, 0), (0, 0), (0, 40)))
    head_part = np.pad(head_part, ((0, 0), (0, 0), (0, 40)), constant_values=True)
    nx, ny, _ = analytic_head(SP).labels.shape
    below = int(round((NECK_MM + TRUNK_MM) / SP))
    X, Y, Z = _grid(lab, below, 20, nx, ny, analytic_head(SP).affine[2, 3])

    def tube(
        p0: tuple[float, float, float], p1: tuple[float, float, float], r: float
    ) -> np.ndarray:
        a, d = np.asarray(p0), np.asarray(p1) - np.asarray(p0)
        t = np.clip(((X - a[0]) * d[0] + (Y - a[1]) * d[1] + (Z - a[2]) * d[2]) / (d @ d), 0, 1)
        return (X - a[0] - t * d[0]) ** 2 + (Y - a[1] - t * d[1]) ** 2 + (
            Z - a[2] - t * d[2]
        ) ** 2 <= r * r

    r_arm = 18.0
    x_arm = 61.0 + r_arm - 3.0  # the head reaches x = 61 mm
    top = (30.0, 0.0, 61.0 + r_arm - 3.0)
    arm = tube((x_arm, 0.0, z_sh - 30.0), (x_arm, 0.0, 10.0), r_arm)
    arm |= tube((x_arm, 0.0, 10.0), top, r_arm)
    arm &= lab == 0
    lab[arm] = L.SOFT_TISSUE
    res = split_head_body(_vol(lab), _vol((lab > 0).astype(np.uint8)))
    a = res["A"]
    vox = SP**3 / 1000.0
    truth_head = float(((lab > 0) & head_part & ~arm).sum()) * vox
    arm_above = float((arm & head_part).sum()) * vox
    assert arm_above > 150.0
    assert a.head_ml == pytest.approx(truth_head, abs=50.0)
    assert a.limb_ml == pytest.approx(arm_above, abs=60.0)
    assert a.head_ml + a.body_ml == pytest.approx(float((lab > 0).sum()) * vox, abs=0.01)
    warning = body_warning(res)
    assert warning is not None and "raised arm" in warning


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
    # in words, not plan.json's keys (it said "volume_ml and tissue_ml count them;
    # head_volume_ml and head_tissue_ml count the head")
    assert "_ml" not in warning and "head and neck above the shoulders" in warning


def test_no_body_without_trunk() -> None:
    lab, _, _ = _twin(trunk=False)
    twins = (lab > 0).astype(np.uint8)
    res = split_head_body(_vol(lab), _vol(twins))
    a = res["A"]
    assert a.body_ml == 0.0 and a.shoulder_mm is None
    assert a.head_ml == pytest.approx(float((lab > 0).sum()) * SP**3 / 1000.0, abs=0.01)
    assert body_warning(res) is None


@pytest.mark.parametrize("cut_mm", [0.0, 20.0])
def test_neck_cut_obliquely_has_no_body(cut_mm: float) -> None:
    """A scan that ends in the neck, 35 deg oblique to it: the cut slabs shrink, never
    widen, so the cut-slab rule finds no shoulders (also none at 15 and 25 deg, nor
    10 and 30 mm up the neck)."""
    lab, _, _ = _twin(trunk=False)
    lab = ndi.rotate(lab, 35.0, axes=(1, 2), order=0, reshape=True)
    z0 = int(np.flatnonzero(lab.any(axis=(0, 1)))[0]) + int(round(cut_mm / SP))
    lab = np.ascontiguousarray(lab[:, :, z0:])
    a = split_head_body(_vol(lab), _vol((lab > 0).astype(np.uint8)))["A"]
    assert a.neck_dir is not None
    assert a.shoulder_mm is None and not a.shoulders_cut and a.body_ml == 0.0


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
