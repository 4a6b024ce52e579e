"""The thin-layer rule of the contrast evidence counts voxels along each axis.

``segment.vessels._thin_layer`` marks candidate voxels in a layer at most ``max_vx``
voxels thick between the outside of the skull and the dark cavity. A weak plate's
blood-range layer is as many voxels thick as the grid's samples across it, whatever the
voxel size in mm, so a layer one or two 5 mm slices thick on a 0.5 mm in-plane grid is
thin, exactly as on an isotropic grid. Analytic answer: an axis-aligned layer of ``n``
voxels has ``n + 1`` voxel steps from the outside to the cavity through any of its
voxels, so it is thin iff ``n <= max_vx``.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.segment.vessels import _thin_layer


def _slab(axis: int, n: int, size: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outside below ``lo``, a candidate layer of ``n`` voxels, dark cavity above, along
    ``axis`` of a ``size``-cube grid."""
    lo = 3
    pos = np.arange(size)
    shape = [1, 1, 1]
    shape[axis] = size
    p = np.broadcast_to(pos.reshape(shape), (size, size, size))
    outside = p < lo
    cand = (p >= lo) & (p < lo + n)
    dark = p >= lo + n
    return np.ascontiguousarray(cand), np.ascontiguousarray(outside), np.ascontiguousarray(dark)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_layer_thickness_counts_voxels_along_each_axis(axis: int, n: int) -> None:
    cand, outside, dark = _slab(axis, n)
    # 5 mm along the layer's normal or across it, 0.5 mm along the others
    for sp in [(0.5, 0.5, 5.0), (5.0, 0.5, 0.5), (1.0, 1.0, 1.0), (0.8, 1.3, 2.9)]:
        thin = _thin_layer(cand, outside, dark, sp, 2.0)
        assert not (thin & ~cand).any()
        if n <= 2:
            assert thin[cand].all(), (axis, n, sp)
        else:
            assert not thin.any(), (axis, n, sp)


def test_rule_is_the_same_on_any_per_axis_scaling() -> None:
    """Scaling the grid's axes by any factors leaves the rule unchanged (voxel units)."""
    rng = np.random.default_rng(0)
    shape = (14, 15, 16)
    cand = rng.random(shape) < 0.3
    outside = ~cand & (rng.random(shape) < 0.2)
    dark = ~cand & ~outside & (rng.random(shape) < 0.3)
    ref = _thin_layer(cand, outside, dark, (1.0, 1.0, 1.0), 2.0)
    assert ref.any() and (cand & ~ref).any()  # the case is not trivial
    for sp in [(0.5, 0.5, 5.0), (2.5, 0.83, 0.83), (0.3, 4.0, 1.7)]:
        np.testing.assert_array_equal(_thin_layer(cand, outside, dark, sp, 2.0), ref)


def test_oblique_layer_counts_the_diagonal_steps() -> None:
    """A layer normal to (1, 0, 1) in voxel units, ``w`` voxels wide along i (or k).

    From a voxel ``a`` steps above the outside and ``b`` below the cavity along i + k the
    nearest voxels are (a, 0) or the diagonal mixes: for w = 1 and 2 every voxel has
    distances 1 + sqrt 2 <= 3.03 (thin); for w = 4 the best sum is sqrt 2 + sqrt 5 = 3.65
    (not thin). The same on 0.5 x 0.5 x 5 mm voxels as on 1 mm voxels.
    """
    i, _, k = np.indices((16, 6, 16))
    s = i + k
    for width, expect in ((1, True), (2, True), (4, False)):
        cand = (s >= 14) & (s < 14 + width)
        outside = s < 14
        dark = s >= 14 + width
        inner = cand.copy()  # away from the array border, where neighbours are missing
        inner[:4] = inner[-4:] = False
        inner[:, :, :4] = inner[:, :, -4:] = False
        assert inner.sum() > 10
        for sp in [(1.0, 1.0, 1.0), (0.5, 0.5, 5.0)]:
            thin = _thin_layer(cand, outside, dark, sp, 2.0)
            assert thin[inner].all() if expect else not thin[inner].any(), (width, sp)
