"""The plan's ventricle numbers are those of the written twin map (``twins.nii.gz``).

A generated pair on a 3 mm grid: two ellipsoidal heads side by side along world x
(centres 90 mm apart; cavity semi-axes 55 x 65 x 50 mm, 3 mm skull, 5 mm scalp), their
cavities joined across a one-voxel CSF sheet at x = 0 (the plane between the brains).
Twin A has slit-like ventricles; twin B two enlarged lateral ventricles (ellipsoids
28 x 14 x 16 mm along x, y, z, centres at x = 32 mm, 13 mm in front of the head's centre,
y = +-16 mm, z = 8 mm), whose frontal horns reach to 4 mm from the sheet. The ``twins`` stage is replaced by a plane at
x = +14 mm, inside twin B, through its frontal horns; the real ``separate`` stage moves
the boundary onto the sheet (CSF costs less than brain against brain), giving the horns
back to twin B. The head frames are the exact ones (long axis z, twin B's face towards
twin A), put in the real fusion result so that the indices are measured too.

Ventricular CSF is the CSF at least 10 mm under the twin's cavity wall (the twin
boundary is a wall), so twin B's volume is close to the part of its two ellipsoids
beyond x_wall + 10 mm: 50-52 mL with the wall at the sheet (51.0 measured), 37-43 mL
with the wall at the plane (38.2 measured).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twinsep.fusion.axes import TwinFrame
from twinsep.fusion.stage import build_stage as fusion_stage
from twinsep.io import save_volume
from twinsep.io.formats import read_label_map
from twinsep.labels import BONE, BRAIN, CSF, SOFT_TISSUE
from twinsep.plan import PlanOptions, Stage, StageContext, run_plan
from twinsep.segment.result import TissueLabels
from twinsep.separate.stage import build_stage as separate_stage
from twinsep.twins.result import TwinAssignment
from twinsep.ventricles.measure import VentricleMeasure, measure_ventricles
from twinsep.ventricles.stage import build_stage as ventricles_stage
from twinsep.volume import Volume

SPACING_MM = 3.0
CAV = np.array([55.0, 65.0, 50.0])  # cavity semi-axes, mm
CENTRE_A = np.array([-45.0, 0.0, 0.0])
CENTRE_B = np.array([45.0, 0.0, 0.0])
VENT_B = np.array([28.0, 14.0, 16.0])  # twin B's ventricle semi-axes, mm
VENT_B_X, VENT_B_Y, VENT_B_Z = 32.0, 16.0, 8.0  # centres (x world, +-y, z)
PLANE_X = 14.0  # the replaced twins stage's boundary (world x, mm)


def _ellipsoid_beyond_ml(x_mm: float) -> float:
    """Volume (mL) of twin B's two ventricles beyond world x = ``x_mm``."""
    a, b, c = VENT_B
    t = max(-1.0, min(1.0, (x_mm - VENT_B_X) / a))
    return 2 * math.pi * a * b * c * ((1 - t) - (1 - t**3) / 3) / 1000.0


def _pair() -> tuple[Volume, np.ndarray]:
    """Labels of the generated pair and the plane twin map (0 outside the bodies)."""
    half = np.array([45.0 + 70.0, 75.0, 65.0])
    shape = tuple(int(v) for v in np.ceil(2 * half / SPACING_MM))
    affine = np.eye(4)
    affine[:3, :3] *= SPACING_MM
    affine[:3, 3] = -half
    world = np.indices(shape, dtype=np.float32).reshape(3, -1).T * SPACING_MM - half

    def inside(centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
        return np.asarray((((world - centre) / radii) ** 2).sum(1) <= 1)

    lab = np.zeros(len(world), np.uint8)
    for value, grow in ((SOFT_TISSUE, 8.0), (BONE, 3.0), (CSF, 0.0), (BRAIN, -2.0)):
        for centre in (CENTRE_A, CENTRE_B):
            lab[inside(centre, CAV + grow)] = value
    cavity = inside(CENTRE_A, CAV) | inside(CENTRE_B, CAV)
    lab[cavity & (np.abs(world[:, 0]) <= 1.5)] = CSF  # the sheet between the brains
    for sy in (-1.0, 1.0):
        lab[inside(CENTRE_A + [0.0, sy * 12.0, 10.0], np.array([25.0, 3.0, 6.0]))] = CSF
        centre = np.array([VENT_B_X, sy * VENT_B_Y, VENT_B_Z])
        lab[inside(centre, VENT_B)] = CSF
    lab = lab.reshape(shape)
    plane = np.where(world[:, 0].reshape(shape) < PLANE_X, 1, 2).astype(np.uint8)
    return Volume(lab, affine), plane * (lab > 0)


def _frame(twin: str, centre: np.ndarray, face: tuple[float, float, float]) -> TwinFrame:
    up = np.array([0.0, 0.0, 1.0])
    return TwinFrame(
        twin=twin,
        brain_centre_mm=centre.copy(),
        axis=up,
        face_dir=np.array(face),
        neck_mm=centre - 50 * up,
        vertex_mm=centre + 50 * up,
        neck_ml=50.0,
        face_ml=30.0,
        face_strength=0.6,
    )


FRAMES = {"A": _frame("A", CENTRE_A, (0.0, 1.0, 0.0)), "B": _frame("B", CENTRE_B, (-1.0, 0, 0))}


def _frames_from_plan(plan: dict[str, Any]) -> dict[str, TwinFrame]:
    """The head frames as plan.json gives them (``fusion.evidence.twins``)."""
    out = {}
    for twin, ev in plan["fusion"]["evidence"]["twins"].items():
        out[twin] = TwinFrame(
            twin=twin,
            brain_centre_mm=np.array(ev["brain_centre_mm"]),
            axis=np.array(ev["long_axis"]),
            face_dir=np.array(ev["face_dir"]),
            neck_mm=np.array(ev["neck_mm"]),
            vertex_mm=np.array(ev["vertex_mm"]),
            neck_ml=ev["neck_evidence_ml"],
            face_ml=ev["face_evidence_ml"],
            face_strength=ev["face_evidence_strength"],
            from_anatomy=ev["axis_from"] == "anatomy",
        )
    return out


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The pair planned through segment (the labels), twins (the plane), the real
    fusion (with the exact frames), the real separate and the ventricles stage."""
    labels, plane = _pair()
    seg = TissueLabels(labels, False, {})
    assignment = TwinAssignment(
        twins=labels.with_array(plane),
        a_centroid_mm=(-45.0, 0.0, 0.0),
        b_centroid_mm=(45.0, 0.0, 0.0),
        tissue_ml={},
        rule="plane",
    )

    def write_labels(result: TissueLabels, ctx: StageContext, out: Path) -> dict[str, Any]:
        save_volume(result.labels, out / "labels.nii.gz")
        return {}

    def write_twins(result: TwinAssignment, ctx: StageContext, out: Path) -> dict[str, Any]:
        save_volume(result.twins, out / "twins.nii.gz")  # replaced by the separate stage
        return {}

    fusion = fusion_stage()

    def run_fusion(ctx: StageContext) -> Any:
        return replace(fusion.run(ctx), frames=FRAMES)

    stages = [
        Stage(name="segment", run=lambda ctx: seg, write=write_labels),
        Stage(name="twins", run=lambda ctx: assignment, write=write_twins),
        replace(fusion, run=run_fusion),
        separate_stage(),
        ventricles_stage(),
    ]
    out = tmp_path_factory.mktemp("ventricles_plan") / "plan"
    info = {"sha256": "0" * 64, "path": "ct.nii.gz"}
    run = run_plan(PlanOptions(scan_path=Path("ct.nii.gz")), out, stages=stages, input_info=info)
    return {"plan": run.plan, "out": out, "labels": labels, "plane": plane}


def _remeasured(planned: dict[str, Any], twins: np.ndarray | None = None) -> dict[str, Any]:
    """Ventricles measured from the plan folder's labels.nii.gz and twins.nii.gz (or
    from ``twins``) with plan.json's frames."""
    out = planned["out"]
    labels = read_label_map(out / "labels.nii.gz")
    tw = read_label_map(out / "twins.nii.gz")
    if twins is not None:
        tw = tw.with_array(twins)
    ms: dict[str, VentricleMeasure] = measure_ventricles(
        labels, tw, _frames_from_plan(planned["plan"])
    )
    return {k: m.to_json() for k, m in sorted(ms.items())}


def test_the_cut_moves_twin_b_frontal_horns(planned: dict[str, Any]) -> None:
    # the set-up itself: the separate stage gave twin B tissue back (the plane lay
    # 14 mm inside it), and the written map is the cut's, not the plane
    plan, out = planned["plan"], planned["out"]
    assert plan["separation"]["moved_ml"]["A_to_B"] > 50.0
    written = read_label_map(out / "twins.nii.gz").array
    assert not np.array_equal(written, planned["plane"])
    labels = planned["labels"]
    lab = labels.array
    x = (np.indices(lab.shape)[0] * SPACING_MM + labels.affine[0, 3]).astype(float)
    horns = (lab == CSF) & (x > 3.0) & (x < PLANE_X)
    assert horns.sum() > 100 and (written[horns] == 2).all()
    assert (planned["plane"][horns] == 1).all()


def test_plan_ventricles_are_those_of_the_written_twin_map(planned: dict[str, Any]) -> None:
    plan = planned["plan"]
    assert plan["ventricles"] == _remeasured(planned)
    # ... and not those of the twins stage's map, which the cut changed by 12.8 mL
    before = _remeasured(planned, planned["plane"])
    assert plan["ventricles"]["B"]["volume_ml"] - before["B"]["volume_ml"] > 8.0


def test_twin_b_volume_is_its_ventricles_beyond_the_wall(planned: dict[str, Any]) -> None:
    # against the geometry: the deep part of twin B's ventricles lies 10 mm beyond the
    # wall. With the cut on the sheet (voxel centres at x = -1 mm, A's or B's, and 2 mm,
    # B's) that is x >= 6.5-9.5 mm; with the plane (A's last voxels at x = 11 mm) it is
    # x >= 22 mm; a voxel and a half of margin (the opening trims a little more). The
    # two ranges do not overlap: 48.1-52.5 mL against 33.9-42.7 mL.
    plan = planned["plan"]
    b = plan["ventricles"]["B"]
    lo, hi = _ellipsoid_beyond_ml(9.5 + 4.5), _ellipsoid_beyond_ml(6.5 - 1.5)
    assert lo <= b["volume_ml"] <= hi, (lo, b["volume_ml"], hi)
    before = _remeasured(planned, planned["plane"])["B"]["volume_ml"]
    lo, hi = _ellipsoid_beyond_ml(22.0 + 4.5), _ellipsoid_beyond_ml(22.0 - 2.5)
    assert lo <= before <= hi, (lo, before, hi)
    assert b["enlarged"] is True and b["evans_index"] is not None
    assert plan["ventricles"]["A"]["enlarged"] is False
    warned = [w for w in plan["warnings"] if w.startswith("ventricles: ")]
    assert len(warned) == 1 and "twin B" in warned[0]
    assert f"ventricular CSF {b['volume_ml']:.0f} mL" in warned[0]
