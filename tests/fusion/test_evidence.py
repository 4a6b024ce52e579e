"""Completeness evidence (seen or inferred without contrast), and brain contact (thin layer,
minimum patch)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from twinsep.fusion import FusionParams, SharedInventory, analyse_fusion, interface_mesh
from twinsep.fusion.completeness import (
    INFERRED_PARTIAL,
    INFERRED_TOTAL,
    NO_SHARED_SINUS,
    UNDETERMINED_TOTAL,
    call_completeness,
)
from twinsep.fusion.shared import brain_contact_faces, shared_inventory
from twinsep.volume import Volume

phantom = pytest.importorskip("twinsep.phantom")

NOT_SEEN = "inferred, not seen"
UNDETERMINED = "undetermined, and the safer reading, total, is taken"


@pytest.fixture(scope="module")
def plain_pair() -> dict[str, tuple[object, object]]:
    """A total and a partial phantom as CTs without contrast, segmented and analysed."""
    from twinsep.segment.ct import segment_ct

    out = {}
    for kind, seed in (("vertical-II", 3), ("angular-frontal-partial", 2)):
        ph = phantom.make_phantom(kind, size=96, seed=seed, contrast=False, table=False)
        # contrast forced off: the segment stage's own detection is its business (at this
        # size it mistook a few bright voxels for contrast)
        seg = segment_ct(ph.ct, contrast=False)
        out[kind] = (ph, analyse_fusion(seg.labels, ph.twins, contrast=seg.contrast))
    return out


def test_plain_ct_total_form_is_inferred_total(plain_pair) -> None:
    # Before the inference every plain-CT union read partial ("no contrast").
    ph, fa = plain_pair["vertical-II"]
    assert ph.truth.completeness == "total"
    assert (fa.completeness, fa.completeness_evidence) == ("total", INFERRED_TOTAL)
    assert fa.stone_goodrich == "TV" and fa.oconnell == "II"
    assert sum(NOT_SEEN in w for w in fa.warnings) == 1
    cue = fa.completeness_cue
    # measured 0.55 (brain contact) and 0.59 (open); the limit is 0.25
    assert cue is not None and cue.brain_contact_fraction > 0.4 and cue.open_fraction > 0.4
    assert fa.evidence()["completeness"]["evidence"] == INFERRED_TOTAL
    # the same twins with their sinuses visible: total, on the evidence of the sinus
    fa_truth = analyse_fusion(ph.labels, ph.twins, contrast=True)
    assert (fa_truth.completeness, fa_truth.completeness_evidence) == ("total", "shared sinus")
    assert not any(NOT_SEEN in w for w in fa_truth.warnings)


def test_plain_ct_partial_form_is_inferred_partial(plain_pair) -> None:
    ph, fa = plain_pair["angular-frontal-partial"]
    assert ph.truth.completeness == "partial"
    assert (fa.completeness, fa.completeness_evidence) == ("partial", INFERRED_PARTIAL)
    assert sum(NOT_SEEN in w for w in fa.warnings) == 1
    cue = fa.completeness_cue
    # measured 0.056 and 0.129 (a septum of about a voxel partly read as CSF or brain;
    # vertical-partial at this size reads 0.09 and 0.21, near the limit; 0.15 and 0.22
    # before soft tissue between the skulls read as brain was left out, docs/separation.md)
    assert cue is not None and cue.brain_contact_fraction < 0.10 and cue.open_fraction < 0.25


def test_no_labelled_vessels_counts_as_no_evidence_even_if_contrast_unknown() -> None:
    ph = phantom.make_phantom("vertical-I", size=64, seed=1, table=False)
    lab = ph.labels.array.copy()
    lab[lab == 5] = 4  # sinuses unseen: read as CSF
    fa = analyse_fusion(ph.labels.with_array(lab), ph.twins)
    # the brains meet across the dural layer over most of the bridge: total inferred
    assert (fa.completeness, fa.completeness_evidence) == ("total", INFERRED_TOTAL)
    assert any(NOT_SEEN in w for w in fa.warnings)
    assert "(0.00 mL of vessels)" in " ".join(fa.warnings)


def test_partial_form_with_contrast_has_evidence() -> None:
    ph = phantom.make_phantom("vertical-partial", size=64, seed=2, table=False)
    fa = analyse_fusion(ph.labels, ph.twins, contrast=True)
    assert (fa.completeness, fa.completeness_evidence) == ("partial", "no shared sinus")
    assert not any(NOT_SEEN in w or UNDETERMINED in w for w in fa.warnings)


def _inventory(lab: np.ndarray, tw: np.ndarray, aff: np.ndarray):
    """shared_inventory of hand-made labels split at x = 0 (twin A at x < 0), and the mesh."""
    mesh = interface_mesh(tw == 1, tw == 2, aff)
    shared = shared_inventory(
        Volume(lab, aff), Volume(tw, aff), mesh, np.zeros(3), np.array([1.0, 0.0, 0.0])
    )
    return shared, mesh


def _cue(layer_mm: float, layer_label: int, touch_radius_mm: float = 0.0):
    """call_completeness on the hand-made brain cylinders (r 12 mm in a 16 mm body)."""
    shared, mesh = _inventory(*_two_brains(layer_mm, layer_label, touch_radius_mm))
    return call_completeness(
        shared,
        mesh.area_mm2,
        venous_visible=False,
        vessel_ml=0.0,
        contrast=False,
    )


def test_inference_on_hand_made_brains_total_partial_and_undecided() -> None:
    # brains touching across the whole brain disc: contact share (12/16)^2 = 0.5625
    call = _cue(0.0, 4)
    assert call.brain_contact_fraction == pytest.approx(0.5625, rel=0.10)
    assert (call.completeness, call.evidence) == ("total", INFERRED_TOTAL)
    # one voxel of bone between them (two skulls): no contact, no opening
    call = _cue(1.0, 2)
    assert call.brain_contact_fraction == 0.0 and call.open_fraction == 0.0
    assert (call.completeness, call.evidence) == ("partial", INFERRED_PARTIAL)
    assert NOT_SEEN in call.warnings[0] and "one separation stage" in call.warnings[0]
    # bone between except a 7 mm disc where they touch: (7/16)^2 = 0.19, inside the band
    # between 0.10 and 0.25: the safer reading, total, said to be assumed
    call = _cue(1.0, 2, touch_radius_mm=7.0)
    assert 0.10 <= call.brain_contact_fraction < 0.25
    assert (call.completeness, call.evidence) == ("total", UNDETERMINED_TOTAL)
    assert UNDETERMINED in call.warnings[0] and "venogram" in call.warnings[0]


def test_tissue_between_two_skulls_read_as_brain_is_not_a_shared_cavity() -> None:
    # Two skulls (one voxel of bone each, at x = -1.5 and +1.5 mm) with a 2 mm gap
    # between them whose soft tissue a plain CT cannot tell from brain (labelled brain):
    # across the boundary "brain" meets "brain", but neither piece is its twin's brain.
    lab, tw, aff = _two_brains(0.0, 4)
    x = (np.indices(SHAPE).reshape(3, -1).T @ aff[:3, :3].T + aff[:3, 3])[:, 0]
    x = x.reshape(SHAPE)
    lab[(np.abs(x) > 1.0) & (np.abs(x) < 2.0) & (lab == 3)] = 2
    labels, twins = Volume(lab, aff), Volume(tw, aff)
    mesh = interface_mesh(tw == 1, tw == 2, aff)
    p = FusionParams()
    raw = brain_contact_faces(
        labels,
        twins,
        mesh,
        gap_mm=p.brain_contact_gap_mm,
        min_patch_mm2=p.brain_contact_min_mm2,
        layer_vx=p.brain_contact_layer_vx,
    )
    assert mesh.areas_mm2[raw].sum() == pytest.approx(np.pi * 12.0**2, rel=0.10)
    # the inventory (and so the completeness cue and the staging) counts own brain only
    shared, _ = _inventory(lab, tw, aff)
    assert shared.brain_contact_area_mm2 == 0.0 and shared.open_area_mm2 == 0.0
    assert not shared.brain_shared


def test_visible_sinuses_are_not_overridden_by_the_cue() -> None:
    # a contrast scan without a shared sinus stays partial even with brains in contact
    lab, tw, aff = _two_brains(0.0, 4)
    mesh = interface_mesh(tw == 1, tw == 2, aff)
    shared = SharedInventory(
        False, 0.0, "separate", 0.0, brain_contact_area_mm2=452.0, open_area_mm2=452.0
    )
    call = call_completeness(
        shared, mesh.area_mm2, venous_visible=True, vessel_ml=3.0, contrast=True
    )
    assert (call.completeness, call.evidence, call.warnings) == ("partial", NO_SHARED_SINUS, [])


@pytest.mark.parametrize("kind", phantom.PHANTOM_KINDS)
def test_brain_contact_against_phantom_truth(kind: str) -> None:
    # Random rotations, flips and ~3 mm voxels as in test_classify.
    idx = phantom.PHANTOM_KINDS.index(kind)
    rng = np.random.default_rng(idx)
    spacing = rng.uniform(2.6, 3.4, 3)
    aff = np.eye(4)
    aff[:3, :3] = (
        Rotation.random(random_state=idx).as_matrix() @ np.diag(rng.choice([-1.0, 1.0], 3))
    ) * spacing
    aff[:3, 3] = -aff[:3, :3] @ (np.array([48, 48, 48]) / 2.0)
    ph = phantom.make_phantom(kind, seed=idx, affine=aff, table=False)
    fa = analyse_fusion(ph.labels, ph.twins)
    truth = ph.truth.brain_contact_area_mm2
    got = fa.shared.brain_contact_area_mm2
    if truth == 0:
        # partial forms: skulls between the brains -> exactly no contact
        assert got == 0.0 and not fa.shared.brain_shared
    else:
        # truth samples the junction plane; the label map's one-voxel dural layer and
        # its rim at 3 mm voxels give +4..+8 % (measured); 15 % catches a lost criterion
        # (one-voxel limit: -60 %) or a loose one (no bone check: +20 %).
        assert got == pytest.approx(truth, rel=0.15)
        assert fa.shared.brain_shared


# -- hand-made: two brain cylinders across the plane x = 0 ----------------------------
SPACING = (1.0, 1.1, 0.9)
SHAPE = (60, 48, 48)


def _two_brains(layer_mm: float, layer_label: int, touch_radius_mm: float = 0.0):
    """Brain cylinders (r 12 mm) along x, separated at x = 0 by a layer ``layer_mm``
    thick (x in [0, layer_mm), on twin B's side; voxel centres at x = 0.5, 1.5, ...) of
    ``layer_label``; within ``touch_radius_mm`` of the axis the brains touch directly.
    Returns labels, twins (A: x < 0), affine."""
    aff = np.diag([*SPACING, 1.0])
    aff[:3, 3] = -aff[:3, :3] @ ((np.array(SHAPE) - 1) / 2.0)
    xyz = np.indices(SHAPE).reshape(3, -1).T @ aff[:3, :3].T + aff[:3, 3]
    x, y, z = xyz.T
    r = np.hypot(y, z)
    body = (r <= 16.0) & (np.abs(x) <= 25)
    lab = np.where(body, 1, 0).astype(np.uint8)
    brain = (r <= 12.0) & (np.abs(x) <= 22)
    lab[brain] = 3
    layer = brain & (x >= 0) & (x < layer_mm) & (r > touch_radius_mm)
    lab[layer] = layer_label
    tw = np.where(body, np.where(x < 0, 1, 2), 0).astype(np.uint8)
    return lab.reshape(SHAPE), tw.reshape(SHAPE), aff


def _contact_mm2(lab: np.ndarray, tw: np.ndarray, aff: np.ndarray, **kw) -> float:
    p = FusionParams()
    mesh = interface_mesh(tw == 1, tw == 2, aff)
    faces = brain_contact_faces(
        Volume(lab, aff),
        Volume(tw, aff),
        mesh,
        gap_mm=kw.get("gap_mm", p.brain_contact_gap_mm),
        min_patch_mm2=kw.get("min_patch_mm2", p.brain_contact_min_mm2),
        layer_vx=p.brain_contact_layer_vx,
    )
    return float(mesh.areas_mm2[faces].sum())


def test_brains_touching_or_across_thin_dura_are_in_contact() -> None:
    disc = np.pi * 12.0**2  # 452 mm^2
    lab, tw, aff = _two_brains(0.0, 4)
    assert _contact_mm2(lab, tw, aff) == pytest.approx(disc, rel=0.10)
    # a dural layer of one voxel (1 mm, CSF label): still contact
    lab, tw, aff = _two_brains(1.0, 4)
    assert _contact_mm2(lab, tw, aff) == pytest.approx(disc, rel=0.10)


def test_thick_layer_or_bone_between_brains_is_no_contact() -> None:
    lab, tw, aff = _two_brains(4.0, 4)  # 4 mm of CSF: more than the 2 mm limit
    assert _contact_mm2(lab, tw, aff) == 0.0
    lab, tw, aff = _two_brains(1.0, 2)  # one voxel of bone: separate skulls
    assert _contact_mm2(lab, tw, aff) == 0.0


def test_small_contact_patch_is_dropped() -> None:
    # Brains touch only within 2.5 mm of the axis (about 20 mm^2, under the 30 mm^2
    # minimum patch); elsewhere 4 mm of CSF lies between them.
    lab, tw, aff = _two_brains(4.0, 4, touch_radius_mm=2.5)
    assert _contact_mm2(lab, tw, aff) == 0.0
    # with a minimum patch of 5 mm^2 the same patch counts (the area is real, ~20 mm^2)
    got = _contact_mm2(lab, tw, aff, min_patch_mm2=5.0)
    assert 8.0 < got < 45.0


# -- shared bone ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", phantom.PHANTOM_KINDS)
def test_shared_bone_against_phantom_truth(kind: str) -> None:
    # Same definition as the phantom's truth (bone near the junction inside both heads
    # or inside neither), with each head an ellipsoid fitted to its cranial scalp.
    # Measured at 96 (these seeds): angular and partial forms -2.1..-0.3 mL from truth
    # (0.3-8 mL; the previous definition, all bone within 10 mm of the boundary, read
    # 20-34 mL); total vertical forms -1.9..-0.8 mL since the neck is kept out of the
    # head fit and its long semi-axis is bounded (+22..+24 before: each vertex
    # extrapolated into the other head, docs/separation.md "Shared bone of total
    # vertical forms").
    idx = phantom.PHANTOM_KINDS.index(kind)
    ph = phantom.make_phantom(kind, seed=idx, size=96, table=False)
    fa = analyse_fusion(ph.labels, ph.twins)
    assert abs(fa.shared.shared_bone_ml - ph.truth.shared_bone_ml) <= 3.0
