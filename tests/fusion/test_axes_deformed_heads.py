"""Long axes of a vertical union whose one twin is hydrocephalic and macrocephalic.

Ground truth: the shapes blind layer (``tests/blind/shapes.py``, written without reading
twinsep's code) over phantom3: its truth label and twin maps (no segmentation, so only
the axes are tested) and each head's ``vertex_dir`` / ``face_dir``. The hydrocephalic
head (160 mm, a 10 mm mantle) is cut by the scan 15-25 mm below its chin; rendered at
3 mm without noise to stay fast (docs/orientation.md, 'A hydrocephalic or long head: the
neck slid onto the chin', 2026-11-27).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import edt
import numpy as np
import pytest

from twinsep.fusion import FusionAnalysis, analyse_fusion
from twinsep.fusion.axes import angle_deg
from twinsep.fusion.params import FusionParams
from twinsep.segment.ct import segment_ct
from twinsep.twins.assign import assign_twins
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from blind.shapes import make_shapes  # noqa: E402
from blind.shapes_cases import shapes_cases  # noqa: E402

pytestmark = pytest.mark.slow


def _truth_case(name: str) -> tuple[Volume, Volume, dict[str, object]]:
    case = shapes_cases()[name]
    base = case.base
    base = replace(
        base,
        ct=replace(base.ct, noise_hu=0.0, psf_fwhm_mm=0.0, cupping_hu=0.0, supersample=1),
        grid=replace(base.grid, spacing_mm=(3.0, 3.0, 3.0)),
    )
    ph = make_shapes(replace(case, base=base))
    return (
        Volume(ph.labels, ph.affine, {"source": name}),
        Volume(ph.twins, ph.affine, {"source": name}),
        ph.truth,
    )


@pytest.mark.parametrize("name", ["vt-c15-hydroB", "vt-c15-hydroA"])
def test_vertical_union_with_a_hydrocephalic_twin(name: str) -> None:
    """A vertical total union (axes in line, faces the same way) whose twin B / A is
    hydrocephalic. The scan ends 15-25 mm below that twin's chin; its neck's end slab,
    refined along the skull-base cues (which lean 13-17 deg to the face), slid onto the
    chin and no longer reached the scan's cut, so the cut was not used. Before: that
    twin's axis 39.1 / 37.0 deg off, axis angle 143.0 / 145.2, rotation 179.9 / 179.5
    (O'Connell II for I). After: 0.7 / 1.7 deg, angle 177.3 / 176.2, rotation 0.5 / 0.0.
    5 deg per twin is twice the regular twin's own error (2.2 deg) and far below the
    slide; 10 deg on the rotation is far below type III's 40."""
    labels, twins, truth = _truth_case(name)
    fa = analyse_fusion(labels, twins)
    up = truth["vertex_dir"]
    assert isinstance(up, dict)
    for t in ("A", "B"):
        err = angle_deg(fa.frames[t].axis, np.asarray(up[t]))
        assert err < 5.0, (t, err, fa.frames[t].cue_dirs)
    assert fa.type == "vertical"
    assert fa.axis_angle_deg > 170.0
    assert fa.rotation_deg is not None
    assert abs(float(fa.rotation_deg) - float(truth["rotation_deg"])) < 10.0  # type: ignore[arg-type]
    if name == "vt-c15-hydroB":
        # twin B's axis comes from the scan's cut through its neck (20 mm of neck below
        # the chin): the note said "the scan ends inside the head (through the neck or
        # jaw ...), so no neck is shown"; it now says how far below the cranial cavity
        # the scan ends: 54 mm, against the distance from the bulk of the truth cavity
        # (deeper than scalp_skull_mm) to the centre of B's tissue on the array's end
        told = [w for w in fa.warnings if w.startswith("twin B: the scan ends")]
        assert len(told) == 1 and "no neck is shown" not in told[0], fa.warnings
        got_mm = float(told[0].split(" about ")[1].split(" mm")[0])
        assert abs(got_mm - _scan_end_below_cavity_mm(labels, twins, 2)) <= 3.0, told[0]


def _planned_fusion_each_twin_within_5_deg(name: str) -> FusionAnalysis:
    """The shapes case ``name`` at 2.5 mm (the CT's noise, no supersampling) through
    ``segment_ct``, ``assign_twins`` and ``analyse_fusion``; each twin's long axis is
    checked within 5 deg of the truth's vertex direction on the way."""
    case = shapes_cases()[name]
    base = replace(
        case.base,
        ct=replace(case.base.ct, supersample=1),
        grid=replace(case.base.grid, spacing_mm=(2.5, 2.5, 2.5)),
    )
    ph = make_shapes(replace(case, base=base))
    seg = segment_ct(Volume(ph.ct_hu, ph.affine, {"source": case.name}))
    twins = assign_twins(seg.labels).twins
    fa = analyse_fusion(seg.labels, twins)
    up = ph.truth["vertex_dir"]
    assert isinstance(up, dict)
    for t in ("A", "B"):
        err = angle_deg(fa.frames[t].axis, np.asarray(up[t]))
        assert err < 5.0, (t, err, fa.frames[t].cue_dirs)
    return fa


def test_hydrocephalic_twin_at_normal_size_planned_labels() -> None:
    """vt-c15-hydroB-normal (twin B hydrocephalic at a normal head size) through
    ``segment_ct`` and ``assign_twins`` (2.5 mm, the CT's noise without supersampling,
    about 15 s). The planned labels have no cord down the neck, and the cavity's exit
    slides toward the face: 6.9 deg from twin B's slid neck, 15.4 from the scan's cut
    (the CLI plan: 13.6 / 14.8). Taken for the exit of a straight neck cut obliquely, it
    refused the cut: twin B 19.9 deg off, axis angle 162.3 (the CLI plan 153.6, rotation
    179.4: O'Connell II for I, nothing said). An exit within the skull base's own error
    of the cut no longer refuses it: 179.0, rotation 0.6, with the note on the cut."""
    fa = _planned_fusion_each_twin_within_5_deg("vt-c15-hydroB-normal")
    assert fa.axis_angle_deg > 170.0
    assert fa.rotation_deg is not None and abs(float(fa.rotation_deg)) < 10.0
    told = [w for w in fa.warnings if w.startswith("twin B: the scan ends") and "leans" in w]
    # the note comes with the cut; with the direction lattice laid in the grid's frame
    # (docs/orientation.md, "Frames under a turned affine") twin B's neck lies 9.3 deg
    # from the flat end (20.6 before), is taken, and the axis reads 178.6 (177.9)
    cued = fa.frames["B"].cue_dirs or {}
    assert len(told) == (1 if "body_cut" in cued else 0), fa.warnings


def test_long_narrow_heads_planned_labels() -> None:
    """vt-c15-scapho (both heads scaphocephalic, cephalic index 0.67, the face stretched
    with the vault) through ``segment_ct`` and ``assign_twins`` (2.5 mm, the CT's noise
    without supersampling). Twin B's planned labels have no cord down the neck: the
    cavity's exit slides to the front of the long cavity (32 deg off, toward the face)
    and with the footprint (29 deg, the long face) puts the skull-base cues 30 deg off;
    the neck's end slab slides onto the chin, 24 mm short of the scan's flat end, whose
    centre lies 30 deg from those cues, so the end was not taken for the neck's cut and
    the exit would have refused it too: twin B 38.6 deg off, axis angle 139.2, rotation
    179.8 (angular for a vertical union, the CLI plan 138.1). The skin just inside that
    end is a tube (the neck's walls, 2 deg from its normal) whose axis, followed back up,
    reaches the brain centre: it is the neck's cut, and the exit does not refuse the
    walls. After: 179.5, twin B 2.1 deg off. 5 deg per twin is twice the other twin's
    error (2.3) and far below the slide; 170 is far above the 140 deg limit."""
    fa = _planned_fusion_each_twin_within_5_deg("vt-c15-scapho")
    assert fa.type == "vertical"
    assert fa.axis_angle_deg > 170.0
    assert fa.rotation_deg is not None and abs(float(fa.rotation_deg)) < 10.0
    # the doubt ("the neck found leans ... from the flat end") is resolved, and the
    # note says where the scan ends instead
    assert not any("the neck found leans" in w for w in fa.warnings), fa.warnings
    told = [w for w in fa.warnings if w.startswith("twin B: the scan ends") and "leans" in w]
    assert len(told) == 1, fa.warnings


def _scan_end_below_cavity_mm(labels: Volume, twins: Volume, twin: int) -> float:
    """Distance (mm) from the centre of ``twin``'s tissue on the array face it fills most
    (the scan's end through its neck) to its cranial cavity: to the cavity deeper than
    ``scalp_skull_mm`` inside it (the bulk, without the cord), less that depth."""
    lab, tw, aff = labels.array, twins.array, labels.affine
    depth_mm = FusionParams().scalp_skull_mm
    cav = (tw == twin) & np.isin(lab, (3, 4))
    inside = edt.edt(cav, anisotropy=labels.spacing_mm, black_border=False)
    bulk = np.argwhere(cav & (inside > depth_mm)) @ aff[:3, :3].T + aff[:3, 3]
    faces = []
    for ax in range(3):
        for end in (0, lab.shape[ax] - 1):
            on = np.argwhere(np.take(tw, end, axis=ax) == twin)
            faces.append((len(on), np.insert(on, ax, end, axis=1)))
    ijk = max(faces, key=lambda f: f[0])[1]
    centre = (ijk @ aff[:3, :3].T + aff[:3, 3]).mean(axis=0)
    return float(np.linalg.norm(bulk - centre, axis=1).min()) - depth_mm
