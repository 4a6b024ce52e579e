"""Rehearsal of a real plan of a phantom: fusion + separation computed by their stages'
functions, written as a plan folder, rehearsed in plan order and in a broken order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twinsep.fusion.analysis import analyse_fusion
from twinsep.io import read_label_map, save_volume
from twinsep.phantom import make_phantom
from twinsep.rehearse import rehearse_plan
from twinsep.separate import plan_separation
from twinsep.separate.stage import separation_section


@pytest.fixture(scope="module")
def phantom_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    ph = make_phantom("vertical-II", seed=2, table=False, spacing_mm=2.2)
    fusion = analyse_fusion(ph.labels, ph.twins)
    sep = plan_separation(ph.labels, ph.twins, fusion)
    d = tmp_path_factory.mktemp("plan")
    save_volume(ph.labels, d / "labels.nii.gz")
    save_volume(sep.twins, d / "twins.nii.gz")
    save_volume(sep.cut, d / "separation.nii.gz")
    section = separation_section(sep)
    plan = {"schema": "twinsep.plan/1", "separation": section}
    (d / "plan.json").write_text(json.dumps(plan))
    return d, section


def test_phantom_plan_ends_separated(phantom_plan) -> None:
    d, section = phantom_plan
    r = rehearse_plan(d)
    numbers = [s["number"] for s in section["stages"]]
    assert [s.number for s in r.steps] == numbers
    assert r.separated and r.problems == []
    # before the last stage the twins are still joined, after it nothing bridges them
    assert not r.steps[-2].separated
    assert r.steps[-1].bridges == [] and r.steps[-1].joined_components == 0
    # every contact that existed is divided by some stage: areas add up (mm^2)
    initial = sum(b.area_mm2 for b in r.initial_bridges)
    divided = sum(sum(s.divided_mm2.values()) for s in r.steps)
    assert divided == pytest.approx(initial, rel=1e-9)
    assert initial > 0
    for s in r.steps:
        assert s.picture and (d / s.picture).is_file()


def test_phantom_plan_without_its_last_stage_names_what_connects(phantom_plan, tmp_path) -> None:
    d, section = phantom_plan
    numbers = [s["number"] for s in section["stages"]]
    sf = tmp_path / "stages.yaml"
    sf.write_text("\n".join(f"- {n}" for n in numbers[:-1]) + "\n")
    r = rehearse_plan(d, stages_path=sf, render=False)
    assert not r.separated
    left = r.steps[-1].bridges
    assert left and sum(b.area_mm2 for b in left) > 0
    assert any(f"stage {numbers[-1]}" in p for p in r.problems)
    # what still connects is where the missing stage cuts: each bridge centre (world mm)
    # lies within two voxels of the bounding box of that stage's cut voxels
    cut = read_label_map(d / "separation.nii.gz")
    world = cut.world_coords(np.argwhere(cut.array == numbers[-1]).astype(float))
    lo, hi = world.min(axis=0) - 2 * 2.2, world.max(axis=0) + 2 * 2.2
    for b in left:
        assert (np.asarray(b.centre_mm) >= lo).all() and (np.asarray(b.centre_mm) <= hi).all()
