"""Where in the staged separation the blood loss is expected: a bleeding-risk flag per
stage, read from what each stage cuts (the ``separate`` stage's stages and vessel
crossings, the fusion's shared sinus). No new segmentation and no volume of blood: the
flag says which operations the anaesthetists should cross-match and prepare for.

Rules (docs/anaesthesia.md):

* **high** - the stage divides a crossing on the fusion's shared dural venous sinus, or
  a vessel crossing at least ``BloodParams.large_vessel_mm`` wide (its width as the
  outputs write it: whole mm, ``twinsep.readout``); or it is the last
  division stage of twins with a shared sinus that no stage divides (the cut runs along
  it, or the sinus was not seen on a CT without contrast while the fusion is total).
  Bleeding from the shared sinuses is the main cause of death in craniopagus separation
  (Stone & Goodrich, Brain 2006;129:1084; Gaist et al., Childs Nerv Syst 1987;3:327;
  hypothermic circulatory arrest was used for a large shared sagittal sinus for the risk
  of exsanguination and air embolism, J Thorac Cardiovasc Surg 1989;98:961).
* **moderate** - the stage divides smaller vessels, cuts labelled vessel, cuts bone
  (calvarial bone bleeds: cranial vault surgery in infants loses about 40 % of the blood
  volume on average, Seruya et al., J Craniofac Surg 2012;23:1314), including the
  osteotomies of cranial distraction, or divides brain (its pial vessels bleed).
* **low** - nothing of the above: scalp and soft tissue (tissue-expander insertion),
  endovascular occlusion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from twinsep.readout import vessel_width_mm, vessel_width_text

Risk = Literal["high", "moderate", "low"]

#: Preparatory actions that cut bone.
_BONE_ACTIONS = ("cranial_distraction",)


@dataclass(frozen=True)
class StageBleeding:
    """The bleeding-risk flag of one stage.

    Attributes
    ----------
    number : int
        The stage's number (``separation.stages[].number``).
    name : str
    risk : {"high", "moderate", "low"}
    reasons : tuple of str
        Why, in plain words (most serious first).
    sinus : bool
        The stage divides or runs along the shared sinus.
    vessels : tuple of str
        Vessel crossings the stage divides (``"vessel-2"``).
    widest_vessel_mm : float or None
        The widest of them, mm.
    """

    number: int
    name: str
    risk: Risk
    reasons: tuple[str, ...]
    sinus: bool = False
    vessels: tuple[str, ...] = ()
    widest_vessel_mm: float | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view (plan.json ``blood.stages[]``)."""
        return {
            "number": self.number,
            "name": self.name,
            "bleeding_risk": self.risk,
            "reasons": list(self.reasons),
            "shared_sinus": self.sinus,
            "vessel_crossings": list(self.vessels),
            "widest_vessel_mm": None
            if self.widest_vessel_mm is None
            else round(self.widest_vessel_mm, 1),
        }


@dataclass(frozen=True)
class SinusFacts:
    """What the fusion and the cut say about a shared sinus.

    Attributes
    ----------
    shared : bool
        The fusion found a shared dural venous sinus.
    assumed : bool
        Total fusion with no shared sinus seen (a CT without contrast): one is assumed.
    left_to : {"A", "B"} or None
        The twin the cut leaves the sinus to, when it divides no labelled vessel.
    evidence : str
        The fusion's ``completeness_evidence`` (words for the reason).
    """

    shared: bool = False
    assumed: bool = False
    left_to: str | None = None
    evidence: str = ""


def stage_bleeding(
    stages: Sequence[Any],
    crossings: Sequence[Any],
    sinus: SinusFacts,
    *,
    large_vessel_mm: float,
) -> list[StageBleeding]:
    """The bleeding-risk flag of each stage.

    Parameters
    ----------
    stages : sequence of PlannedStage
        ``number``, ``name``, ``kind`` (``"preparatory"``/``"separation"``),
        ``action``, ``structures`` (vessel ids, ``"remaining bridge"``) and
        ``area_mm2_by_tissue`` (mm^2) of each stage.
    crossings : sequence of VesselCrossing
        ``id``, ``diameter_mm`` and ``on_sinus`` of each crossing.
    sinus : SinusFacts
    large_vessel_mm : float
        A crossing at least this wide is a large vessel, mm.

    Returns
    -------
    list of StageBleeding
        In the stages' order.
    """
    by_id = {c.id: c for c in crossings}
    flags = [_one_stage(s, by_id, large_vessel_mm) for s in stages]
    if (sinus.shared or sinus.assumed) and not any(f.sinus for f in flags):
        last = _last_division(stages)
        if last is not None:
            if sinus.assumed:
                why = (
                    "total fusion, and no shared sinus seen on this scan "
                    f"({sinus.evidence or 'no contrast'}): a shared sinus is assumed, and "
                    "this stage completes the separation"
                )
            elif sinus.left_to:
                why = (
                    "runs along the shared sinus, which the cut leaves to twin "
                    f"{sinus.left_to}: a tear of its wall bleeds from both twins' drainage"
                )
            else:
                why = "completes the separation of twins with a shared sinus"
            f = flags[last]
            flags[last] = StageBleeding(
                number=f.number,
                name=f.name,
                risk="high",
                reasons=(why, *f.reasons),
                sinus=True,
                vessels=f.vessels,
                widest_vessel_mm=f.widest_vessel_mm,
            )
    return flags


def _last_division(stages: Sequence[Any]) -> int | None:
    """Index of the stage that completes the separation (lists ``"remaining bridge"``;
    else the last separation stage); None without one."""
    for i in range(len(stages) - 1, -1, -1):
        if "remaining bridge" in list(stages[i].structures):
            return i
    for i in range(len(stages) - 1, -1, -1):
        if stages[i].kind == "separation":
            return i
    return None


def _one_stage(stage: Any, by_id: Mapping[str, Any], large_vessel_mm: float) -> StageBleeding:
    """The flag of one stage from what it cuts."""
    area: Mapping[str, float] = getattr(stage, "area_mm2_by_tissue", {}) or {}
    cut = [by_id[x] for x in stage.structures if x in by_id]
    high: list[str] = []
    moderate: list[str] = []
    on_sinus = [c for c in cut if getattr(c, "on_sinus", False)]
    for c in on_sinus:
        high.append(f"divides the shared sinus ({c.id}, {vessel_width_text(c.diameter_mm)} wide)")
    # the width as every output writes it (whole mm, twinsep.readout): a vessel that
    # reads "3 mm" is not a "smaller vessel" beside a 3 mm threshold
    large = [
        c for c in cut if c not in on_sinus and vessel_width_mm(c.diameter_mm) >= large_vessel_mm
    ]
    for c in large:
        high.append(f"divides a large vessel ({c.id}, {vessel_width_text(c.diameter_mm)} wide)")
    small = [c for c in cut if c not in on_sinus and c not in large]
    if small:
        widest = max(c.diameter_mm for c in small)
        moderate.append(
            f"divides {len(small)} smaller vessel{'s' if len(small) != 1 else ''} "
            f"(widest {vessel_width_text(widest)})"
        )
    elif not cut and area.get("vessel", 0.0) > 0.0:
        moderate.append(f"cuts {area['vessel']:,.0f} mm² of labelled vessel")
    if area.get("bone", 0.0) > 0.0:
        moderate.append(f"cuts {area['bone']:,.0f} mm² of bone")
    # brain cut through, and the contact of the two brains the cut follows (no dura seen
    # between them): two figures, as the report's cut-area table gives them
    brain, contact = area.get("brain", 0.0), area.get("brain_interface", 0.0)
    if brain > 0.0:
        moderate.append(f"cuts {brain:,.0f} mm² of brain")
    if contact > 0.0:
        moderate.append(f"separates {contact:,.0f} mm² of brain against brain (no dura seen)")
    if brain <= 0.0 and contact <= 0.0 and getattr(stage, "action", "") in _BONE_ACTIONS:
        moderate.append("osteotomies cut bone")
    risk: Risk = "high" if high else ("moderate" if moderate else "low")
    reasons = high + moderate
    if not reasons:
        what = {
            "tissue_expander": "scalp only (expander insertion)",
            "endovascular_occlusion": "endovascular: no open cut",
        }.get(getattr(stage, "action", ""), "no vessel or bone cut")
        reasons = [what]
    return StageBleeding(
        number=int(stage.number),
        name=str(stage.name),
        risk=risk,
        reasons=tuple(reasons),
        sinus=bool(on_sinus),
        vessels=tuple(c.id for c in cut),
        widest_vessel_mm=max((float(c.diameter_mm) for c in cut), default=None),
    )
