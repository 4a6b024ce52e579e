"""Twin assignment, cut and fusion do not depend on how the scan is stored.

Hand-made heads (``tests/fusion/handmade_pairs.py``, independent of ``twinsep.phantom``)
on an anisotropic grid, stored again with axes permuted and reversed (the same voxels at
the same world positions), and with the same voxels under a rotated affine written in
float32 (as a NIfTI sform holds it).

Measured before the fixes (docs/orientation.md, "Whole plan in 16 storages"):

* ``assign_twins`` gave 410 voxels (2 mL) to the other twin when the 1.1 mm axis was
  reversed: its coarse blocks start at the tissue box's first voxel (3497 voxels on the
  real CT stored flipped). Now it runs on the canonical layout.
* ``min_cut_twins`` on its coarse-to-fine path moved 1306 voxels of the cut for a
  permuted, reversed copy (coarse blocks again). Now on the canonical layout.
* A 30 deg rotated affine in float32 made the 3.13 mm phantom grid anisotropic by a few
  1e-8 mm (column norms 3.1330227401-3.1330228254), and the cut's exact ties went
  another way (15 voxels of the twins; 6 on the 64-voxel phantom's truth). ``spacing_from_affine`` now reads to float32.
* The staged divisions' sectors were counted from a world axis across the bridge, so
  the rotated copy's kerf had 258 of 2950 voxels in another stage; now from twin A's
  face.
* The fusion frames' strided grid (twins over 3 M voxels) was counted from the array's
  first voxel: other voxels for a reversed axis. Now taken on the canonical layout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from grids import rotation_matrix
from storage_layouts import back, stored
from twinsep.separate.mincut import min_cut_twins
from twinsep.separate.params import CutParams
from twinsep.separate.plan import _azimuth
from twinsep.twins.assign import assign_twins
from twinsep.volume import Volume, spacing_from_affine

sys.path.insert(0, str(Path(__file__).parents[1] / "fusion"))
from handmade_pairs import make_pair  # noqa: E402

#: (axis order, reversed axes): the 1.1 mm axis reversed; a sagittal-first stack
#: reversed along i; all three reversed and i, j swapped
LAYOUTS = [((0, 1, 2), (2,)), ((2, 0, 1), (0,)), ((1, 0, 2), (0, 1, 2))]


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, true twins and affine: 64 x 64 x 161 voxels of 2.6 x 2.6 x 1.1 mm, so
    that the twins' coarse blocks (2.5 mm) span two slices and the tissue's extent
    along k is not a whole number of them."""
    p = make_pair(
        shape=(64, 64, 161),
        spacing=(2.6, 2.6, 1.1),
        neck=False,
        site_a=(20.0, 0.0),
        site_b=(15.0, 180.0),
        sinus="sagittal",
    )
    return p.labels.astype(np.uint8), p.twins.astype(np.uint8), p.affine


@pytest.mark.parametrize(("order", "flips"), LAYOUTS)
def test_twins_same_in_every_layout(pair: tuple, order: tuple, flips: tuple) -> None:
    lab, _, aff = pair
    ref = assign_twins(Volume(lab, aff))
    lab_v, aff_v = stored(lab, aff, order, flips)
    got = assign_twins(Volume(lab_v, aff_v))
    moved = int((back(np.asarray(got.twins.array), order, flips) != ref.twins.array).sum())
    assert moved == 0
    assert got.volume_ml == ref.volume_ml
    assert got.tissue_ml == ref.tissue_ml
    np.testing.assert_allclose(got.a_centroid_mm, ref.a_centroid_mm, atol=1e-9)


@pytest.mark.parametrize(("order", "flips"), LAYOUTS)
def test_coarse_to_fine_cut_same_in_every_layout(pair: tuple, order: tuple, flips: tuple) -> None:
    """The cut's coarse-to-fine path (forced here by a small node cap: blocks of 4)."""
    lab, tw, aff = pair
    params = CutParams(max_fine_nodes=100)
    ref = min_cut_twins(Volume(lab, aff), Volume(tw, aff), params=params)
    assert ref.moved_vx > 100  # the cut moved the boundary: there is something to compare
    lab_v, aff_v = stored(lab, aff, order, flips)
    tw_v, _ = stored(tw, aff, order, flips)
    got = min_cut_twins(Volume(lab_v, aff_v), Volume(tw_v, aff_v), params=params)
    assert int((back(got.twins, order, flips) != ref.twins).sum()) == 0
    assert got.moved_vx == ref.moved_vx


def _float32_rotated(aff: np.ndarray, deg: float) -> np.ndarray:
    """``aff`` turned ``deg`` about an oblique axis, as a NIfTI sform stores it (``deg``
    0: ``aff`` itself as stored)."""
    t = np.eye(4)
    t[:3, :3] = rotation_matrix(np.array([1.0, 0.3, 0.5]), deg)
    img = nib.Nifti1Image(np.zeros((2, 2, 2), np.uint8), t @ aff)
    return np.asarray(img.get_sform(), dtype=np.float64)  # float32 header field


def test_rotated_float32_affine_keeps_the_spacing() -> None:
    aff = np.diag([3.13302279, 3.13302279, 3.13302279, 1.0])
    aff[:3, 3] = [-89.95, -85.33, -150.62]
    aff = _float32_rotated(aff, 0.0)  # the square grid as a NIfTI stores it
    rot = _float32_rotated(aff, 30.0)
    raw = np.linalg.norm(rot[:3, :3], axis=0)
    assert np.ptp(raw) > 0.0  # float32 storage made the cube anisotropic (a few 1e-8)
    assert spacing_from_affine(rot) == spacing_from_affine(aff)
    assert len(set(spacing_from_affine(rot))) == 1


def test_cut_same_under_a_rotated_float32_affine() -> None:
    """Same voxels, affine turned 30 deg and stored in float32: the same cut on the
    cubic 64-voxel phantom grid, exact ties included (6 voxels differed before)."""
    from twinsep.phantom import make_phantom

    ph = make_phantom("vertical-II", size=64, seed=0)
    lab, tw = ph.labels.array, ph.twins.array
    aff = _float32_rotated(ph.labels.affine, 0.0)  # both as NIfTI files store them
    ref = min_cut_twins(Volume(lab, aff), Volume(tw, aff))
    assert ref.moved_vx > 100
    rot = _float32_rotated(aff, 30.0)
    got = min_cut_twins(Volume(lab, rot), Volume(tw, rot))
    assert int((got.twins != ref.twins).sum()) == 0


def test_stage_sectors_turn_with_the_heads() -> None:
    """Azimuths about the bridge counted from a direction of the heads: the same when
    the whole scene is turned (before: from a world axis across the bridge)."""
    rng = np.random.default_rng(2)
    pts = rng.normal(size=(50, 3)) * 30.0
    centre = np.array([1.0, -2.0, 3.0])
    axis = np.array([0.1, 0.2, 0.97])
    axis /= np.linalg.norm(axis)
    face = np.array([0.9, -0.3, 0.1])
    ref = _azimuth(pts, centre, axis, face)
    rot = rotation_matrix(np.array([0.4, -1.0, 0.2]), 40.0)
    got = _azimuth(pts @ rot.T, rot @ centre, rot @ axis, rot @ face)
    diff = (got - ref + 180.0) % 360.0 - 180.0
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)


def test_strided_frames_same_in_every_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twins above ``FRAME_MAX_VOXELS`` (3 M voxels: most real CTs at 1 mm or finer)
    get their frames on a strided grid; forced here with a small cap (steps 2, 2, 4).
    Before the grid was taken on the canonical layout, the copy with every axis
    reversed and i, j swapped kept other voxels and read axis angle 117.1 deg and
    rotation 88.6 deg for 130.3 / 7.1."""
    import twinsep.fusion.analysis as fa

    monkeypatch.setattr(fa, "FRAME_MAX_VOXELS", 5000)
    p = make_pair(
        shape=(64, 64, 161),
        spacing=(2.6, 2.6, 1.1),
        site_a=(20.0, 0.0),
        site_b=(15.0, 180.0),
        roll_deg=30.0,
    )
    lab, tw, aff = p.labels.astype(np.uint8), p.twins.astype(np.uint8), p.affine
    ref = fa.analyse_fusion(Volume(lab, aff), Volume(tw, aff))
    order, flips = LAYOUTS[2]
    lab_v, aff_v = stored(lab, aff, order, flips)
    tw_v, _ = stored(tw, aff, order, flips)
    got = fa.analyse_fusion(Volume(lab_v, aff_v), Volume(tw_v, aff_v))
    assert got.axis_angle_deg == pytest.approx(ref.axis_angle_deg, abs=1e-9)
    assert got.rotation_deg == pytest.approx(ref.rotation_deg, abs=1e-9)
    for k in ("A", "B"):
        np.testing.assert_allclose(got.frames[k].axis, ref.frames[k].axis, atol=1e-12)
        np.testing.assert_allclose(got.frames[k].face_dir, ref.frames[k].face_dir, atol=1e-12)


@pytest.mark.parametrize(("order", "flips"), LAYOUTS)
def test_head_and_body_same_in_every_layout(pair: tuple, order: tuple, flips: tuple) -> None:
    """Each twin's head volume per tissue is counted on a 2 mm grid strided from the
    canonical layout's first voxel (here every 2nd of the 1.1 mm slices): counted from
    the array's, a reversed axis kept the other slices (the real CT's heads read
    0.01-3 mL per tissue apart between two storages of one scan)."""
    from twinsep.twins.body import split_head_body

    lab, tw, aff = pair
    lab, tw = lab[:, :, 1:], tw[:, :, 1:]  # 160 slices: reversed, every 2nd is another
    aff = aff.copy()
    aff[:3, 3] += aff[:3, 2]
    ref = split_head_body(Volume(lab, aff), Volume(tw, aff))
    lab_v, aff_v = stored(lab, aff, order, flips)
    tw_v, _ = stored(tw, aff, order, flips)
    got = split_head_body(Volume(lab_v, aff_v), Volume(tw_v, aff_v))
    assert got.keys() == ref.keys() == {"A", "B"}
    for k in ref:
        assert got[k].head_tissue_ml == ref[k].head_tissue_ml, k
        assert got[k].body_ml == ref[k].body_ml, k
