"""Partial or total fusion (Stone & Goodrich), from the sinus when seen, else inferred.

Total = a significant shared dural venous sinus; partial = none. A contrast CT or an MR
venogram shows the sinuses, and :func:`twinsep.fusion.shared.shared_inventory` finds a
shared one or not. A CT without contrast shows no sinus, so the call rests on what such a
CT does show: whether the two cranial cavities communicate across the junction (O'Connell
1976: a total union has one continuous cranial cavity, the brains separated by at most a
dural layer; a partial union keeps two cavities, each brain in its own dura and bone).
A sinus runs in the dura of the cavity, so two cavities walled off from each other by
bone cannot share one.

The cue is the share of the twin boundary (the bridge) over which the brains are in
contact (``SharedInventory.brain_contact_area_mm2``, from
:func:`twinsep.fusion.shared.brain_contact_faces`: no bone between, a layer of at most a
dura), backed by the share where intracranial tissue (brain, CSF, vessel) lies on both
sides (``SharedInventory.open_area_mm2``). The inventory counts both on each twin's
largest brain piece only (:func:`twinsep.fusion.shared.main_brain_labels`), so the cue
and ``shared.brain_contact_area_mm2`` are one number. Measured on plain-CT copies of every
generated family with truth (docs/separation.md, "Partial or total without contrast"):
partial forms <= 0.10 (brain contact) and <= 0.21 (open), total forms >= 0.37 and
>= 0.41. Partial is inferred only when both shares are clearly low; inside the band
between, the safer reading (total, staged) is taken and the warning says so.

With the sinuses visible, a vessel that joins the twins only through a crossing about
one voxel across (``SharedInventory.sinus_unresolved``: a shared sinus cannot be told
from two sinuses touching across the dura at that voxel size) is judged by the same
cavity cue, with evidence values of their own (``UNRESOLVED_*``).

MR alone (``bone_from_mr``: the bone labels were read from a T1, no CT): a T1 shows bone
only as a dark band, and dura, CSF and a sinus are dark too, so a "wall" between the two
brains is not evidence of two cavities the way CT bone is. Brain contact (brains straight
across a thin layer, no dark band) still infers total; separate cavities are never
inferred: total is assumed (``MR_SEPARATE_TOTAL``, or ``UNDETERMINED_TOTAL`` between the
limits), and the warning says that partial can be neither seen nor excluded and that a
CT shows the bone and a venogram the sinuses. On the blind MR phantom (a total union
with a circular sinus; tests/blind/mr_phantom.py) the T1 read the sinus and the CSF
around the junction's rim as skull (of 33.7 mL labelled bone within 6 mm of the
junction, 10.4 mL CSF and 4.2 mL sinus): brain contact 0.03-0.13 of the bridge on seven
of its eight MR-alone rows, partial on three at 3ddd168 and on all eight at 4af0d69,
total on all eight with this rule (docs/separation.md, "MR alone: partial is not
inferred").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinsep.fusion.params import FusionParams
from twinsep.fusion.shared import SharedInventory, cavity_reading

#: ``completeness_evidence`` values (plan.json ``fusion.completeness_evidence``).
SHARED_SINUS = "shared sinus"
NO_SHARED_SINUS = "no shared sinus"
INFERRED_TOTAL = "inferred from brain contact without contrast"
INFERRED_PARTIAL = "inferred from separate cranial cavities without contrast"
UNDETERMINED_TOTAL = "undetermined without contrast: total assumed"
UNRESOLVED_TOTAL = "sinus crossing unresolved: total inferred from brain contact"
UNRESOLVED_PARTIAL = "sinus crossing unresolved: partial inferred from separate cranial cavities"
UNRESOLVED_UNDETERMINED = "sinus crossing unresolved: total assumed"
MR_SEPARATE_TOTAL = "separate cranial cavities not confirmed on MR alone: total assumed"
EVIDENCE_VALUES: tuple[str, ...] = (
    SHARED_SINUS,
    NO_SHARED_SINUS,
    INFERRED_TOTAL,
    INFERRED_PARTIAL,
    UNDETERMINED_TOTAL,
    UNRESOLVED_TOTAL,
    UNRESOLVED_PARTIAL,
    UNRESOLVED_UNDETERMINED,
    MR_SEPARATE_TOTAL,
)


@dataclass(frozen=True)
class CompletenessCall:
    """What ``completeness`` is and what it rests on.

    Attributes
    ----------
    completeness : str
        ``"partial"`` or ``"total"``.
    evidence : str
        One of :data:`EVIDENCE_VALUES`.
    venous_visible : bool
        The scan shows the venous sinuses (contrast, venogram).
    brain_contact_fraction : float
        Brain-contact area over bridge area (0..1).
    open_fraction : float
        Share of the bridge with brain, CSF or vessel on both sides (0..1).
    rules : dict
        The limits applied without visible sinuses (fractions of the bridge area).
    warnings : list of str
        Plain words for ``plan.json`` ``warnings``.
    """

    completeness: str
    evidence: str
    venous_visible: bool
    brain_contact_fraction: float
    open_fraction: float
    rules: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The cue and its rule (plan.json ``fusion.evidence.completeness``)."""
        return {
            "evidence": self.evidence,
            "venous_visible": self.venous_visible,
            "brain_contact_fraction": round(self.brain_contact_fraction, 3),
            "open_fraction": round(self.open_fraction, 3),
            "rules_without_contrast": dict(self.rules),
        }


def call_completeness(
    shared: SharedInventory,
    bridge_area_mm2: float,
    *,
    venous_visible: bool,
    vessel_ml: float,
    contrast: bool | None,
    params: FusionParams = FusionParams(),
    bone_from_mr: bool = False,
) -> CompletenessCall:
    """Partial or total, and the evidence.

    Parameters
    ----------
    shared : SharedInventory
        The shared-structure inventory (shared sinus; brain contact and open areas in
        mm^2, counted on each twin's own brain).
    bridge_area_mm2 : float
        Area of the twin boundary, mm^2.
    venous_visible : bool
        The scan shows the venous sinuses.
    vessel_ml : float
        Labelled vessel volume of the scan, mL (for the warning's wording).
    contrast : bool or None
        The caller's contrast flag (for the warning's wording).
    params : FusionParams
        ``inferred_total_contact_min``, ``inferred_partial_contact_max``,
        ``inferred_partial_open_max`` (fractions of the bridge area).
    bone_from_mr : bool
        The labels come from an MR alone (``TissueLabels.modality == "MR"``): its bone is
        a T1's dark band, which dura, CSF and sinuses share, so separate cavities are not
        inferred from it (total assumed, ``MR_SEPARATE_TOTAL``); brain contact still
        infers total.

    Returns
    -------
    CompletenessCall
    """
    area = max(float(bridge_area_mm2), 1e-9)
    contact = float(np.clip(shared.brain_contact_area_mm2 / area, 0.0, 1.0))
    opened = float(np.clip(shared.open_area_mm2 / area, 0.0, 1.0))
    rules = {
        "total_if_brain_contact_fraction_from": params.inferred_total_contact_min,
        "partial_if_brain_contact_fraction_below": params.inferred_partial_contact_max,
        "and_open_fraction_below": params.inferred_partial_open_max,
        "otherwise": "total (the safer reading: staged)",
    }
    if bone_from_mr:
        rules["on_mr_alone"] = (
            "partial is not inferred: a T1 shows bone only as a dark band, as it shows "
            "dura, CSF and sinuses; total assumed"
        )

    def made(completeness: str, evidence: str, text: str | None = None) -> CompletenessCall:
        return CompletenessCall(
            completeness,
            evidence,
            venous_visible,
            contact,
            opened,
            rules,
            [text] if text else [],
        )

    if shared.shared_sinus:
        return made("total", SHARED_SINUS)
    unresolved = venous_visible and shared.sinus_unresolved
    if venous_visible and not unresolved:
        return made("partial", NO_SHARED_SINUS)
    evidence = (
        (UNRESOLVED_TOTAL, UNRESOLVED_PARTIAL, UNRESOLVED_UNDETERMINED)
        if unresolved
        else (INFERRED_TOTAL, INFERRED_PARTIAL, UNDETERMINED_TOTAL)
    )
    if bone_from_mr:
        why = "an MR alone: no vessels are segmented from it"
    elif contrast is False:
        why = "a CT without contrast"
    else:
        why = f"{vessel_ml:.2f} mL of vessels"
    cue = (
        f"the brains are in contact over {100 * contact:.0f} % of the bridge and the cranial "
        f"cavities communicate without bone over {100 * opened:.0f} %"
    )
    head = (
        f"the scan shows no venous sinuses ({why}), so a shared sinus (total fusion) can be "
        "neither seen nor excluded"
    )
    if unresolved:
        # the sinuses are seen, but where they meet across the boundary the voxels
        # cannot tell one lumen from two touching ones (shared.notes says where)
        head = (
            "the two twins' sinuses meet across the twin boundary only through a section "
            "about one voxel across: a shared sinus cannot be told from two sinuses "
            "touching across the dura at this voxel size, so it is neither seen nor excluded"
        )
    venogram = "a CT or MR venogram must confirm it and show where the shared sinus runs"
    reading = cavity_reading(contact, opened, params)
    if reading == "one":
        text = (
            f"{head}: total is inferred, not seen: {cue} (from "
            f"{100 * params.inferred_total_contact_min:.0f} % of the bridge on, the twins "
            "share one cranial cavity, in which the sinuses are shared); planned in stages; "
            f"{venogram} before the venous division"
        )
        return made("total", evidence[0], text)
    if reading == "separate" and bone_from_mr:
        # a T1's dark band between the brains is bone, dura, CSF or a sinus: on the
        # blind MR phantom it was the circular sinus of a total union
        text = (
            f"{head}: {cue}, but the bone between them is read from an MR alone, where "
            "the skull is only a dark band like dura, CSF and the sinuses: separate "
            "cavities (partial) are not confirmed and total cannot be excluded, so the "
            "safer reading, total, is taken (planned in stages; one stage carries a higher "
            "mortality in total forms); a CT shows the bone between the cavities and "
            f"{venogram}"
        )
        return made("total", MR_SEPARATE_TOTAL, text)
    if reading == "separate":
        text = (
            f"{head}: partial is inferred, not seen: {cue} (below "
            f"{100 * params.inferred_partial_contact_max:.0f} % and "
            f"{100 * params.inferred_partial_open_max:.0f} %: bone walls the two cavities "
            "apart, and a sinus cannot cross it); planned in one separation stage; a CT or "
            "MR venogram would confirm that no sinus is shared"
        )
        return made("partial", evidence[1], text)
    text = (
        f"{head}: {cue}, between what separate cavities and one cavity show: partial or "
        "total is undetermined, and the safer reading, total, is taken (planned in stages; "
        f"one stage carries a higher mortality in total forms); {venogram}"
    )
    return made("total", evidence[2], text)
