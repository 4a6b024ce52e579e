"""Models of the craniopagus phantoms: volumes, world coordinates, print parts, the doll.

The phantoms (``twinsep.phantom``) are independent of this package: infant heads with
thin vault bone, CSF, a shared sinus, sampled on oblique/flipped and anisotropic grids.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from twinsep.models import ModelParams
from twinsep.models.build import structure_mask, twin_structure_meshes
from twinsep.models.doll import make_doll, to_manifold
from twinsep.phantom import make_phantom
from twinsep.volume import apply_affine

from .conftest import rotation

COLOURS = {"A": "#7B3FA0", "B": "#F28C28"}
SP_ISO = 2.2


def _oblique(sp: float) -> np.ndarray:
    aff = np.eye(4)
    aff[:3, :3] = rotation((1.0, 2.0, 0.5), 23.0) @ np.diag([1.0, -1.0, 1.0]) * sp
    return aff


@pytest.fixture(scope="module")
def oblique():
    """vertical-II on an oblique, mirrored, isotropic 2.2 mm grid."""
    return make_phantom("vertical-II", seed=2, table=False, affine=_oblique(SP_ISO))


@pytest.fixture(scope="module")
def anisotropic():
    """angular-frontal on an axis-aligned 1.8 x 2.0 x 2.6 mm grid."""
    return make_phantom("angular-frontal", seed=5, table=False, spacing_mm=(1.8, 2.0, 2.6))


def _boundary_distance_mm(mask: np.ndarray, affine: np.ndarray, verts: np.ndarray, sp: float):
    """Distance (mm) from each vertex to the voxel-face boundary of ``mask`` (isotropic
    grid): signed distance to the nearest voxel of the other side minus half a voxel,
    linearly interpolated at the vertex's index coordinates (found through the affine)."""
    pad = 3
    m = np.pad(mask, pad)
    inside = ndimage.distance_transform_edt(m) * sp
    outside = ndimage.distance_transform_edt(~m) * sp
    f = np.where(m, -(inside - sp / 2), outside - sp / 2)
    ijk = apply_affine(np.linalg.inv(affine), verts) + pad
    return np.abs(ndimage.map_coordinates(f, ijk.T, order=1, mode="nearest"))


@pytest.mark.parametrize("case", ["oblique", "anisotropic"])
def test_meshes_match_label_volumes_and_centroids(case: str, request) -> None:
    ph = request.getfixturevalue(case)
    labels, twins = ph.labels, ph.twins
    parts = twin_structure_meshes(labels, twins, colours=COLOURS, thicken_walls=False)
    names = {p.mesh.name for p in parts}
    assert {f"{t}/{s}" for t in "AB" for s in ("skin", "bone", "brain", "vessel", "csf")} <= names
    lab, tw = labels.array, twins.array
    vox = max(labels.spacing_mm)
    for p in parts:
        m = p.mesh
        assert m.watertight, m.name
        # 3 % (issue 7); thin bone, vessels and CSF lose 10-30 % without the
        # volume-preserving offset, so this catches its loss or a wrong sign
        assert m.volume_ml == pytest.approx(p.label_volume_ml, rel=0.03), m.name
        # centre of mass of the mesh vs the voxels' centroid in world mm: a missing flip,
        # a swapped axis or a half-voxel shift of the grid moves a solid's by >= 1 voxel.
        # Sheets one or two voxels thin (bone, CSF, vessels) come out of marching cubes
        # and smoothing thinner where they run diagonally to the grid than where they
        # run along it, which moves their centre of mass (measured with the lighter
        # smoothing of thin structures: bone 0.6-0.7 voxel, 0.5-0.6 without smoothing,
        # 1.1-1.5 with the full smoothing); the distance to the boundary is tested below.
        mask = structure_mask(lab, tw, 1 if m.twin == "A" else 2, m.structure)
        centroid = labels.centroid_mm(mask)
        com = m.to_trimesh().center_mass
        tol = 0.25 * vox if m.structure in ("skin", "brain") else 1.0 * vox
        assert np.linalg.norm(com - centroid) < tol, (m.name, np.linalg.norm(com - centroid))


def test_surface_within_half_a_voxel_of_the_label_boundary(oblique) -> None:
    """Issue 7 target: mean distance to the label boundary below 0.5 voxel."""
    labels, twins = oblique.labels, oblique.twins
    parts = twin_structure_meshes(labels, twins, colours=COLOURS, thicken_walls=False)
    for p in parts:
        if p.mesh.structure not in ("skin", "bone", "brain"):
            continue
        mask = structure_mask(
            labels.array, twins.array, 1 if p.mesh.twin == "A" else 2, p.mesh.structure
        )
        d = _boundary_distance_mm(mask, labels.affine, p.mesh.vertices, SP_ISO)
        # issue 7 asks for 0.5 voxel; measured 0.02-0.1, so 0.25 guards against regressions
        assert d.mean() < 0.25 * SP_ISO, (p.mesh.name, d.mean())
        assert np.percentile(d, 95) < 1.0 * SP_ISO, (p.mesh.name, np.percentile(d, 95))


def test_print_parts_are_watertight_and_thick_enough(anisotropic) -> None:
    parts = twin_structure_meshes(
        anisotropic.labels, anisotropic.twins, colours=COLOURS, params=ModelParams()
    )
    for p in parts:
        assert p.mesh.watertight, p.mesh.name
        assert p.wall is not None and p.wall.thin_voxels_after == 0, p.mesh.name
        # the print part encloses the label voxels plus what thickening added
        assert p.mesh.volume_ml == pytest.approx(p.label_volume_ml + p.wall.added_ml, rel=0.03)


@pytest.mark.parametrize("case", ["oblique", "anisotropic"])
def test_doll_halves_fit_and_reproduce_the_heads(case: str, request) -> None:
    ph = request.getfixturevalue(case)
    labels, twins = ph.labels, ph.twins
    doll = make_doll(labels, twins, colours=COLOURS)
    assert doll.part_a.watertight and doll.part_b.watertight and doll.joined.watertight
    ma, mb, mj = to_manifold(doll.part_a), to_manifold(doll.part_b), to_manifold(doll.joined)
    joined_ml = mj.volume() / 1000
    assert len(doll.pins) >= 2
    # the halves do not intersect: shared cut surface, pins in holes with clearance
    assert (ma ^ mb).volume() / 1000 < 1e-4 * joined_ml
    # together they are the joined model, less the pin clearance (< 1 %)
    assert (ma + mb).volume() / 1000 == pytest.approx(joined_ml, rel=0.01)
    # the joined model is the heads: within 3 % of the tissue label volume
    head_ml = np.count_nonzero(labels.array) * labels.voxel_volume_mm3 / 1000
    assert joined_ml == pytest.approx(head_ml, rel=0.03)
    # each half is its twin: A's half centre closer to twin A's tissue centroid
    ca = labels.centroid_mm(twins.array == 1)
    cb = labels.centroid_mm(twins.array == 2)
    pa = doll.part_a.to_trimesh().center_mass
    pb = doll.part_b.to_trimesh().center_mass
    assert np.linalg.norm(pa - ca) < np.linalg.norm(pa - cb)
    assert np.linalg.norm(pb - cb) < np.linalg.norm(pb - ca)
    # each half holds its twin's share of the head volume within 3 % of the joined model
    a_ml = np.count_nonzero(twins.array == 1) * labels.voxel_volume_mm3 / 1000
    assert ma.volume() / 1000 == pytest.approx(a_ml, abs=0.03 * joined_ml)
