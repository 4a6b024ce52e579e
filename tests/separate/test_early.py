"""The min-cut started early in a child process (issue 10) gives the cut of the stage.

The child runs the same function on pickled copies of the same arrays: its result must
be identical (every voxel, every statistic but the wall times), its errors must reach
the stage as they would from the stage itself, and small grids are not sent to a
process at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from twinsep.errors import SeparationError
from twinsep.separate import early
from twinsep.separate.mincut import min_cut_twins
from twinsep.separate.params import CutParams
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
from test_separate import _dumbbell  # noqa: E402


@pytest.fixture()
def no_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    # the test grids are small: send them to the child anyway
    monkeypatch.setattr(early, "EARLY_MIN_VOXELS", 0)


def _volumes() -> tuple[Volume, Volume]:
    lab, tw, aff, _ = _dumbbell(8.0)
    return Volume(lab, aff), Volume(tw, aff)


def test_early_cut_equals_the_cut_in_the_stage(no_threshold: None) -> None:
    labels, twins = _volumes()
    params = CutParams()
    # in the spare process started after segment (Stage.prepare), as in a plan
    spare = early.spare_cut_process(labels)
    assert spare is not None
    job = early.start_cut(labels, twins, params=params, spare=spare)
    assert job is not None
    assert job.job._process is spare.process
    got = job.result(labels, twins)
    want = min_cut_twins(labels, twins, params=params)
    np.testing.assert_array_equal(got.twins, want.twins)
    assert got.moved_vx == want.moved_vx > 0  # the cut moved voxels: a real comparison
    assert (got.n_nodes, got.n_edges, got.band_mm, got.flow) == (
        want.n_nodes,
        want.n_edges,
        want.band_mm,
        want.flow,
    )


def test_early_cut_error_reaches_the_stage(no_threshold: None) -> None:
    labels, twins = _volumes()
    apart = twins.array.copy()
    apart[apart == 2] = 0  # one twin only: nothing to cut
    lone = Volume(apart, twins.affine)
    job = early.start_cut(labels, lone, params=CutParams())
    assert job is not None
    with pytest.raises(SeparationError, match="do not touch"):
        job.result(labels, lone)


def test_lost_child_is_replaced_by_the_stage(no_threshold: None) -> None:
    labels, twins = _volumes()
    job = early.start_cut(labels, twins, params=CutParams())
    assert job is not None
    job.job.kill_for_test()  # as if killed for memory
    got = job.result(labels, twins)
    want = min_cut_twins(labels, twins, params=CutParams())
    np.testing.assert_array_equal(got.twins, want.twins)


def test_cancel_stops_the_child(no_threshold: None) -> None:
    labels, twins = _volumes()
    job = early.start_cut(labels, twins, params=CutParams())
    assert job is not None
    job.cancel()
    assert not job.job._process.is_alive()


def test_small_grids_are_cut_in_the_stage() -> None:
    labels, twins = _volumes()
    assert labels.array.size < early.EARLY_MIN_VOXELS
    assert early.start_cut(labels, twins, params=CutParams()) is None
