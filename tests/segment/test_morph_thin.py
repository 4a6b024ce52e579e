"""Component labelling on thin masks where cc3d 4.1 raised "maximum length exception".

A 19 mm phantom crashed the plan (exit 1) in the bone hysteresis: the bounding box of
its low mask was 3x3x3 with eight isolated corners. Reference: scipy.ndimage.label
(another implementation), compared as partitions and by raster-order numbering.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment import morph

_STRUCTURE = {6: 1, 18: 2, 26: 3}


def _cases() -> list[np.ndarray]:
    line = np.array([1, 0, 1, 0, 1], bool).reshape(5, 1, 1)
    corners = np.zeros((3, 3, 3), bool)
    for i, j, k in itertools.product((0, 2), repeat=3):
        corners[i, j, k] = True
    plane = np.zeros((3, 3, 1), bool)
    plane[::2, ::2] = True
    rng = np.random.default_rng(4)
    thin = rng.random((1, 7, 9)) < 0.5
    return [line, corners, plane, thin, line.reshape(1, 1, 5), corners.copy()]


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_thin_masks_are_labelled_like_scipy(connectivity: int) -> None:
    structure = ndi.generate_binary_structure(3, _STRUCTURE[connectivity])
    for mask in _cases():
        ref, n_ref = ndi.label(mask, structure=structure)  # raster-order numbering too
        lab, n = morph.label_components(mask, connectivity)
        assert n == n_ref and lab.shape == mask.shape
        np.testing.assert_array_equal(lab, ref)
        full, sizes = morph.component_sizes(mask, connectivity)
        np.testing.assert_array_equal(full, ref)
        np.testing.assert_array_equal(sizes, np.bincount(ref.ravel())[1:])
        ids, id_sizes = morph.component_ids(mask, connectivity)
        np.testing.assert_array_equal(ids, ref[mask])
        np.testing.assert_array_equal(id_sizes, sizes)


def test_every_labelling_goes_through_label_components() -> None:
    """The thin-mask mend lives in one place: no module but ``segment.morph`` calls
    cc3d's labelling directly (crops in the min-cut, the sinus inventory or the NaN
    margin check can be as thin as the phantom's bone box)."""
    from pathlib import Path

    import twinsep

    root = Path(twinsep.__file__).parent
    direct = [
        str(p.relative_to(root))
        for p in sorted(root.rglob("*.py"))
        if "cc3d.connected_components(" in p.read_text() and p.name != "morph.py"
    ]
    assert direct == []
