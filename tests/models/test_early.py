"""Meshes made early in a child process (issue 10) are the meshes of the stage.

The child runs :func:`build_models` on pickled copies of the same arrays: every part,
separation mesh and doll piece must have the same vertices and faces bit for bit, the
reconstruction meshes are added afterwards, a dead child is replaced by the stage's own
build, and small grids are not sent to a process at all.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from twinsep.models import ModelParams, build_models, early
from twinsep.models.stage import ModelSet
from twinsep.models.surface import Mesh
from twinsep.separate import early as separate_early
from twinsep.separate.params import CutParams

from .conftest import two_heads

COLOURS = {"A": "#7B3FA0", "B": "#F28C28"}


@pytest.fixture()
def no_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    # the test grids are small: send them to the child anyway
    monkeypatch.setattr(early, "EARLY_MIN_VOXELS", 0)


def _grids():
    labels, twins = two_heads()
    cut = np.zeros(labels.shape, np.uint8)
    n = labels.shape[0]
    cut[n // 2 - 1][labels.array[n // 2 - 1] > 0] = 1  # one separation stage
    return labels, twins, labels.with_array(cut)


def _same(a: ModelSet, b: ModelSet) -> None:
    meshes_a = [p.mesh for p in a.parts] + a.separation + a.reconstruction
    meshes_b = [p.mesh for p in b.parts] + b.separation + b.reconstruction
    assert a.doll is not None and b.doll is not None
    meshes_a += [a.doll.part_a, a.doll.part_b]
    meshes_b += [b.doll.part_a, b.doll.part_b]
    assert [m.name for m in meshes_a] == [m.name for m in meshes_b]
    for x, y in zip(meshes_a, meshes_b, strict=True):
        assert np.array_equal(x.vertices, y.vertices), x.name
        assert np.array_equal(x.faces, y.faces), x.name
        assert x.colour == y.colour
    for p, q in zip(a.parts, b.parts, strict=True):
        assert p.label_volume_ml == q.label_volume_ml and p.wall == q.wall


def test_early_models_equal_the_models_of_the_stage(no_threshold: None) -> None:
    labels, twins, cut = _grids()
    params = ModelParams()
    recon = [Mesh(np.eye(3) * 5.0, np.array([[0, 1, 2]]), name="A/expander1", twin="A")]
    job = early.start_models(labels, twins, cut=cut, colours=COLOURS, params=params)
    assert job is not None
    got = job.result(labels, twins, cut, recon)
    want = build_models(
        labels, twins, cut=cut, reconstruction=recon, colours=COLOURS, params=params
    )
    assert len(got.parts) >= 8 and got.separation  # a real comparison
    _same(got, want)
    assert [m.name for m in got.reconstruction] == ["A/expander1"]


def test_dead_child_is_replaced_by_the_stage(no_threshold: None) -> None:
    labels, twins, cut = _grids()
    params = ModelParams()
    job = early.start_models(labels, twins, cut=cut, colours=COLOURS, params=params)
    assert job is not None
    job.job.kill_for_test()  # as if killed for memory
    got = job.result(labels, twins, cut, [])
    want = build_models(labels, twins, cut=cut, colours=COLOURS, params=params)
    _same(got, want)


def _refined_by_child(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[early.EarlyModels, object, object, object]:
    """The plan's order: min-cut started in a child, the parts queued after it, the cut
    taken by ``separate`` (which refines the twins as the cut says)."""
    monkeypatch.setattr(separate_early, "EARLY_MIN_VOXELS", 0)
    labels, twins, cut = _grids()
    cut_job = separate_early.start_cut(labels, twins, params=CutParams())
    assert cut_job is not None
    models = early.follow_cut(cut_job.job, labels, colours=COLOURS, params=ModelParams())
    assert models is not None and models.parts is not None
    refined = twins.with_array(cut_job.result(labels, twins).twins)
    return models, labels, refined, cut


def test_parts_following_the_cut_equal_the_models_of_the_stage(
    no_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    models, labels, refined, cut = _refined_by_child(monkeypatch)

    # the parts must come from the child: meshing them here would fail
    def no_parts_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("the part meshes were made in the plan, not in the child")

    monkeypatch.setattr(early, "twin_structure_meshes", no_parts_here)
    ctx = SimpleNamespace(
        result=lambda name: {
            "segment": SimpleNamespace(labels=labels),
            "separate": SimpleNamespace(twins=refined, cut=cut),
        }[name],
        has=lambda name: name in ("segment", "separate"),
    )
    models.stage_done("separate", ctx)
    assert models.side is not None  # doll and separation meshes in a thread
    recon = [Mesh(np.eye(3) * 5.0, np.array([[0, 1, 2]]), name="A/expander1", twin="A")]
    got = models.result(labels, refined, cut, recon)
    monkeypatch.undo()
    want = build_models(
        labels, refined, cut=cut, reconstruction=recon, colours=COLOURS, params=ModelParams()
    )
    assert len(got.parts) >= 8 and got.separation  # a real comparison
    _same(got, want)
    assert [m.name for m in got.reconstruction] == ["A/expander1"]


def test_parts_after_a_cancelled_cut_are_made_in_the_stage(
    no_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(separate_early, "EARLY_MIN_VOXELS", 0)
    labels, twins, cut = _grids()
    cut_job = separate_early.start_cut(labels, twins, params=CutParams())
    assert cut_job is not None
    models = early.follow_cut(cut_job.job, labels, colours=COLOURS, params=ModelParams())
    assert models is not None
    cut_job.cancel()  # the stage cut with other parameters: the child's twins are not its own
    got = models.result(labels, twins, cut, [])
    want = build_models(labels, twins, cut=cut, colours=COLOURS, params=ModelParams())
    _same(got, want)


def test_small_grids_are_meshed_in_the_stage() -> None:
    labels, twins, cut = _grids()
    assert labels.array.size < early.EARLY_MIN_VOXELS
    assert early.start_models(labels, twins, cut=cut, colours=COLOURS, params=ModelParams()) is None
    assert early.follow_cut(None, labels, colours=COLOURS, params=ModelParams()) is None


def test_mid_size_grids_mesh_in_a_child_while_the_cut_stays_in_the_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Colin27 real-vertical (144 x 156 x 234 voxels at 1.5 mm) is below the min-cut's
    # threshold and at or above the meshes': its meshes are made in a child while
    # ``reconstruct`` (one thread) runs; the tests' grids stay in the stage
    assert early.EARLY_MIN_VOXELS <= 144 * 156 * 234 < separate_early.EARLY_MIN_VOXELS
    assert 96**3 < early.EARLY_MIN_VOXELS
    monkeypatch.setattr(early, "EARLY_MIN_VOXELS", 0)
    labels, twins, cut = _grids()
    assert separate_early.start_cut(labels, twins, params=CutParams()) is None
    models = early.follow_cut(None, labels, colours=COLOURS, params=ModelParams())
    assert models is not None and models.parts is None and models.job is None
    ctx = SimpleNamespace(
        result=lambda name: {
            "segment": SimpleNamespace(labels=labels),
            "separate": SimpleNamespace(twins=twins, cut=cut),
        }[name],
        has=lambda name: name in ("segment", "separate"),
    )
    models.stage_done("fusion", ctx)
    assert models.job is None  # started by the cut's stage only
    models.stage_done("separate", ctx)
    assert models.job is not None

    # the models must come from the child: building them here would fail
    def not_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("the models were built in the plan, not in the child")

    monkeypatch.setattr(early, "_build", not_here)
    got = models.result(labels, twins, cut, [])
    monkeypatch.undo()
    want = build_models(labels, twins, cut=cut, colours=COLOURS, params=ModelParams())
    _same(got, want)
