"""The lungs' components read from a label grid of the core's bounding box only
(``segment.lungs.component_in``), as the whole grid's labels read them.

The dark regions of the 512x464x400 CT lie on the array's edge (a one-voxel sheet at
j = 1, a rim from i = 1 to 511): the padded region around a component is clipped at
the edge and reaches beyond the labelled box on the other sides. Truth is the
whole-grid label array (the box's labels put back in place, zero elsewhere).
"""

from __future__ import annotations

import itertools

import numpy as np

from twinsep.segment import morph
from twinsep.segment.lungs import component_in


def _grid() -> np.ndarray:
    rng = np.random.default_rng(4)
    m = np.zeros((23, 19, 17), bool)
    m[1, 2:15, 3:16] = True  # a sheet one voxel from the edge
    m[4:20, 1:18, 15:17] = True  # a slab on the far edge
    m[8:13, 6:11, 5:9] = rng.random((5, 5, 4)) < 0.7  # specks inside
    return m


def test_component_regions_equal_the_whole_grids() -> None:
    m = _grid()
    box = morph._bounding_box(m, [0, 0, 0])
    assert box is not None and box != tuple(slice(0, n) for n in m.shape)
    lab, n = morph.label_components(np.ascontiguousarray(m[box]), 26)
    assert n >= 3
    full = np.zeros(m.shape, lab.dtype)
    full[box] = lab
    shape = m.shape
    for c in range(1, n + 1):
        for pad in itertools.product((0, 1, 3, 30), repeat=3):
            # the component's own box grown by pad, clipped at the array's edge
            own = morph._bounding_box(full == c, [0, 0, 0])
            assert own is not None
            sel = tuple(
                slice(max(0, b.start - p), min(k, b.stop + p))
                for b, p, k in zip(own, pad, shape, strict=True)
            )
            got = component_in(lab, box, c, sel)
            assert got.shape == full[sel].shape
            assert np.array_equal(got, full[sel] == c), (c, pad)


def test_a_region_beside_the_box_holds_nothing() -> None:
    lab = np.ones((2, 2, 2), np.uint32)
    box = (slice(3, 5), slice(3, 5), slice(3, 5))
    got = component_in(lab, box, 1, (slice(0, 3), slice(0, 6), slice(0, 6)))
    assert got.shape == (3, 6, 6) and not got.any()
    got = component_in(lab, box, 1, (slice(2, 6), slice(4, 6), slice(0, 4)))
    assert got.sum() == 2 * 1 * 1
