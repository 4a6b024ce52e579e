"""Defect areas against analytic truth and an independent voxel-face count."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from twinsep.errors import AnatomyError, InputError
from twinsep.reconstruct.defects import DefectParams, measure_defects
from twinsep.volume import Volume

from .synthetic import rotation, two_heads


def voxel_interface_area_mm2(
    labels: Volume, twins: Volume, twin: int, tissues: tuple[int, ...]
) -> float:
    """Truth from the label maps alone: vector area of the twin/other-twin voxel faces.

    For each voxel axis, count the faces between a voxel of ``twin`` whose tissue is in
    ``tissues`` and a voxel of the other twin, signed by direction, times the face area;
    the three projected areas combine to the area of a flat cut exactly (on a staircase
    the signed counts cancel). Shares no code with the implementation (no surfaces).
    """
    tw, lab = twins.array, labels.array
    other = 3 - twin
    own = (tw == twin) & np.isin(lab, tissues)
    sp = twins.spacing_mm
    vec = np.zeros(3)
    for ax in range(3):
        a = np.moveaxis(own, ax, 0)
        o = np.moveaxis(tw == other, ax, 0)
        fwd = np.count_nonzero(a[:-1] & o[1:])
        bwd = np.count_nonzero(a[1:] & o[:-1])
        face_mm2 = np.prod([sp[j] for j in range(3) if j != ax])
        # projected area along voxel axis ax, as a world vector
        vec += (fwd - bwd) * face_mm2 * (twins.direction[:, ax])
    return float(np.linalg.norm(vec))


CASES = {
    "axis-aligned": {},
    "oblique-anisotropic": {
        "rot": rotation((1, 2, 3), 37),
        "spacing_mm": (1.5, 2.0, 2.5),
        "direction": (1, 1, 0),
    },
    "mirrored-affine": {"rot": np.diag([-1.0, 1.0, 1.0]) @ rotation((0, 1, 0), 20)},
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    labels, twins, truth = two_heads(**CASES[request.param])
    return labels, twins, truth, measure_defects(labels, twins)


def test_scalp_defect_matches_analytic_disc(case) -> None:
    labels, twins, truth, d = case
    u = twins.centroid_mm(twins.array == 2) - twins.centroid_mm(twins.array == 1)
    u /= np.linalg.norm(u)
    # the voxelised cut lies midway between the last A and the first B voxel layer,
    # up to half a voxel off the analytic mid-plane: bound the disc on both sides
    s = twins.world_coords(np.argwhere(twins.array > 0)) @ u
    own = twins.array[twins.array > 0]
    p = abs(0.5 * (s[own == 1].max() + s[own == 2].min()))
    r, h = truth["outer_radius_mm"], truth["half_distance_mm"]
    # a voxel whose centre is inside the head fills half a voxel beyond its surface:
    # the labelled disc's rim is uncertain by half the largest spacing
    half_vx = 0.5 * max(twins.spacing_mm)
    lo = np.pi * (np.sqrt(r * r - (h + p) ** 2) - half_vx) ** 2
    hi = np.pi * (np.sqrt(r * r - (h - p) ** 2) + half_vx) ** 2
    for name in ("A", "B"):
        # 2 % beyond the bounds (marching cubes); a wrong affine (spacing ignored) or
        # counting both sides of the cut would be off by > 20 %
        assert 0.98 * lo <= d[name].scalp_defect_area_mm2 <= 1.02 * hi
    assert lo <= truth["scalp_defect_area_mm2"] <= hi


def test_bone_and_dura_match_voxel_truth(case) -> None:
    labels, twins, _, d = case
    for t, name in ((1, "A"), (2, "B")):
        bone = voxel_interface_area_mm2(labels, twins, t, (2, 3, 4, 5))
        dura = voxel_interface_area_mm2(labels, twins, t, (3, 4, 5))
        scalp = voxel_interface_area_mm2(labels, twins, t, (1, 2, 3, 4, 5))
        # the target: within 10 % of the truth computed from the labels
        assert d[name].bone_defect_area_mm2 == pytest.approx(bone, rel=0.10)
        assert d[name].dura_exposed_area_mm2 == pytest.approx(dura, rel=0.10)
        assert d[name].scalp_defect_area_mm2 == pytest.approx(scalp, rel=0.10)
        assert (
            d[name].dura_exposed_area_mm2
            < d[name].bone_defect_area_mm2
            < d[name].scalp_defect_area_mm2
        )


def test_outlines_are_circles_of_the_right_size(case) -> None:
    _, _, truth, d = case
    r_scalp = np.sqrt(truth["outer_radius_mm"] ** 2 - truth["half_distance_mm"] ** 2)
    for name in ("A", "B"):
        loop = d[name].scalp_outline_mm
        # the outline lies on the cut circle: radius from the defect centroid within 2 mm
        r = np.linalg.norm(loop - d[name].defect_centroid_mm, axis=1)
        assert np.median(r) == pytest.approx(r_scalp, abs=2.0)
        assert d[name].scalp_outline_length_mm == pytest.approx(2 * np.pi * r_scalp, rel=0.08)
        assert len(d[name].bone_rim_mm) > 20
        assert d[name].bone_rim_length_mm < d[name].scalp_outline_length_mm


def test_defect_normal_points_to_other_twin(case) -> None:
    labels, twins, _, d = case
    ca = twins.centroid_mm(twins.array == 1)
    cb = twins.centroid_mm(twins.array == 2)
    u = (cb - ca) / np.linalg.norm(cb - ca)
    assert float(d["A"].defect_normal @ u) > 0.99  # flat cut: normal is the axis
    assert float(d["B"].defect_normal @ u) < -0.99


def test_available_scalp_matches_spherical_zone() -> None:
    labels, twins, truth = two_heads()
    u = np.array([0.0, 0.0, 1.0])
    params = DefectParams(equator_offset_mm=0.0)  # available zone ends at the equator
    d = measure_defects(labels, twins, head_axes={"A": u, "B": -u}, params=params)
    r, h, m = truth["outer_radius_mm"], truth["half_distance_mm"], params.bridge_margin_mm
    # zone of the sphere between the equator and the circle `m` mm (chord) from the crease
    a0 = np.arccos(h / r)
    a1 = a0 + 2 * np.arcsin(m / (2 * r))
    expect = 2 * np.pi * r * r * np.cos(a1)
    for name in ("A", "B"):
        # 8 %: the smoothed crease shifts the wound edge by about a voxel (~5 % here);
        # a margin measured wrongly (radius vs diameter) changes the zone by > 25 %
        assert d[name].available_scalp_area_mm2 == pytest.approx(expect, rel=0.08)
        assert d[name].skull_thickness_mm == pytest.approx(4.0, abs=1.5)


def test_estimated_axis_points_to_bridge_for_vertical_union() -> None:
    labels, twins, _ = two_heads()
    d = measure_defects(labels, twins)
    assert float(d["A"].head_axis @ np.array([0, 0, 1.0])) > 0.98
    assert float(d["B"].head_axis @ np.array([0, 0, -1.0])) > 0.98


def test_inputs_not_modified() -> None:
    labels, twins, _ = two_heads(spacing_mm=(3.0, 3.0, 3.0))
    before = [hashlib.sha256(v.array.tobytes()).hexdigest() for v in (labels, twins)]
    measure_defects(labels, twins)
    after = [hashlib.sha256(v.array.tobytes()).hexdigest() for v in (labels, twins)]
    assert before == after


def test_bad_inputs() -> None:
    labels, twins, _ = two_heads(spacing_mm=(3.0, 3.0, 3.0))
    only_a = twins.with_array(np.where(twins.array == 2, 0, twins.array).astype(np.uint8))
    with pytest.raises(AnatomyError, match="twin B has no voxels"):
        measure_defects(labels, only_a)
    apart = twins.array.copy()
    apart[np.abs(np.indices(apart.shape)[2] - apart.shape[2] // 2) < 3] = 0
    with pytest.raises(AnatomyError, match="share no boundary"):
        measure_defects(labels, twins.with_array(apart))
    bad = twins.with_array(np.where(twins.array > 0, 7, 0).astype(np.uint8))
    with pytest.raises(InputError, match="twins"):
        measure_defects(labels, bad)
    with pytest.raises(InputError, match="bridge_margin_mm"):
        DefectParams(bridge_margin_mm=-1)
