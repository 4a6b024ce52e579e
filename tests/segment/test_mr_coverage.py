"""CT+MR fusion: the MR must show the CT's cranial cavity (``MRParams.registration_min_coverage``).

The registration is replaced by a known result (registered MR, MI, field of view), so
the rule itself is checked on small arrays: an MR of another head registered above the
MI threshold (Colin27's single-head T1 on the Colin27 twin CT: MI 0.169, 48 % of the
cavity shown) is refused; voxels outside a sufficient field of view keep the CT's
labels instead of turning into CSF (the resampled MR reads 0 there).
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.errors import InputError
from twinsep.segment import mr as M
from twinsep.segment.mr_mirror import MirrorCheck
from twinsep.segment.mr_orient import Orientation, OrientationSearch
from twinsep.segment.result import TissueLabels
from twinsep.volume import Volume

SHAPE = (40, 20, 20)
#: the registration's mirror check: the MR as given fits clearly better than its mirrors
CLEAR = MirrorCheck(0.5, (0.3, 0.3, 0.3), (6.0, 6.0, 6.0))


def _no_better_orientation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refused fit's orientation search (``segment.mr_orient``) finds the header's
    orientation best, as for a real MR of the right orientation: on these boxes, symmetric
    under every turn, its coarse fits are noise, and the registration here is faked."""
    given = Orientation(tuple(tuple(float(v) for v in row) for row in np.eye(3)), 0.5, 0.5)
    found = OrientationSearch((given,), 48, (6.0, 6.0, 6.0))
    monkeypatch.setattr(M, "search_orientations", lambda fixed, moving, params: found)


def _case(shown_fraction: float, monkeypatch: pytest.MonkeyPatch) -> TissueLabels:
    """A CT cavity filling x = 4..35 (brain, a CSF slab at x = 20..23); an MR showing
    bright brain, dark CSF and air, registered with MI 0.5, whose field of view ends at
    the x index that leaves ``shown_fraction`` of the cavity inside."""
    lab = np.zeros(SHAPE, np.uint8)
    lab[2:38] = L.SOFT_TISSUE
    lab[4:36, 3:17, 3:17] = L.BRAIN
    lab[20:24, 3:17, 3:17] = L.CSF
    ct_labels = Volume(lab, np.eye(4))
    mr = np.zeros(SHAPE, np.float32)
    mr[2:38] = 60.0
    mr[4:36, 3:17, 3:17] = 100.0  # brain bright on T1
    mr[20:24, 3:17, 3:17] = 30.0  # CSF dark, above air
    mr[26:30, 3:17, 3:17] = 30.0  # a CSF slab the CT called brain
    edge = 4 + int(round(shown_fraction * 32))
    fov = np.zeros(SHAPE, bool)
    fov[:edge] = True
    moved = np.where(fov, mr, 0.0).astype(np.float32)

    def fake(
        ct: Volume, m: Volume, params: object
    ) -> tuple[Volume, float, np.ndarray, np.ndarray, MirrorCheck]:
        return ct.with_array(moved), 0.5, fov, np.eye(4), CLEAR

    monkeypatch.setattr(M, "_register", fake)
    _no_better_orientation(monkeypatch)
    seg = TissueLabels(labels=ct_labels, contrast=False, hu_thresholds={})
    return M.fuse_mr(
        seg, Volume(lab.astype(np.int16), np.eye(4)), Volume(mr, np.eye(4), {"source": "t1.nii"})
    )


def test_mr_showing_half_the_cavity_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError) as info:
        _case(0.5, monkeypatch)
    line = info.value.one_line()
    assert line.startswith("t1.nii: ") and "shows only 50 % of the CT's cranial cavity" in line


def test_outside_the_field_of_view_keeps_the_ct_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    fused = _case(30 / 32, monkeypatch)  # 94 % shown: accepted, x >= 34 outside
    lab = fused.labels.array
    assert (lab[26:30, 3:17, 3:17] == L.CSF).all()  # decided from the MR inside its view
    assert (lab[34:36, 3:17, 3:17] == L.BRAIN).all()  # the CT's brain, not "dark" CSF
    assert any("field of view covers 93.8 %" in w for w in fused.warnings), fused.warnings


# ------------------------------------- the registered MR's heads must fit the CT's heads


def _outline_case(mr_head: tuple[slice, ...]) -> tuple[Volume, Volume, np.ndarray]:
    """A CT head (soft tissue x = 2..37, y and z = 2..17) around a brain and CSF; an MR
    registered with its head over ``mr_head`` (the same brain inside), its field of
    view the whole grid."""
    lab = np.zeros(SHAPE, np.uint8)
    lab[2:38, 2:18, 2:18] = L.SOFT_TISSUE
    lab[4:36, 4:16, 4:16] = L.BRAIN
    lab[20:24, 4:16, 4:16] = L.CSF
    mr = np.zeros(SHAPE, np.float32)
    mr[mr_head] = 60.0
    mr[4:36, 4:16, 4:16] = 100.0
    mr[20:24, 4:16, 4:16] = 30.0  # CSF dark on T1, above half the air/tissue level
    return Volume(lab, np.eye(4)), Volume(mr, np.eye(4), {"source": "t1.nii"}), mr


def test_head_agreement_is_the_dice_of_the_outlines() -> None:
    # the MR's head fills the whole grid: 40 x 20 x 20 voxels against the CT's 36 x 16 x 16
    # inside it: Dice 2 * 9216 / (9216 + 16000) = 0.7310 (a one-sided share would be 1.0)
    ct_labels, mr, arr = _outline_case((slice(None), slice(None), slice(None)))
    fov = np.ones(SHAPE, bool)
    got = M._head_agreement(
        M._registered_head(ct_labels.with_array(arr), mr), fov, ct_labels.array > 0
    )
    assert got == pytest.approx(2 * 9216 / (9216 + 16000), abs=1e-6)
    # outside the field of view neither head counts: x < 30 only -> 28 x 16 x 16 against
    # 30 x 20 x 20: 2 * 7168 / (7168 + 12000) = 0.7479 (0.7310 if the view were ignored)
    fov[30:] = False
    got = M._head_agreement(
        M._registered_head(ct_labels.with_array(arr), mr), fov, ct_labels.array > 0
    )
    assert got == pytest.approx(2 * 7168 / (7168 + 12000), abs=1e-6)


def _fuse_outline(mr_head: tuple[slice, ...], monkeypatch: pytest.MonkeyPatch) -> TissueLabels:
    ct_labels, mr, arr = _outline_case(mr_head)

    def fake(
        ct: Volume, m: Volume, params: object
    ) -> tuple[Volume, float, np.ndarray, np.ndarray, MirrorCheck]:
        return ct.with_array(arr), 0.28, np.ones(SHAPE, bool), np.eye(4), CLEAR

    monkeypatch.setattr(M, "_register", fake)
    _no_better_orientation(monkeypatch)
    seg = TissueLabels(labels=ct_labels, contrast=False, hu_thresholds={})
    return M.fuse_mr(seg, Volume(ct_labels.array.astype(np.int16), np.eye(4)), mr)


def test_mr_whose_heads_do_not_fit_the_ct_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cavity voxel shown (coverage 1.0) and MI above its floor, but the MR shows a
    head where the CT has air (as the other twins' MR on the blind phantom: Dice 0.82)."""
    with pytest.raises(InputError) as info:
        _fuse_outline((slice(None), slice(None), slice(None)), monkeypatch)
    line = info.value.one_line()
    assert line.startswith("t1.nii: ") and "Mattes mutual information 0.280" in line
    assert "overlap with Dice 0.731 (at least 0.90 needed" in line


def test_mr_whose_heads_fit_the_ct_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    fused = _fuse_outline((slice(2, 38), slice(2, 18), slice(2, 18)), monkeypatch)
    assert fused.modality == "CT+MR"
