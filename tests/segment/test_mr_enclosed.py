"""``segment.mr.enclosed`` against its definition: each 2D section along each array
axis with its holes filled (``ndimage.binary_fill_holes``), then the 3D holes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.mr import enclosed


def _by_sections(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    for axis in range(3):
        for i in range(mask.shape[axis]):
            sl: list[slice | int] = [slice(None)] * 3
            sl[axis] = i
            out[tuple(sl)] |= ndi.binary_fill_holes(mask[tuple(sl)])
    return morph.fill_holes(out)


@pytest.mark.parametrize("seed", range(6))
def test_enclosed_is_the_sections_filled(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(20, 50, 3))
    mask = ndi.binary_dilation(rng.random(shape) < 0.02 + 0.02 * seed, iterations=1 + seed % 2)
    got = enclosed(mask)
    assert np.array_equal(got, _by_sections(mask))
    assert (got & ~mask).any()  # the case encloses something


def test_ring_open_in_3d_is_closed_in_its_sections() -> None:
    # a hollow cylinder open at both ends: no 3D hole, but every section across it
    # encloses its bore
    zz, yy, xx = np.ogrid[:30, :30, :20]
    r = np.hypot(zz - 15, yy - 15)
    wall = (r > 6) & (r < 9) & (xx >= 0)
    got = enclosed(wall)
    assert np.array_equal(got, wall | ((r <= 6) & (xx >= 0)))
