"""The separation proof (local 26-neighbour check) against a whole-grid cc3d labelling."""

from __future__ import annotations

import cc3d
import numpy as np
import pytest
from scipy import ndimage

from twinsep.separate.mincut import _contacts, verify_separation


def _reference(twins: np.ndarray) -> tuple[np.ndarray, int, int, float, float]:
    """The whole-grid method: face kerf, 26-dilation kerf if needed, cc3d everywhere."""
    a, b = twins == 1, twins == 2
    face = ndimage.generate_binary_structure(3, 1)
    cube = np.ones((3, 3, 3), bool)

    def mixed(kerf: np.ndarray) -> int:
        rest = np.where(kerf, 0, twins)
        comps = cc3d.connected_components(rest > 0, connectivity=26)
        has_a = np.zeros(int(comps.max()) + 1, bool)
        has_b = np.zeros_like(has_a)
        has_a[comps[rest == 1]] = True
        has_b[comps[rest == 2]] = True
        return int((has_a & has_b).sum())

    kerf = (a & ndimage.binary_dilation(b, face)) | (b & ndimage.binary_dilation(a, face))
    if mixed(kerf):
        kerf |= (a & ndimage.binary_dilation(b, cube)) | (b & ndimage.binary_dilation(a, cube))
    assert mixed(kerf) == 0

    def pieces(m: np.ndarray) -> tuple[int, float]:
        comps, n = cc3d.connected_components(m, connectivity=26, return_N=True)
        sizes = np.bincount(comps.ravel())[1:]
        return int(n), float(sizes.max() / sizes.sum())

    pa, fa = pieces(a)
    pb, fb = pieces(b)
    return kerf, pa, pb, fa, fb


def _random_twins(seed: int, shape: tuple[int, int, int]) -> np.ndarray:
    """Blobby twins: A below a wavy surface, B above, holes and islands, touching the border."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 2.0)
    body = noise > np.quantile(noise, 0.35)
    i = np.indices(shape)
    wave = shape[0] / 2 + 4 * np.sin(i[1] / 5.0) + 3 * np.cos(i[2] / 7.0)
    tw = np.where(body, np.where(i[0] < wave, 1, 2), 0).astype(np.uint8)
    # sprinkle single voxels of the other twin (diagonal-only contacts, islands)
    flip = rng.random(shape) < 0.01
    tw[flip & body] = 3 - tw[flip & body]
    return tw


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kerf_and_pieces_equal_the_whole_grid_method(seed: int) -> None:
    tw = _random_twins(seed, (40, 36, 30))
    before = tw.copy()
    check = verify_separation(tw)
    kerf, pa, pb, fa, fb = _reference(tw)
    np.testing.assert_array_equal(tw, before)  # input untouched
    np.testing.assert_array_equal(check.kerf, kerf)
    assert (check.pieces_a, check.pieces_b) == (pa, pb)
    assert check.main_fraction_a == pytest.approx(fa, abs=1e-12)
    assert check.main_fraction_b == pytest.approx(fb, abs=1e-12)
    # the kerf box holds every kerf voxel
    inside = np.zeros_like(kerf)
    inside[check.kerf_box] = True
    assert not (kerf & ~inside).any()
    assert kerf[check.kerf_box].any()


def test_diagonal_only_contact_gets_the_cube_kerf() -> None:
    # A and B blocks touching at one edge only: no face contact, so the face kerf is
    # empty and the 26-neighbour contacts must be added.
    tw = np.zeros((12, 12, 12), np.uint8)
    tw[2:6, 2:6, 2:10] = 1
    tw[6:10, 6:10, 2:10] = 2
    check = verify_separation(tw)
    kerf, *_ = _reference(tw)
    np.testing.assert_array_equal(check.kerf, kerf)
    assert check.kerf.sum() == 2 * 8  # the two edge rows of 8 voxels


def test_contacts_count_pairs_in_all_26_directions() -> None:
    a = np.zeros((5, 5, 5), bool)
    b = np.zeros_like(a)
    a[2, 2, 2] = True
    b[...] = True
    b[2, 2, 2] = False
    assert _contacts(a, b) == 26
    assert _contacts(b, a) == 26


def test_twins_apart_and_far_boxes() -> None:
    # twins that never touch: no kerf, an empty box, pieces still counted
    tw = np.zeros((20, 10, 10), np.uint8)
    tw[1:5, 2:8, 2:8] = 1
    tw[12:19, 2:8, 2:8] = 2
    tw[8, 5, 5] = 2
    check = verify_separation(tw)
    assert not check.kerf.any()
    assert (check.pieces_a, check.pieces_b) == (1, 2)
    assert check.main_fraction_b == pytest.approx(7 * 36 / (7 * 36 + 1))
