"""Storage layout (``twinsep.layout``) and the segmentation's independence of it.

The same CT stored with permuted and reversed axes (a sagittal stack, LPS, flipped
slices) holds the same voxels at the same world positions; ``segment_ct`` must label
them the same, voxel for voxel.
"""

from __future__ import annotations

import numpy as np
import pytest

from realism import stressors as S
from twinsep.layout import canonical_layout, from_canonical, to_canonical
from twinsep.phantom import make_phantom
from twinsep.segment import segment_ct
from twinsep.volume import Volume

#: (axis order, reversed axes of the stored array): the stored array's axis c is the
#: original axis order[c]; then the axes in the second tuple are reversed.
_LAYOUTS = [((2, 0, 1), ()), ((0, 1, 2), (0, 1)), ((1, 2, 0), (2,)), ((0, 2, 1), (1,))]


def _stored(vol: Volume, order: tuple[int, ...], flips: tuple[int, ...]) -> Volume:
    """``vol`` stored in another layout, every voxel at its world position."""
    arr = np.transpose(vol.array, order)
    t = np.zeros((4, 4))
    t[3, 3] = 1.0
    for c in range(3):
        t[order[c], c] = 1.0
    aff = vol.affine @ t
    for c in flips:
        f = np.eye(4)
        f[c, c] = -1.0
        f[c, 3] = arr.shape[c] - 1
        arr = np.flip(arr, axis=c)
        aff = aff @ f
    return Volume(np.ascontiguousarray(arr), aff, dict(vol.meta))


def _stored_array(a: np.ndarray, order: tuple[int, ...], flips: tuple[int, ...]) -> np.ndarray:
    out = np.transpose(a, order)
    for c in flips:
        out = np.flip(out, axis=c)
    return out


def test_canonical_layout_of_known_directions() -> None:
    assert canonical_layout(np.eye(3)).identity
    lps = np.diag([-1.0, -1.0, 1.0])
    lay = canonical_layout(lps)
    assert lay.axes == (0, 1, 2) and lay.flipped == (True, True, False)
    # a sagittal stack: array axis 0 runs head-foot downwards, 1 anterior, 2 left-right
    d = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    lay = canonical_layout(d)
    assert lay.axes == (2, 1, 0) and lay.flipped == (False, False, True)
    # 30 degrees oblique about z: still the nearest axes, no flips
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    assert canonical_layout(np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])).identity


@pytest.mark.parametrize(("order", "flips"), _LAYOUTS)
def test_round_trip_is_exact_and_keeps_world_positions(order: tuple, flips: tuple) -> None:
    rng = np.random.default_rng(3)
    aff = np.diag([0.8, 1.1, 2.5, 1.0])
    aff[:3, 3] = (-40.0, 12.0, 7.0)
    vol = Volume(rng.integers(-1000, 2000, (9, 11, 7)).astype(np.int16), aff, {"kind": "CT"})
    stored = _stored(vol, order, flips)
    before = stored.array.copy()
    canon, lay = to_canonical(stored)
    assert np.array_equal(stored.array, before)  # input not modified
    assert np.array_equal(canon.array, vol.array)
    assert np.allclose(canon.affine, vol.affine)
    assert np.array_equal(from_canonical(canon.array, lay), stored.array)
    # a voxel's world position is the same in both layouts
    idx = np.argwhere(stored.array == stored.array.max())[0]
    val = stored.array[tuple(idx)]
    cidx = np.argwhere(canon.array == val)
    assert any(np.allclose(canon.world_coords(c), stored.world_coords(idx)) for c in cidx)


@pytest.fixture(scope="module")
def reference() -> tuple[Volume, np.ndarray, object]:
    # FBP-textured noise (correlated in the slice plane, independent between slices), as
    # a real CT's: a noise estimate from differences along one array axis reads another
    # value when that axis is the slice axis. Before the canonical layout the permuted
    # layouts below read other thresholds and 2 / 7 other labels (measured).
    ph = make_phantom("angular-parietal", size=96, seed=0, noise_hu=5.0)
    sp = ph.ct.spacing_mm
    noise = S.fbp_noise(
        ph.ct.shape, sp, np.random.default_rng(1), sigma_hu=25.0, peak_cyc_per_mm=0.15
    )
    ct = ph.ct.with_array(np.clip(np.rint(ph.ct.array + noise), -1024, 3071).astype(np.int16))
    res = segment_ct(ct)
    return ct, res.labels.array, res


@pytest.mark.parametrize(("order", "flips"), _LAYOUTS)
def test_segmentation_is_the_same_in_every_layout(
    reference: tuple, order: tuple, flips: tuple
) -> None:
    ct, labels, res = reference
    got = segment_ct(_stored(ct, order, flips))
    assert np.array_equal(got.labels.array, _stored_array(labels, order, flips))
    assert np.allclose(got.labels.affine, _stored(ct, order, flips).affine)
    assert got.tissue_ml == res.tissue_ml
    assert got.hu_thresholds == res.hu_thresholds
    assert got.contrast == res.contrast and got.warnings == res.warnings
