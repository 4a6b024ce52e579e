"""Shared sinus or two sinuses touching: hand-made label volumes at 1.2 and 3 mm voxels.

The twin boundary is the plane x = 0 (twin A at x < 0). Tubes of radius 3 mm (a 6 mm
sinus) are drawn from the fraction of each voxel inside them (4^3 sub-samples, vessel
where at least half). On the phantoms (docs/separation.md, "Shared sinus or two sinuses
touching") partial volume linked the two twins' own sinuses through a chain one voxel
across; the link here is that chain, laid by hand across the membrane.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from twinsep.fusion.completeness import (
    NO_SHARED_SINUS,
    SHARED_SINUS,
    UNRESOLVED_PARTIAL,
    UNRESOLVED_TOTAL,
    call_completeness,
)
from twinsep.fusion.params import FusionParams
from twinsep.fusion.shared import SharedInventory, boundary_face_count, shared_inventory
from twinsep.fusion.surface import interface_mesh
from twinsep.labels import BONE, BRAIN, TWIN_A, TWIN_B, VESSEL
from twinsep.separate.crossings import sinus_share_ml
from twinsep.volume import Volume

EXTENT_MM = 72.0
RADIUS_MM = 3.0


def _grid(vox_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Voxel-centre coordinates (mm, 1D) and the affine; x = 0 falls between voxels."""
    n = int(round(EXTENT_MM / vox_mm))
    c = (np.arange(n) + 0.5 - n / 2) * vox_mm
    aff = np.diag([vox_mm, vox_mm, vox_mm, 1.0])
    aff[:3, 3] = c[0]
    return c, aff


def _covered(c: np.ndarray, vox_mm: float, inside: Callable[..., np.ndarray]) -> np.ndarray:
    """Share of each voxel (centres ``c`` on every axis) where ``inside(x, y, z)`` holds,
    from 4 sub-samples per axis."""
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    frac = np.zeros((c.size,) * 3)
    for sx in sub:
        for sy in sub:
            for sz in sub:
                x, y, z = np.meshgrid(
                    c + sx * vox_mm, c + sy * vox_mm, c + sz * vox_mm, indexing="ij"
                )
                frac += inside(x, y, z)
    return frac / sub.size**3


def _tube_fraction(c: np.ndarray, vox_mm: float, p0: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Share of each voxel within RADIUS_MM of the line p0 + t d (4 sub-samples per axis)."""
    d = d / np.linalg.norm(d)

    def inside(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        rel = np.stack([x - p0[0], y - p0[1], z - p0[2]])
        along = np.tensordot(d, rel, axes=1)
        return (rel**2).sum(0) - along**2 <= RADIUS_MM**2

    return _covered(c, vox_mm, inside)


def _case(
    vox_mm: float,
    tubes: list[tuple[np.ndarray, np.ndarray]],
    *,
    membrane: bool,
    link: bool,
    window_share: float = 0.0,
) -> tuple[Volume, Volume]:
    """Labels (brain everywhere, a bone plate |x| < 1 mm, vessel tubes) and twins.

    ``window_share``: the plate leaves this share of the plane open (at large y), where
    the two brains touch.
    """
    c, aff = _grid(vox_mm)
    x = c[:, None, None] * np.ones((1, c.size, c.size))
    y = c[None, :, None] * np.ones((c.size, 1, c.size))
    lab = np.full(x.shape, BRAIN, np.uint8)
    if membrane:
        # a 2 mm plate: the voxels whose centres lie nearest the plane
        plate = (np.abs(x) <= max(1.0, vox_mm / 2)) & (y < EXTENT_MM * (0.5 - window_share))
        lab[plate] = BONE
    for p0, d in tubes:
        lab[_tube_fraction(c, vox_mm, p0, d) >= 0.5] = VESSEL
    if link:
        # a strip one voxel thick and three wide joining the two tubes through the
        # membrane (at y = 0, z = 0): three voxel faces on the boundary, whatever the
        # voxel size (partial volume of a structure thinner than a voxel)
        j = int(np.argmin(np.abs(c)))
        lab[(np.abs(c) <= 5.0), j - 1 : j + 2, j] = VESSEL
    tw = np.where(x < 0, TWIN_A, TWIN_B).astype(np.uint8)
    return Volume(lab, aff, {}), Volume(tw, aff, {})


def _inventory(labels: Volume, twins: Volume) -> SharedInventory:
    a = twins.array == TWIN_A
    b = twins.array == TWIN_B
    mesh = interface_mesh(a, b, labels.affine, smooth_sigma_vx=FusionParams().smooth_sigma_vx)
    return shared_inventory(labels, twins, mesh, np.zeros(3), np.array([1.0, 0.0, 0.0]))


# two sinuses along y, one in each twin, 4 mm apart across the 2 mm plate
TWO = [(np.array([-5.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])),
       (np.array([5.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))]  # fmt: skip
# one sinus through the boundary at 20 deg (a helical sagittal sinus crosses obliquely),
# 15 mm off the bridge centre
OBLIQUE = [
    (np.array([0.0, 0.0, 15.0]), np.array([np.sin(np.radians(20)), np.cos(np.radians(20)), 0.0]))
]
# one sinus straight through the boundary
STRAIGHT = [(np.zeros(3), np.array([1.0, 0.0, 0.0]))]


@pytest.mark.parametrize("vox_mm", [1.2, 3.0])
def test_two_sinuses_apart_are_not_shared(vox_mm: float) -> None:
    inv = _inventory(*_case(vox_mm, TWO, membrane=True, link=False))
    assert not inv.shared_sinus and not inv.sinus_unresolved
    assert inv.sinus_kind == "separate"


@pytest.mark.parametrize("vox_mm", [1.2, 3.0])
def test_two_sinuses_linked_by_one_voxel_chain_are_not_shared(vox_mm: float) -> None:
    labels, twins = _case(vox_mm, TWO, membrane=True, link=True)
    va = (labels.array == VESSEL) & (twins.array == TWIN_A)
    vb = (labels.array == VESSEL) & (twins.array == TWIN_B)
    assert boundary_face_count(va, vb) == 3  # the strip's three faces on the plane
    inv = _inventory(labels, twins)
    # before the face rule: shared at 3 mm (2.7 mL on each side, the crossing's mesh
    # area 9 mm2 > 7); at 1.2 mm the crossing is under 7 mm2 either way
    assert not inv.shared_sinus and not inv.sinus_unresolved
    if vox_mm == 3.0:
        # narrow, and the bone plate walls the two brains apart: two sinuses touching
        assert inv.brain_contact_area_mm2 == 0.0
        assert any("cannot be told from two sinuses touching" in n for n in inv.notes)
        assert any("taken as two sinuses touching" in n for n in inv.notes)


def test_narrow_crossing_with_cavities_undecided_stays_unresolved() -> None:
    # the plate leaves 20 % of the plane open: brain contact between the partial (10 %)
    # and the total (25 %) limits
    labels, twins = _case(3.0, TWO, membrane=True, link=True, window_share=0.2)
    inv = _inventory(labels, twins)
    share = inv.brain_contact_area_mm2 / EXTENT_MM**2
    assert 0.11 < share < 0.22  # measured 0.14
    assert not inv.shared_sinus and inv.sinus_unresolved


def _ring_case(vox_mm: float) -> tuple[Volume, Volume]:
    """A circular sinus: a ring of radius 20 mm about the x axis, lying in the boundary."""
    c, aff = _grid(vox_mm)
    frac = _covered(c, vox_mm, lambda x, y, z: x**2 + (np.hypot(y, z) - 20.0) ** 2 <= RADIUS_MM**2)
    lab = np.full(frac.shape, BRAIN, np.uint8)
    lab[frac >= 0.5] = VESSEL
    x = c[:, None, None] * np.ones((1, c.size, c.size))
    tw = np.where(x < 0, TWIN_A, TWIN_B).astype(np.uint8)
    return Volume(lab, aff, {}), Volume(tw, aff, {})


def test_oblique_sinus_through_the_boundary_is_shared_at_1_2_mm() -> None:
    labels, twins = _case(1.2, OBLIQUE, membrane=False, link=False)
    inv = _inventory(labels, twins)
    assert inv.shared_sinus and not inv.sinus_unresolved
    assert inv.sinus_kind == "superior_sagittal"
    # the tube within the 72 mm box: pi 9 mm2 x 72 / cos 20 mm (it leaves through y)
    truth_ml = np.pi * 9 * EXTENT_MM / np.cos(np.radians(20)) / 1000
    assert inv.sinus_ml == pytest.approx(truth_ml, rel=0.03)  # measured 2.191 vs 2.166


@pytest.mark.parametrize("vox_mm", [1.2, 3.0])
def test_circular_sinus_in_the_boundary_is_shared(vox_mm: float) -> None:
    labels, twins = _ring_case(vox_mm)
    va = (labels.array == VESSEL) & (twins.array == TWIN_A)
    vb = (labels.array == VESSEL) & (twins.array == TWIN_B)
    # analytic section on the plane: an annulus 6 mm wide around r = 20 mm (754 mm2)
    assert boundary_face_count(va, vb) * vox_mm**2 == pytest.approx(2 * np.pi * 20 * 6, rel=0.3)
    inv = _inventory(labels, twins)
    assert inv.shared_sinus and not inv.sinus_unresolved
    assert inv.sinus_kind == "circular" and inv.sinus_coverage_deg == 360.0
    # torus volume 2 pi^2 R r^2
    assert inv.sinus_ml == pytest.approx(2 * np.pi**2 * 20 * 9 / 1000, rel=0.1)
    # one seed on the ring: the separation finds the sinus's voxels from it (its crossing
    # is one patch whose centroid is the ring's empty centre), here split by the plane
    assert len(inv.sinus_seeds_mm) == 1
    share = sinus_share_ml(labels, twins.array, inv.sinus_seeds_mm)
    vx_ml = vox_mm**3 / 1000
    assert share is not None
    assert share.a_ml == pytest.approx(np.count_nonzero(va) * vx_ml)
    assert share.b_ml == pytest.approx(np.count_nonzero(vb) * vx_ml)
    assert share.a_ml + share.b_ml == pytest.approx(inv.sinus_ml)


def test_straight_sinus_at_3_mm_is_judged_by_the_cavities() -> None:
    # a 6 mm lumen straight across: 28 mm2, 16 faces at 1.2 mm, 4 at 3 mm (as a chain
    # can show): at 3 mm one lumen cannot be told from two touching ones, and the brains
    # touching across the whole boundary (one cavity) make it the shared sinus
    fine = _inventory(*_case(1.2, STRAIGHT, membrane=False, link=False))
    assert fine.shared_sinus and not any("narrow" in n for n in fine.notes)
    coarse = _inventory(*_case(3.0, STRAIGHT, membrane=False, link=False))
    assert coarse.shared_sinus and not coarse.sinus_unresolved
    assert any("taken as the shared sinus" in n for n in coarse.notes)
    # the whole tube is the sinus (one component): every labelled vessel voxel
    labels, _ = _case(3.0, STRAIGHT, membrane=False, link=False)
    assert coarse.sinus_ml == pytest.approx(np.count_nonzero(labels.array == VESSEL) * 27 / 1000)


def _inv(*, unresolved: bool, shared: bool = False, contact: float, opened: float):
    return SharedInventory(
        shared_sinus=shared,
        sinus_ml=0.0,
        sinus_kind="separate",
        sinus_coverage_deg=0.0,
        brain_contact_area_mm2=contact,
        open_area_mm2=opened,
        sinus_unresolved=unresolved,
    )


def test_unresolved_crossing_falls_back_to_the_cavities() -> None:
    kw = {"venous_visible": True, "vessel_ml": 10.0, "contrast": True}
    seen = call_completeness(_inv(unresolved=False, shared=True, contact=0, opened=0), 1000, **kw)
    assert (seen.completeness, seen.evidence) == ("total", SHARED_SINUS)
    none = call_completeness(_inv(unresolved=False, contact=500, opened=500), 1000, **kw)
    assert (none.completeness, none.evidence) == ("partial", NO_SHARED_SINUS)
    # separate cavities (contact 2 %, open 5 %): partial, and the warning says why
    part = call_completeness(_inv(unresolved=True, contact=20, opened=50), 1000, **kw)
    assert (part.completeness, part.evidence) == ("partial", UNRESOLVED_PARTIAL)
    assert len(part.warnings) == 1 and "cannot be told" in part.warnings[0]
    assert "without contrast" not in part.warnings[0]
    # one cavity (brains in contact over half the bridge): total
    tot = call_completeness(_inv(unresolved=True, contact=500, opened=600), 1000, **kw)
    assert (tot.completeness, tot.evidence) == ("total", UNRESOLVED_TOTAL)


def _corner_case(*, membrane: bool) -> tuple[Volume, Volume]:
    """TWO at 3 mm, linked by a chain one voxel across that steps over the boundary.

    The chain runs along x at y = z = -1.5 mm in twin A and one voxel higher in y in twin
    B, so its last A voxel and first B voxel share an edge, not a face: the 26-connected
    vessel passes from A into B through no voxel face (the planned angular-frontal 96
    seed 0 phantom without a table, whose sinus the twin boundary met at such a step).
    """
    labels, twins = _case(3.0, TWO, membrane=membrane, link=False)
    c, aff = _grid(3.0)
    lab = labels.array.copy()
    j = int(np.argmin(np.abs(c)))
    lab[(c < 0) & (c >= -5.0), j, j] = VESSEL
    lab[(c > 0) & (c <= 5.0), j + 1, j] = VESSEL
    return Volume(lab, aff, {}), twins


@pytest.mark.parametrize("membrane", [False, True])
def test_sinus_crossing_along_a_voxel_edge_is_judged_by_the_cavities(membrane: bool) -> None:
    labels, twins = _corner_case(membrane=membrane)
    va = (labels.array == VESSEL) & (twins.array == TWIN_A)
    vb = (labels.array == VESSEL) & (twins.array == TWIN_B)
    assert boundary_face_count(va, vb) == 0
    inv = _inventory(labels, twins)
    if not membrane:
        # one cavity (the brains touch over the whole plane): the shared sinus, both
        # tubes and the chain (before: no crossing seen at all, partial)
        assert inv.brain_contact_area_mm2 / EXTENT_MM**2 > 0.9
        assert inv.shared_sinus and not inv.sinus_unresolved
        assert any("taken as the shared sinus" in n for n in inv.notes)
        assert inv.sinus_ml == pytest.approx(np.count_nonzero(labels.array == VESSEL) * 27 / 1000)
        # the loose re-run's sinus keeps its seed: one component, all of it
        share = sinus_share_ml(labels, twins.array, inv.sinus_seeds_mm)
        assert share is not None and share.a_ml + share.b_ml == pytest.approx(inv.sinus_ml)
        # the crossing lies at the step: A's last chain voxel (the voxel centres
        # nearest 0 are at -1.5 mm)
        (cross,) = inv.sinus_crossings
        assert cross.position_mm == pytest.approx((-1.5, -1.5, -1.5), abs=1e-6)
        call = call_completeness(
            inv, EXTENT_MM**2, venous_visible=True, vessel_ml=5.0, contrast=True
        )
        assert (call.completeness, call.evidence) == ("total", SHARED_SINUS)
    else:
        # bone walls the cavities apart: two sinuses touching, partial
        assert not inv.shared_sinus and not inv.sinus_unresolved
        assert inv.sinus_seeds_mm == []
        assert any("touch along an edge or a corner" in n for n in inv.notes)
        assert any("taken as two sinuses touching" in n for n in inv.notes)
