"""A plain real head CT in thick slices is not called contrast (docs/segmentation.md,
"The contrast call on thick slices", 2026-11-29, helper TSC).

Cranium.inv3 (Debian invesalius-examples: an adult head CT without contrast, 0.96 x
0.96 x 1.5 mm) averaged over 3 or 4 consecutive slices: 4.5 / 6 mm slices with a box
slice profile, contiguous, as a scanner's thick reconstruction gives them. Across such a
slice the skull base's plates and cancellous bone are averaged with what lies above and
below them, and 2.8 / 3.1 mL of it reached the contrast band off the bone core as sinus
"evidence". Until the lumen-plateau rule read voxels longer than 4 mm
(``VesselParams.lumen_voxel_max_mm``) that called the CT contrast, with 30 / 36 mL of
false vessel; the interior of that "vessel" scatters by the bone's structure (robust SD
68 HU for a limit of about 35 HU), a lumen's by the noise.

Skipped when the data is not installed (``make realdata``). About 5-15 s per grid.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.realanatomy.invesalius import load_inv3
from twinsep.realanatomy.realct import inv3_path
from twinsep.segment import segment_ct
from twinsep.volume import Volume

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        inv3_path() is None,
        reason="Cranium.inv3 (Debian invesalius-examples) not installed: make realdata",
    ),
]


@pytest.fixture(scope="module")
def cranium() -> Volume:
    path = inv3_path()
    assert path is not None
    return load_inv3(path)


def _thick(ct: Volume, n: int) -> Volume:
    """``ct`` with every ``n`` consecutive slices (axis k) averaged into one, the new
    slice centred on the ones it averages; HU rounded as a CT series stores them."""
    a = ct.array.astype(np.float32)
    m = a.shape[2] // n
    hu = a[:, :, : m * n].reshape(a.shape[0], a.shape[1], m, n).mean(axis=3)
    aff = ct.affine.copy()
    aff[:3, 3] += ct.affine[:3, 2] * (n - 1) / 2.0
    aff[:3, 2] *= n
    return Volume(np.rint(hu).astype(np.int16), aff, {"modality": "CT"})


@pytest.mark.parametrize("n", [3, 4])
def test_plain_real_ct_in_thick_slices_is_plain(cranium: Volume, n: int) -> None:
    ct = _thick(cranium, n)
    assert ct.spacing_mm[2] == pytest.approx(1.5 * n, abs=1e-3)
    seg = segment_ct(ct)
    assert not seg.contrast, seg.hu_thresholds
    assert not (seg.labels.array == L.VESSEL).any()
    # the skull base's partial volume is no sinus evidence once its interior is read
    assert seg.hu_thresholds["contrast_evidence_ml"] == 0.0
    # the neck cue stays far from deciding (measured 2.2-2.9 mL for 12 mL)
    assert seg.hu_thresholds["contrast_extracranial_ml"] < 6.0
