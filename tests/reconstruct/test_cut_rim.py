"""The bone rim on the cut, and the bone defect inside it, against analytic geometry.

Two layered spheres or ellipsoids (``synthetic.two_heads``) cut by their mid-plane: each
twin's bone opening is the section of its outer bone surface (radius 54 mm, scaled by
``stretch`` along the world axes) by the plane where the voxelised cut really lies
(midway between the last voxel of A and the first of B along the union's axis). The
section is an ellipse: its centre, its radius in any direction of the plane and its area
follow in closed form. A rim point's error is its distance from the section's centre
minus the section's radius in its direction (positive: outside the opening).

The labels say what lies at voxel centres and the cut runs along voxel faces; reading
the tissue of the voxel layer next to the cut put the rim 1.2-1.6 mm (0.7 voxel)
outside the true one on a 2 mm grid and made the defect 5-12 % too large. Tolerances:
the mean error within a quarter of the mean voxel (the old bias was 0.5-0.8 voxel on
the 1-2 mm grids), each rim point within the largest voxel edge of the scan or of the
working grid it is traced on, the area within 3 % of the ellipse (the old reading was 4.5-12.6 % over on these cases).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from twinsep.reconstruct.defects import DefectParams, measure_defects

from .synthetic import R_BONE, R_CSF, R_SCALP, rotation, two_heads

# small volumes: the 1 and 0.5 mm cases are heads of half the size (0.5 mm: a working
# grid of 3 scan voxels)
CASES = {
    "sphere-2mm": {},
    "sphere-1mm": {"spacing_mm": (1.0, 1.0, 1.0), "scale": 0.5, "half_distance_mm": 22.5},
    "sphere-0.5mm": {"spacing_mm": (0.5, 0.5, 0.5), "scale": 0.5, "half_distance_mm": 22.5},
    "ellipsoid-oblique-anisotropic": {
        "rot": rotation((1, 2, 3), 37),
        "spacing_mm": (1.5, 2.0, 2.5),
        "direction": (1, 1, 0),
        "stretch": (0.94, 0.94, 1.12),
    },
}


def _section(
    radius_mm: float, centre: np.ndarray, stretch: np.ndarray, u: np.ndarray, plane: float
) -> tuple[np.ndarray, float, np.ndarray]:
    """Section of the ellipsoid ``|(x - centre) / stretch| <= radius`` by ``x . u = plane``.

    Returns its centre, its area and the matrix ``M = diag(1 / stretch^2)``: the section
    is ``(x - c0)^T M (x - c0) <= radius^2 - k`` in the plane (``k`` below).
    """
    m = np.diag(1.0 / stretch**2)
    m_inv = np.diag(stretch**2)
    lam = (plane - u @ centre) / (u @ m_inv @ u)
    c0 = centre + lam * (m_inv @ u)  # minimiser of the quadratic on the plane
    k = float((c0 - centre) @ m @ (c0 - centre))
    e1 = np.cross(u, np.eye(3)[int(np.argmin(np.abs(u)))])
    e1 /= np.linalg.norm(e1)
    e = np.column_stack([e1, np.cross(u, e1)])
    area = math.pi * (radius_mm**2 - k) / math.sqrt(np.linalg.det(e.T @ m @ e))
    return c0, area, np.array([radius_mm**2 - k, *m.ravel()])


def _rim_errors_mm(rim: np.ndarray, c0: np.ndarray, u: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Distance of each rim point from ``c0`` minus the section's radius that way."""
    rhs, m = q[0], q[1:].reshape(3, 3)
    v = rim - c0
    v -= np.outer(v @ u, u)  # into the plane (the rim lies on the cut, within a voxel)
    r = np.linalg.norm(v, axis=1)
    unit = v / r[:, None]
    # c0 - centre is along M^-1 u, so the cross term vanishes in the plane
    r_true = np.sqrt(rhs / np.einsum("ij,jk,ik->i", unit, m, unit))
    return np.asarray(r - r_true)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    kw = CASES[request.param]
    labels, twins, truth = two_heads(**kw)
    u = np.asarray(kw.get("direction", (0.0, 0.0, 1.0)), dtype=np.float64)
    u /= np.linalg.norm(u)
    w = twins.world_coords(np.argwhere(twins.array > 0)) @ u
    own = twins.array[twins.array > 0]
    plane = 0.5 * (w[own == 1].max() + w[own == 2].min())
    return kw, labels, twins, truth, u, plane, measure_defects(labels, twins)


def test_bone_rim_lies_on_the_analytic_rim(case) -> None:
    kw, labels, _, truth, u, plane, d = case
    scale = kw.get("scale", 1.0)
    stretch = np.asarray(kw.get("stretch", (1.0, 1.0, 1.0)))
    voxel = float(np.mean(labels.spacing_mm))
    h = truth["half_distance_mm"]
    for name, sign in (("A", -1.0), ("B", 1.0)):
        c0, area, q = _section(R_BONE * scale, sign * h * u, stretch, u, plane)
        err = _rim_errors_mm(d[name].bone_rim_mm, c0, u, q)
        # mean within a quarter voxel (the layer's reading: +0.5 to +0.8 voxel)
        assert abs(err.mean()) < 0.25 * voxel, (name, err.mean(), voxel)
        # each point within a voxel of the grid it is traced on (scan or working grid)
        bound = max(*labels.spacing_mm, DefectParams().work_voxel_mm)
        assert np.abs(err).max() < bound, (name, np.abs(err).max())
        # the opening's area: the ellipse within 3 % (was 4.5-12.6 % over)
        assert d[name].bone_defect_area_mm2 == pytest.approx(area, rel=0.03), name


def test_exposed_dura_matches_the_analytic_section(case) -> None:
    kw, _, _, truth, u, plane, d = case
    scale = kw.get("scale", 1.0)
    stretch = np.asarray(kw.get("stretch", (1.0, 1.0, 1.0)))
    for name, sign in (("A", -1.0), ("B", 1.0)):
        _, area, _ = _section(
            R_CSF * scale, sign * truth["half_distance_mm"] * u, stretch, u, plane
        )
        # 5 %: a smaller section (1200-1800 mm^2 at full size), the same half-voxel
        # reading made it 10-25 % large
        assert d[name].dura_exposed_area_mm2 == pytest.approx(area, rel=0.05), name


def test_scalp_defect_is_the_contact_on_the_cut(case) -> None:
    """The scalp defect is where both twins' tissue meets the cut: the smaller of the two
    sections of the outer layer by the voxelised plane (on the 2 and 1 mm grids that
    plane lies half a voxel off the heads' mid-plane, A's section is the larger; one
    twin's skin reaching past the other's is skin), the same opening for both twins.

    The body occupancy on the working grid, read half a working voxel either side of
    the cut, put its edge 0.55-1.56 mm outside and the area 5-16 % over on these cases
    (+3.5 % on the 0.6 mm benchmark): 2.5 % and a quarter of the larger of the scan and
    working voxels catch it."""
    kw, labels, _, truth, u, plane, d = case
    scale = kw.get("scale", 1.0)
    stretch = np.asarray(kw.get("stretch", (1.0, 1.0, 1.0)))
    h = truth["half_distance_mm"]
    sections = [_section(R_SCALP * scale, s * h * u, stretch, u, plane) for s in (-1.0, 1.0)]
    c0, area, q = min(sections, key=lambda sec: sec[1])
    voxel = max(float(np.mean(labels.spacing_mm)), DefectParams().work_voxel_mm)
    bound = max(*labels.spacing_mm, DefectParams().work_voxel_mm)
    assert d["A"].scalp_defect_area_mm2 == d["B"].scalp_defect_area_mm2
    for name in ("A", "B"):
        assert d[name].scalp_defect_area_mm2 == pytest.approx(area, rel=0.025), name
        err = _rim_errors_mm(d[name].scalp_outline_mm, c0, u, q)
        assert abs(err.mean()) < 0.25 * voxel, (name, err.mean())
        assert np.abs(err).max() < bound, (name, np.abs(err).max())
