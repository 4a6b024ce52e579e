"""Uncovered cranial cavity that is not the scan's cut, and fusion type on oblique grids.

The long-axis detector takes brain/CSF with background within ``open_cover_mm`` for the
face where a scan cut the head, and that cut's normal as the down direction. Cavity
can also be uncovered where nothing was cut: a bone defect under thin scalp, or the
crease where two real-CT heads join. On ``real-ct-vertical`` resampled onto a 30 deg
oblique grid such a crease piece (600 mm2, flatness 0.37) passed as a cut and its
normal, 67 deg from the true down direction, replaced the skull-base cues: angular
102.3 deg instead of vertical (docs/orientation.md). A scan cuts the whole body along
one plane, so a cut face is now accepted only where the skin around it is cut flat
along the same plane.

Ground truth: hand-made pairs (``handmade_pairs.py``, world-mm geometry independent of
the detector) with a thin-covered window carved into each head, and ``twinsep.phantom``
kinds rendered directly on a rotated grid (exact labels and truth).
"""

from __future__ import annotations

import sys
from pathlib import Path

import edt
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from twinsep import labels as L
from twinsep import phantom
from twinsep.fusion import analyse_fusion, twin_frame
from twinsep.fusion.axes import angle_deg
from twinsep.fusion.params import AxisParams
from twinsep.realanatomy import realct
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
from handmade_pairs import R_CSF, R_SCALP, make_pair  # noqa: E402

from grids import resample_oblique  # noqa: E402

#: The grid of the failing real-CT copy: 30 deg about (1, 0.3, 0.5).
_OBLIQUE_AXIS = np.array([1.0, 0.3, 0.5]) / np.linalg.norm([1.0, 0.3, 0.5])
OBLIQUE = Rotation.from_rotvec(np.radians(30.0) * _OBLIQUE_AXIS).as_matrix()

#: Thin soft tissue left over the window (mm): under ``open_cover_mm`` (6 mm).
WINDOW_COVER_MM = 2.5


def _with_windows(elevation_deg: float, half_angle_deg: float) -> tuple[Volume, Volume, dict]:
    """A vertical hand-made pair on the oblique grid, each head with a bone window.

    Around the direction ``elevation_deg`` from the vertex, at the back of the head,
    within ``half_angle_deg``, the skull and scalp are replaced by
    ``WINDOW_COVER_MM`` of soft tissue: the CSF there lies under thin cover, as under
    a bone defect, but nothing is cut (the skin stays a sphere).
    """
    pair = make_pair(shape=(90, 90, 90), spacing=(2.6, 2.6, 2.6), grid_rot=OBLIQUE)
    lab = pair.labels.copy()
    tw = pair.twins.copy()
    aff = pair.affine
    ijk = np.indices(lab.shape).reshape(3, -1).T.astype(np.float64)
    xyz = (ijk @ aff[:3, :3].T + aff[:3, 3]).reshape(*lab.shape, 3)
    dist = 2 * R_SCALP + 12.0  # make_pair's default bridge gap
    windows = {}
    for name, t, up, face in (
        ("A", L.TWIN_A, pair.axis_a, pair.face_a),
        ("B", L.TWIN_B, pair.axis_b, pair.face_b),
    ):
        centre = -pair.bridge_axis * dist / 2 if t == L.TWIN_A else pair.bridge_axis * dist / 2
        e = np.radians(elevation_deg)
        w = np.cos(e) * up - np.sin(e) * face  # toward the back of the head
        rel = xyz - centre
        rr = np.linalg.norm(rel, axis=-1)
        cone = (rel @ w) >= rr * np.cos(np.radians(half_angle_deg))
        mine = (tw == t) & cone
        lab[mine & (rr > R_CSF) & (rr <= R_CSF + WINDOW_COVER_MM)] = L.SOFT_TISSUE
        gone = mine & (rr > R_CSF + WINDOW_COVER_MM)
        lab[gone] = L.BACKGROUND
        tw[gone] = 0
        windows[name] = (up, w)
    return Volume(lab, aff), Volume(tw, aff), windows


def test_uncovered_cavity_without_a_flat_cut_is_not_a_cut() -> None:
    # window 70 deg from the down direction (elevation 110 deg from the vertex): before
    # the fix it passed as a cut face (900 mm2, flatness 0.2) and its normal replaced
    # the skull-base cues (94 deg apart): twin A's axis 70 deg off
    labels, twins, windows = _with_windows(elevation_deg=110.0, half_angle_deg=30.0)
    ap = AxisParams()
    lab, tw = labels.array, twins.array
    cover = edt.edt(tw != 0, anisotropy=labels.spacing_mm, black_border=False)
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        up, w = windows[name]
        # the window really is uncovered cavity (> 2 mL within open_cover_mm of the
        # background), lying in the window's direction (else the test proves nothing)
        bare = (tw == t) & np.isin(lab, (L.BRAIN, L.CSF)) & (cover <= ap.open_cover_mm)
        assert bare.sum() * labels.voxel_volume_mm3 > 2000.0
        brain = labels.world_coords(np.argwhere((tw == t) & (lab == L.BRAIN))).mean(axis=0)
        seen = labels.world_coords(np.argwhere(bare)).mean(axis=0) - brain
        assert angle_deg(seen, w) < 10.0
        f = twin_frame(labels, twins, t)
        assert f.cue_dirs is not None
        assert "cut" not in f.cue_dirs and "body_cut" not in f.cue_dirs, sorted(f.cue_dirs)
        # measured 3-4 deg (the neck and skull base); the window's normal is 70 deg off
        assert angle_deg(f.axis, up) < 8.0, (name, angle_deg(f.axis, up))
        assert not any("scan ends inside the head" in n for n in f.notes)
    fa = analyse_fusion(labels, twins, contrast=False)
    assert fa.type == "vertical"
    assert fa.axis_angle_deg > 170.0


def test_a_scan_cut_is_still_a_cut_beside_a_window() -> None:
    # Heads with a window higher up (70 deg from the vertex) whose scan ends 22 mm below
    # the brain centre, across the head's axis: the skin is flat along that cut and the
    # cut is taken (the larger uncovered piece), so the rule does not just switch the
    # cavity cue off. Truth: the plane's normal, the head's axis.
    labels, twins, windows = _with_windows(elevation_deg=70.0, half_angle_deg=30.0)
    lab, tw = labels.array.copy(), twins.array.copy()
    ijk = np.indices(lab.shape).reshape(3, -1).T.astype(np.float64)
    xyz = (ijk @ labels.affine[:3, :3].T + labels.affine[:3, 3]).reshape(*lab.shape, 3)
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        up, _ = windows[name]
        body = tw == t
        brain = body & (lab == L.BRAIN)
        centre = xyz[brain].mean(axis=0)
        gone = body & (((xyz - centre) @ -up) > 22.0)
        lab[gone] = L.BACKGROUND
        tw[gone] = 0
    cut_labels, cut_twins = Volume(lab, labels.affine), Volume(tw, labels.affine)
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        up, _ = windows[name]
        f = twin_frame(cut_labels, cut_twins, t)
        assert f.cue_dirs is not None and "cut" in f.cue_dirs
        assert angle_deg(-f.cue_dirs["cut"], up) < 3.0
        assert angle_deg(f.axis, up) < 8.0


def test_cut_weight_fades_continuously() -> None:
    # skull base and cut 20..40 deg apart: the skull base's weight goes 1 -> 0 linearly,
    # so the axis moves continuously from the weighted mean to the cut alone
    from twinsep.fusion.axes import _fade

    ap = AxisParams()
    assert _fade(ap.cut_agree_deg, ap.cut_agree_deg, ap.cut_alone_deg) == 1.0
    assert _fade(ap.cut_alone_deg, ap.cut_agree_deg, ap.cut_alone_deg) == 0.0
    mid = 0.5 * (ap.cut_agree_deg + ap.cut_alone_deg)
    assert _fade(mid, ap.cut_agree_deg, ap.cut_alone_deg) == pytest.approx(0.5)
    xs = np.linspace(0.0, 180.0, 721)
    ws = np.array([_fade(x, ap.cut_agree_deg, ap.cut_alone_deg) for x in xs])
    assert np.all(np.diff(ws) <= 0.0) and np.abs(np.diff(ws)).max() < 0.02
    # a step when both limits are equal (the old rule), still monotone
    assert _fade(40.0, 40.0, 40.0) == 1.0 and _fade(40.1, 40.0, 40.0) == 0.0


@pytest.mark.parametrize(
    "kind", ["vertical-I", "vertical-partial", "angular-frontal", "angular-occipital-partial"]
)
def test_phantom_rendered_on_an_oblique_grid_keeps_type_and_angle(kind: str) -> None:
    # the phantom drawn directly on the 30 deg oblique grid (exact labels): fusion type
    # as the truth, axes within 6 deg of the truth and the axis angle within 4 deg of
    # the axis-aligned grid's (measured on exact labels at 96: per-twin 2.5-4.8 deg on
    # both grids, the angle 0.2-2.1 deg apart between the grids; since the neck's own
    # axis from its walls, 2026-11-27, vertical-I reads 175.2 on the axis-aligned grid,
    # 173.8 before, and 171.7 on the oblique one as before, whose neck shows no flat
    # end to fit the walls from: 3.5 apart; since the walls' normals are smoothed,
    # 2026-11-27, the axis-aligned copies read nearer the truth, vertical-I 177.3 and
    # vertical-partial 178.8, the oblique ones 171.7 / 173.3 as before: 5.5 apart, so
    # the grids are compared within 6 deg and each grid's axes with the truth)
    ref = phantom.make_phantom(kind, size=96, seed=0, table=False)
    aff = np.eye(4)
    aff[:3, :3] = OBLIQUE * np.asarray(ref.truth.spacing_mm)
    ph = phantom.make_phantom(kind, seed=0, affine=aff, table=False)
    # the grid really is oblique: voxel axes 15, 29 and 27 deg from the nearest world
    # axis (the first lies near the rotation axis)
    lin = ph.labels.affine[:3, :3] / np.asarray(ph.labels.spacing_mm)
    off = np.degrees(np.arccos(np.abs(lin).max(axis=0)))
    assert np.all(off > 10.0) and off.max() > 25.0, off
    fa_ref = analyse_fusion(ref.labels, ref.twins, contrast=True)
    fa = analyse_fusion(ph.labels, ph.twins, contrast=True)
    assert fa.type == ph.truth.type == fa_ref.type
    assert abs(fa.axis_angle_deg - fa_ref.axis_angle_deg) < 6.0
    for name in ("A", "B"):
        up = -np.asarray(ph.truth.twins[name].long_axis, dtype=float)
        assert angle_deg(fa.frames[name].axis, up) < 6.0
        up_ref = -np.asarray(ref.truth.twins[name].long_axis, dtype=float)
        assert angle_deg(fa_ref.frames[name].axis, up_ref) < 6.0


def _resampled(ct: Volume, rot: np.ndarray) -> Volume:
    """``ct`` resampled (linear, -1024 HU outside) onto a grid whose axes are ``rot``
    times the input's (``grids.resample_oblique``)."""
    arr, aff = resample_oblique(ct.array.astype(np.int16), ct.affine, rot)
    return Volume(arr, aff, {"kind": "CT"})


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.skipif(
    realct.inv3_path() is None,
    reason="Cranium.inv3 (Debian invesalius-examples) not installed: make realdata",
)
def test_real_ct_vertical_on_oblique_grids_stays_vertical() -> None:
    # real-ct-vertical at 2 mm resampled onto grids rotated 20 deg about z and 30 deg
    # about (1, 0.3, 0.5), segmented and assigned by twinsep: a guard, in about 30 s,
    # for the real-CT failure that needs the 1 mm case (several minutes): there the
    # crease where the heads join passed as a cut on both grids (angular 101-102 deg,
    # docs/orientation.md). At 2 mm the segmentation of d697aad showed it on the 20 deg
    # grid too (twin B 29 deg off, 146.9 deg); with later segmentation no crease piece
    # passes the flatness gate at 2 mm and the old detector reads the same. Measured
    # now: 4.3-4.7 deg per twin, 170.8-171.5 deg.
    from twinsep.segment import segment_ct
    from twinsep.twins.assign import assign_twins

    case, ct, facts = realct.build_real_ct_case("real-ct-vertical", spacing_mm=2.0)
    z = np.array([0.0, 0.0, 1.0])
    up = {case.b_copy_twin: case.b_rotation @ z, 3 - case.b_copy_twin: z}
    assert facts["type"] == "vertical"
    for axis, deg in (((0.0, 0.0, 1.0), 20.0), ((1.0, 0.3, 0.5), 30.0)):
        u = np.asarray(axis) / np.linalg.norm(axis)
        obl = _resampled(ct, Rotation.from_rotvec(np.radians(deg) * u).as_matrix())
        labels = segment_ct(obl).labels
        twins = assign_twins(labels).twins
        fa = analyse_fusion(labels, twins, contrast=False)
        assert fa.type == "vertical", (axis, fa.axis_angle_deg)
        assert fa.axis_angle_deg > 160.0
        for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
            assert angle_deg(fa.frames[name].axis, up[t]) < 8.0, (axis, name)
