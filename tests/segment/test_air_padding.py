"""The air peak ignores exact padding outside a round field of view.

A CT reconstructed in a round field stores one exact value in the corners outside it.
-2048 or -3024 lie outside the air search range; -1024 (noise-free "air") lies inside it
and pulled the air peak of the real CT twins from -998 to -1022 HU, moving every
threshold derived from it (face rotation 31.3 -> 26.4 deg, docs/io.md). Truth here: a
generated CT whose air is -1000 HU with known noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.segment import ct_statistics
from twinsep.segment.histogram import padding_value
from twinsep.volume import Volume


def _ct(*, noise_hu: float, pad_hu: float | None, clip_hu: float | None = None) -> Volume:
    """96^3 at 2 mm: air -1000 HU, a soft-tissue ball (40 HU, radius 60 mm) with a bone
    shell (radius 60-66 mm, 800 HU), Gaussian noise; outside a circle of radius 86 mm
    in the first two axes (about 36 % of the grid), ``pad_hu`` exactly; values below
    ``clip_hu`` clipped to it (a scanner storing air as unsigned)."""
    n, sp = 96, 2.0
    c = (np.arange(n) - (n - 1) / 2) * sp
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    r = np.sqrt(x**2 + y**2 + z**2)
    hu = np.full((n, n, n), -1000.0, np.float32)
    hu[r < 66] = 800.0
    hu[r < 60] = 40.0
    hu += np.random.default_rng(0).normal(0.0, noise_hu, hu.shape).astype(np.float32)
    hu = np.rint(hu)
    if clip_hu is not None:
        hu = np.maximum(hu, clip_hu)
    if pad_hu is not None:
        hu[np.hypot(x, y) > 86] = pad_hu
    aff = np.diag([sp, sp, sp, 1.0])
    return Volume(hu.astype(np.int16), aff, {"modality": "CT"})


@pytest.mark.parametrize("pad_hu", [-1024.0, -1010.0, -3024.0, None])
def test_air_peak_is_patient_air_whatever_the_padding(pad_hu):
    """Air -1000 HU with 20 HU noise: the peak lies within one 4 HU bin of -1000 with
    -1024 or -1010 padding in 36 % of the grid, as with -3024 (outside the range) or none.
    Before, -1024 padding read -1022."""
    st = ct_statistics(_ct(noise_hu=20.0, pad_hu=pad_hu))
    assert abs(st.air_hu - (-1000.0)) <= 4.0
    assert abs(st.soft_hu - 40.0) <= 4.0


def test_noise_free_air_is_air_not_padding():
    """A noise-free CT's air is one exact value: it is the air (nothing else in the range
    to measure), so it is not left out (peak -1000 within a bin, not the fallback by
    accident: a noise-free air of -1012 reads -1012)."""
    assert padding_value(np.full(1000, -1000.0), -1100.0, -700.0, 0.01) is None
    vol = _ct(noise_hu=0.0, pad_hu=None)
    arr = vol.array.copy()
    arr[arr == -1000] = -1012
    st = ct_statistics(Volume(arr, vol.affine, vol.meta))
    assert abs(st.air_hu - (-1012.0)) <= 4.0


def test_padding_value_finds_the_exact_fill_only():
    """The spike is found when it holds >= 1 % and 20 x its neighbours' count per HU
    while noisy air holds >= 1 % too; air clipped at -1024 (its lower tail stored as
    -1024) is a spike as well, and leaving it out keeps the mode at -1000."""
    rng = np.random.default_rng(1)
    air = np.rint(rng.normal(-1000.0, 20.0, 50_000))
    soft = np.rint(rng.normal(40.0, 20.0, 50_000))
    pad = np.full(30_000, -1024.0)
    assert padding_value(np.concatenate([air, soft, pad]), -1100, -700, 0.01) == -1024.0
    # 0.9 % padding is below the share
    few = np.full(900, -1024.0)
    assert padding_value(np.concatenate([air, soft[:49_100], few]), -1100, -700, 0.01) is None
    # no spike: noisy air alone
    assert padding_value(np.concatenate([air, soft]), -1100, -700, 0.01) is None
    st = ct_statistics(_ct(noise_hu=20.0, pad_hu=None, clip_hu=-1024.0))
    assert abs(st.air_hu - (-1000.0)) <= 4.0
