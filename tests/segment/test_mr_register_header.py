"""``register_mr_to_ct`` called directly on an MR that one of its mirror images fits
better as its header places it: the refusal says what the orientation search finds
(as ``fuse_mr`` does), not "appears mirrored" for an MR that is only turned.

The registration and the search are replaced by known results (they are measured on
real registrations in ``test_mr_turned_header.py`` and ``test_mr_mirror.py``), so the
test is about the words: a turn clearly best, a mirror clearly best, a near-tie.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.errors import InputError
from twinsep.segment import mr as M
from twinsep.segment.mr_orient import Orientation, OrientationSearch
from twinsep.segment.params import MRParams
from twinsep.volume import Volume

TURN_Z90 = ((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))
MIRROR_X = ((-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
AS_GIVEN = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def _refusal(
    monkeypatch: pytest.MonkeyPatch, ranked: list[tuple[tuple[tuple[float, ...], ...], float]]
) -> str:
    """The one-line refusal of ``register_mr_to_ct`` when the registration from the
    header's pose loses to a mirror image and the search ranks ``ranked``."""

    def register(ct: Volume, mr: Volume, params: MRParams) -> None:
        raise M.MRFitError(
            "t1.nii",
            "the MR appears mirrored: registered to the CT ...",
            "from its header's pose, its mirror image along voxel axis 0 fits better "
            "(Mattes mutual information 0.370 against 0.320)",
        )

    search = OrientationSearch(
        ranked=tuple(Orientation(voxel_map=m, start_mi=0.1, mattes_mi=mi) for m, mi in ranked),
        tried=48,
        voxel_mm=(6.0, 6.0, 6.0),
    )
    monkeypatch.setattr(M, "_register", register)
    monkeypatch.setattr(M, "_sitk_pair", lambda ct, mr, params: (None, None))
    monkeypatch.setattr(M, "search_orientations", lambda fixed, moving, params: search)
    vol = Volume(np.zeros((8, 8, 8), np.float32), np.eye(4), {"source": "t1.nii"})
    with pytest.raises(InputError) as err:
        M.register_mr_to_ct(vol, vol)
    line = err.value.one_line()
    assert line.startswith("t1.nii: ") and "\n" not in line
    return line


def test_a_turned_header_is_named_as_turned(monkeypatch: pytest.MonkeyPatch) -> None:
    line = _refusal(monkeypatch, [(TURN_Z90, 0.452), (MIRROR_X, 0.340), (AS_GIVEN, 0.320)])
    assert "appears mirrored" not in line, line
    assert (
        "the MR's header turns it: turned by 90° about its voxel axis 2 (head-foot), it fits"
        in line
    )
    assert "next best 0.340, as given 0.320" in line and "fuse_mr" in line


def test_a_mirror_clearly_best_is_still_refused_as_mirrored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    line = _refusal(monkeypatch, [(MIRROR_X, 0.492), (TURN_Z90, 0.370), (AS_GIVEN, 0.320)])
    assert line.startswith("t1.nii: the MR appears mirrored"), line


def test_a_near_tie_is_not_called_a_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    line = _refusal(monkeypatch, [(TURN_Z90, 0.400), (MIRROR_X, 0.380), (AS_GIVEN, 0.320)])
    assert "appears mirrored" not in line and "could not be confirmed" in line, line
