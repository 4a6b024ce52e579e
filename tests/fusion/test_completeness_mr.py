"""Partial or total from an MR alone: a T1's dark band is not a bone wall.

A hand-made T1 (2 mm, written for this test): two spherical heads, each scalp (fat
surface), skull, CSF, cortex and white matter, overlapping at the plane z = 0. ``total``:
one cranial cavity, the brains separated by a 3 mm CSF septum, a circular sinus (dark on
a plain T1) around its rim. ``partial``: each twin keeps its own skull across the
junction (7 mm of bone and 2 x 2.5 mm of CSF between the brains). ``segment_mr_t1``
segments both, the truth twin map (z < 0 twin A) splits them, and the completeness is
called from the inventory with the MR rule (``bone_from_mr``) and without it (the CT
rule).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.fusion import SharedInventory, interface_mesh
from twinsep.fusion.completeness import (
    INFERRED_PARTIAL,
    INFERRED_TOTAL,
    MR_SEPARATE_TOTAL,
    UNDETERMINED_TOTAL,
    CompletenessCall,
    call_completeness,
)
from twinsep.fusion.shared import shared_inventory
from twinsep.segment.mr import segment_mr_t1
from twinsep.volume import Volume

SPACING_MM = 2.0
SHAPE = (60, 60, 96)
HEAD_R_MM = 52.0
CENTRE_MM = 36.0  # each head centre's distance from the junction plane
SCALP_MM, SKULL_MM, CSF_MM = 4.0, 3.5, 2.5
#: T1 signal (arbitrary units): fat brightest, white > grey matter, CSF and bone dark
T1 = {"fat": 900.0, "soft": 420.0, "bone": 30.0, "csf": 140.0, "gm": 470.0, "wm": 640.0}
SINUS_T1 = 230.0  # a plain T1: venous blood darker than grey matter

MR_WORDS = "an MR alone"
NOT_EXCLUDED = "total cannot be excluded"


def _t1(kind: str, seed: int = 0) -> tuple[Volume, np.ndarray, np.ndarray]:
    """The T1, its truth labels (0..5) and truth twins (1 at z < 0) for ``kind``."""
    aff = np.diag([SPACING_MM, SPACING_MM, SPACING_MM, 1.0])
    aff[:3, 3] = -(np.array(SHAPE) - 1) / 2 * SPACING_MM
    p = np.indices(SHAPE).reshape(3, -1).T * SPACING_MM + aff[:3, 3]
    z = p[:, 2]
    centre = np.outer(np.where(z < 0, -1.0, 1.0), [0.0, 0.0, CENTRE_MM])
    depth = HEAD_R_MM - np.linalg.norm(p - centre, axis=1)  # below the own head's surface
    # partial: the intracranial layers also count their depth from the junction plane,
    # so each twin's skull and CSF close its own cavity there
    inner = np.minimum(depth, np.abs(z) + SCALP_MM) if kind == "partial" else depth
    img = np.zeros(len(p))
    lab = np.zeros(len(p), np.uint8)
    layers = (
        (depth >= 0, "soft", 1),
        (inner >= SCALP_MM, "bone", 2),
        (inner >= SCALP_MM + SKULL_MM, "csf", 4),
        (inner >= SCALP_MM + SKULL_MM + CSF_MM, "gm", 3),
        (inner >= SCALP_MM + SKULL_MM + CSF_MM + 4.0, "wm", 3),
    )
    for mask, tissue, label in layers:
        img[mask] = T1[tissue]
        lab[mask] = label
    img[(depth >= 0) & (depth < 1.5)] = T1["fat"]
    if kind == "total":
        cavity = inner >= SCALP_MM + SKULL_MM
        septum = cavity & (np.abs(z) < 1.5)
        img[septum], lab[septum] = T1["csf"], 4
        rel = inner - SCALP_MM - SKULL_MM
        ring = cavity & (np.abs(z) < 4.0) & (rel < 5.0 * (1 - np.abs(z) / 4.0))
        img[ring], lab[ring] = SINUS_T1, 5
    rng = np.random.default_rng(seed)
    sig = ndi.gaussian_filter(img.reshape(SHAPE), 0.5)
    sigma = 0.03 * T1["wm"]  # Rician noise, 3 % of white matter
    noisy = np.hypot(sig + rng.normal(0, sigma, SHAPE), rng.normal(0, sigma, SHAPE))
    twins = np.where(depth >= 0, np.where(z < 0, 1, 2), 0).astype(np.uint8)
    mr = Volume(noisy.astype(np.float32), aff, {"source": "t1.nii"})
    return mr, lab.reshape(SHAPE), twins.reshape(SHAPE)


def _inventory(labels: np.ndarray, twins: np.ndarray, aff: np.ndarray):
    mesh = interface_mesh(twins == 1, twins == 2, aff)
    shared = shared_inventory(
        Volume(labels, aff), Volume(twins, aff), mesh, np.zeros(3), np.array([0.0, 0.0, 1.0])
    )
    return shared, mesh.area_mm2


def _call(shared: SharedInventory, area_mm2: float, *, mr: bool) -> CompletenessCall:
    return call_completeness(
        shared, area_mm2, venous_visible=False, vessel_ml=0.0, contrast=False, bone_from_mr=mr
    )


@pytest.fixture(scope="module")
def segmented() -> dict[str, tuple[SharedInventory, float, SharedInventory, float]]:
    """Per kind: the inventory on the T1's segmentation and on the truth labels."""
    out = {}
    for kind in ("total", "partial"):
        mr, truth, twins = _t1(kind)
        seg = segment_mr_t1(mr)
        assert seg.modality == "MR"
        plain = np.where(truth == 5, 4, truth).astype(np.uint8)  # a T1 shows no sinus
        out[kind] = (*_inventory(seg.labels.array, twins, mr.affine),) + _inventory(
            plain, twins, mr.affine
        )
    return out


def test_separate_cavities_on_mr_alone_are_total_assumed(segmented) -> None:
    shared, area, shared_truth, area_truth = segmented["partial"]
    # the skulls between the brains: no contact, no opening (measured 0 and 0 on both
    # the segmentation and the truth labels)
    assert shared_truth.brain_contact_area_mm2 == 0.0 and shared_truth.open_area_mm2 == 0.0
    ct_rule = _call(shared, area, mr=False)
    assert ct_rule.brain_contact_fraction < 0.02 and ct_rule.open_fraction < 0.02
    # the CT rule reads this as two cavities (partial); read from a T1 the wall is a
    # dark band, which dura, CSF and a sinus also are: total assumed, and said
    assert (ct_rule.completeness, ct_rule.evidence) == ("partial", INFERRED_PARTIAL)
    call = _call(shared, area, mr=True)
    assert (call.completeness, call.evidence) == ("total", MR_SEPARATE_TOTAL)
    assert len(call.warnings) == 1
    text = call.warnings[0]
    assert MR_WORDS in text and NOT_EXCLUDED in text and "not confirmed" in text
    assert "a CT shows the bone" in text and "venogram" in text
    assert "a CT without contrast" not in text
    assert "on_mr_alone" in call.to_json()["rules_without_contrast"]
    # the cue itself is the CT rule's: the same shares are reported
    assert call.brain_contact_fraction == ct_rule.brain_contact_fraction
    assert call.open_fraction == ct_rule.open_fraction


def test_total_union_on_mr_alone_is_total(segmented) -> None:
    shared, area, shared_truth, area_truth = segmented["total"]
    # truth labels: the brains meet across the 3 mm septum over the brain disc (radius
    # sqrt(42^2 - 36^2) = 21.6 mm of the 37.5 mm waist: 0.33; measured 0.44 with the
    # septum's own rim) -> brain contact infers total, with either rule
    truth_call = _call(shared_truth, area_truth, mr=True)
    assert truth_call.brain_contact_fraction > 0.3
    assert (truth_call.completeness, truth_call.evidence) == ("total", INFERRED_TOTAL)
    assert MR_WORDS in truth_call.warnings[0]
    # segmented: part of the T1's dark rim (CSF, sinus) is read as skull, so the contact
    # is smaller than the truth's: 0.36 since 7b8445d grew the brain through the cortex's
    # edge (0.19 before: undetermined, total assumed); it reads total from brain contact,
    # as the truth labels do, and never more contact than they hold
    call = _call(shared, area, mr=True)
    assert 0.25 <= call.brain_contact_fraction <= truth_call.brain_contact_fraction
    assert (call.completeness, call.evidence) == ("total", INFERRED_TOTAL)
    assert MR_WORDS in call.warnings[0] and "a CT without contrast" not in call.warnings[0]


@pytest.mark.parametrize(
    ("contact", "opened", "ct_evidence", "mr_evidence"),
    [
        (0.40, 0.50, INFERRED_TOTAL, INFERRED_TOTAL),
        (0.15, 0.30, UNDETERMINED_TOTAL, UNDETERMINED_TOTAL),
        (0.05, 0.20, INFERRED_PARTIAL, MR_SEPARATE_TOTAL),
        (0.0, 0.0, INFERRED_PARTIAL, MR_SEPARATE_TOTAL),
    ],
)
def test_mr_rule_changes_only_the_separate_reading(
    contact: float, opened: float, ct_evidence: str, mr_evidence: str
) -> None:
    area = 1000.0
    shared = SharedInventory(
        False,
        0.0,
        "separate",
        0.0,
        brain_contact_area_mm2=contact * area,
        open_area_mm2=opened * area,
    )
    ct = _call(shared, area, mr=False)
    mr = _call(shared, area, mr=True)
    assert ct.evidence == ct_evidence and mr.evidence == mr_evidence
    assert mr.completeness == "total"
    assert ct.completeness == ("partial" if ct_evidence == INFERRED_PARTIAL else "total")
    # the CT call is the one made before the MR rule existed (default bone_from_mr)
    default = call_completeness(shared, area, venous_visible=False, vessel_ml=0.0, contrast=False)
    assert default == ct
    assert "on_mr_alone" not in ct.to_json()["rules_without_contrast"]
    assert "a CT without contrast" in ct.warnings[0] and MR_WORDS not in ct.warnings[0]
