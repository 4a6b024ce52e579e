"""The ``blood`` plan stage: each twin's estimated blood volume and allowable blood loss
(from ``--weight-kg``, ``--age-months``, ``--hct``, ``--hct-min``) and a bleeding-risk
flag per stage of the separation (from the ``separate`` stage's cut).

Owns the ``plan.json`` section ``blood`` (docs/CONTRACTS.md). Without the inputs the
section says ``"not given"`` and holds no blood figure; the stage flags are computed
either way (they need no weight).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinsep.anaesthesia.bleeding import SinusFacts, StageBleeding, stage_bleeding
from twinsep.anaesthesia.blood import TWINS, BloodParams, TwinBlood, twin_blood
from twinsep.plan import Stage, StageContext

#: What every blood figure is (the report's card and the run sheets repeat it).
NOT_A_PROTOCOL = (
    "estimate, not a transfusion protocol: transfuse on measured haemoglobin/haematocrit "
    "and the patient"
)

#: Why no stage is known to spare a vessel on a scan without visible veins.
VEINS_NOT_SEEN = (
    "the scan shows no veins (a CT without contrast): the vessels each cut divides are not known"
)


@dataclass(frozen=True)
class BloodPlan:
    """The stage's result.

    Attributes
    ----------
    twins : dict
        ``{"A": TwinBlood, "B": TwinBlood}``.
    stages : tuple of StageBleeding
        One per stage of the separation plan, in its order.
    hct_min_given : bool
        The threshold came from ``--hct-min`` (else ``BloodParams.hct_min_pct``).
    vessels_visible : bool
        The scan shows the veins (the fusion's ``completeness_cue.venous_visible``; True
        when unknown). False on a CT without contrast: the flags then see no vessel the
        cut divides, and a stage without a high flag is not known to spare one.
    """

    twins: dict[str, TwinBlood]
    stages: tuple[StageBleeding, ...]
    hct_min_given: bool
    vessels_visible: bool = True


def _pair(value: tuple[float, float] | None, i: int) -> float | None:
    return None if value is None else float(value[i])


def blood_plan(
    options: Any,
    separation: Any,
    fusion: Any,
    params: BloodParams = BloodParams(),
) -> BloodPlan:
    """The blood estimate of a plan.

    Parameters
    ----------
    options : PlanOptions
        ``weight_kg``, ``age_months``, ``hct_pct`` (pairs A, B or None) and
        ``hct_min_pct`` (percent or None).
    separation : SeparationPlan or None
        ``stages``, ``vessel_crossings``, ``sinus_left_to``.
    fusion : FusionAnalysis or None
        ``shared.shared_sinus``, ``completeness``, ``completeness_evidence``.
    params : BloodParams

    Returns
    -------
    BloodPlan
    """
    twins = {
        t: twin_blood(
            t,
            weight_kg=_pair(options.weight_kg, i),
            age_months=_pair(options.age_months, i),
            hct_start_pct=_pair(options.hct_pct, i),
            hct_min_pct=options.hct_min_pct,
            params=params,
        )
        for i, t in enumerate(TWINS)
    }
    flags: tuple[StageBleeding, ...] = ()
    if separation is not None:
        shared = bool(getattr(getattr(fusion, "shared", None), "shared_sinus", False))
        evidence = str(getattr(fusion, "completeness_evidence", "") or "")
        total = getattr(fusion, "completeness", "") == "total"
        facts = SinusFacts(
            shared=shared,
            assumed=total and not shared,
            left_to=getattr(separation, "sinus_left_to", None),
            evidence=evidence,
        )
        flags = tuple(
            stage_bleeding(
                separation.stages,
                separation.vessel_crossings,
                facts,
                large_vessel_mm=params.large_vessel_mm,
            )
        )
    cue = getattr(fusion, "completeness_cue", None)
    return BloodPlan(
        twins=twins,
        stages=flags,
        hct_min_given=options.hct_min_pct is not None,
        vessels_visible=bool(getattr(cue, "venous_visible", True)),
    )


def _round(v: float | None, digits: int = 0) -> float | None:
    return None if v is None else round(float(v), digits)


def twin_json(b: TwinBlood) -> dict[str, Any]:
    """plan.json ``blood.twins.<A|B>``: fixed keys, numbers null when not given."""
    given = 3 - len(b.missing)
    status = "computed" if not b.missing else ("not given" if given == 0 else "partly given")
    band = b.band
    return {
        "status": status,
        "missing": list(b.missing),
        "weight_kg": b.weight_kg,
        "age_months": b.age_months,
        "age_band": None if band is None else band.name,
        "ebv_ml_per_kg": None if band is None else band.ml_per_kg_mid,
        "ebv_ml_per_kg_range": None if band is None else list(band.ml_per_kg),
        "ebv_ml": _round(b.ebv_ml),
        "ebv_ml_range": None if b.ebv_ml_range is None else [_round(v) for v in b.ebv_ml_range],
        "hct_start_pct": b.hct_start_pct,
        "hct_min_pct": b.hct_min_pct,
        "mabl_ml": _round(b.mabl_ml),
        "mabl_ml_range": None if b.mabl_ml_range is None else [_round(v) for v in b.mabl_ml_range],
        "notes": list(b.notes),
    }


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def runsheet_line(b: TwinBlood, high: Sequence[StageBleeding], vessels_visible: bool = True) -> str:
    """The run-sheet line of one twin's anaesthetists (plan.json ``blood.runsheet``).

    Parameters
    ----------
    b : TwinBlood
    high : sequence of StageBleeding
        The stages whose bleeding risk is high.
    vessels_visible : bool
        The scan shows the veins; without them no stage is said to spare a large vessel.

    Returns
    -------
    str
        Blood volume and allowable loss (or what is not given), the stages that bleed,
        and that it is an estimate, not a transfusion protocol.
    """
    if high:
        where = "; ".join(f"stage {s.number}: {s.reasons[0]}" for s in high)
    elif vessels_visible:
        where = "no stage divides the shared sinus or a large vessel"
    else:
        where = f"no stage flagged, but {VEINS_NOT_SEEN}"
    return (
        f"Twin {b.twin} blood: {_figures(b)}. Bleeding risk high: {where}. "
        f"{NOT_A_PROTOCOL.capitalize()}."
    )


def operation_line(b: TwinBlood, flag: StageBleeding, vessels_visible: bool = True) -> str:
    """The run-sheet line of one twin's anaesthetists on the day of one stage's operation
    (plan.json ``blood.runsheet_operations``).

    Until 2026-11-28 every operation's sheets carried :func:`runsheet_line`, which names
    the high-risk stages of the whole separation: the expander insertion's sheet said
    "Bleeding risk high: stage 4: divides the shared sinus". Each day's sheet now says
    that day's own risk and why.

    Parameters
    ----------
    b : TwinBlood
    flag : StageBleeding
        The bleeding-risk flag of the stage operated on that day.
    vessels_visible : bool
        The scan shows the veins; without them a stage that cuts bone or brain is not
        known to spare a vessel.

    Returns
    -------
    str
        Blood volume and allowable loss (or what is not given), this operation's stage,
        its bleeding risk with every reason, and that it is an estimate.
    """
    why = "; ".join(flag.reasons)
    if not vessels_visible and flag.risk == "moderate":
        why += f"; {VEINS_NOT_SEEN}"
    return (
        f"Twin {b.twin} blood: {_figures(b)}. This operation (stage {flag.number}): "
        f"bleeding risk {flag.risk}: {why}. {NOT_A_PROTOCOL.capitalize()}."
    )


def _figures(b: TwinBlood) -> str:
    """Blood volume and allowable loss of one twin in words, or what is not given."""
    if b.ebv_ml is None or b.band is None or b.ebv_ml_range is None:
        # what is missing, not "not given": some of the inputs may have been given
        figures = f"not computed ({', '.join(b.missing)} not given)"
    else:
        lo, hi = b.band.ml_per_kg
        figures = (
            f"estimated blood volume {_fmt(b.ebv_ml)} mL ({_fmt(b.ebv_ml_range[0])}-"
            f"{_fmt(b.ebv_ml_range[1])} mL: {b.weight_kg:g} kg x {lo:g}-{hi:g} mL/kg, "
            f"{b.band.name})"
        )
        if b.mabl_ml is not None and b.mabl_ml_range is not None:
            # the figure next to its words, the haematocrits after it (not "25 % 172 mL")
            figures += (
                f"; allowable loss {_fmt(b.mabl_ml)} mL ({_fmt(b.mabl_ml_range[0])}-"
                f"{_fmt(b.mabl_ml_range[1])} mL) as Hct falls from {b.hct_start_pct:g} % "
                f"to {b.hct_min_pct:g} %"
            )
        else:
            figures += f"; allowable loss not computed ({', '.join(b.missing)} not given)"
    return figures


def blood_section(result: BloodPlan, params: BloodParams) -> dict[str, Any]:
    """The ``blood`` section of ``plan.json``."""
    twins = {t: twin_json(b) for t, b in result.twins.items()}
    high = [s for s in result.stages if s.risk == "high"]
    states = {v["status"] for v in twins.values()}
    inputs = states.pop() if len(states) == 1 else "partly given"
    return {
        "inputs": "given" if inputs == "computed" else inputs,
        "note": NOT_A_PROTOCOL,
        "hct_min_pct": next(iter(result.twins.values())).hct_min_pct,
        "hct_min_from": "--hct-min" if result.hct_min_given else "default",
        "hct_min_range_pct": list(params.hct_min_range_pct),
        "mabl_formula": params.formula,
        "large_vessel_mm": params.large_vessel_mm,
        "twins": twins,
        "stages": [s.to_json() for s in result.stages],
        "high_risk_stages": [s.number for s in high],
        # the line under each twin's "anaesthetist in charge" on the run sheets
        "vessels_visible": result.vessels_visible,
        "runsheet": {
            t: runsheet_line(b, high, result.vessels_visible) for t, b in result.twins.items()
        },
        # each operation's own line (the schedule puts stage n's under the anaesthetists
        # in charge on the day of stage n's operation)
        "runsheet_operations": [
            {
                "stage": s.number,
                **{
                    t: operation_line(b, s, result.vessels_visible) for t, b in result.twins.items()
                },
            }
            for s in result.stages
        ],
    }


def _run(ctx: StageContext) -> BloodPlan:
    params = ctx.params if isinstance(ctx.params, BloodParams) else BloodParams()
    separation = ctx.result("separate") if ctx.has("separate") else None
    fusion = ctx.result("fusion") if ctx.has("fusion") else None
    result = blood_plan(ctx.options, separation, fusion, params)
    for b in result.twins.values():
        if b.missing and len(b.missing) < 3:
            ctx.warn(
                f"twin {b.twin}'s blood estimate is incomplete: {', '.join(b.missing)} not "
                "given (the EBV needs weight and age, the allowable loss also the starting "
                "haematocrit)"
            )
    return result


def _write(result: BloodPlan, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
    params = ctx.params if isinstance(ctx.params, BloodParams) else BloodParams()
    return {"blood": blood_section(result, params)}


def build_stage(params: BloodParams | None = None) -> Stage:
    """The ``blood`` stage (after ``separate``; reads ``fusion`` and ``separate``)."""
    return Stage(
        name="blood",
        run=_run,
        write=_write,
        depends=("fusion", "separate"),
        uses=("weight_kg", "age_months", "hct_pct", "hct_min_pct"),
        params=params or BloodParams(),
    )
