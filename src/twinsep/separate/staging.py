"""The staged plan: which venous segments are divided in which stage, and why.

Order (Stone & Goodrich 2006; Kobets 2025): smaller, non-dominant venous segments first,
the dominant drainage last, so that each twin develops its own venous outflow between
stages. Which segment dominates the drainage is not measured from a CT: the widest
segment the cut crosses stands for it, and the texts say "the widest" (or "the only"); optional preparatory stages first (scalp tissue expansion, cranial distraction,
endovascular occlusion). Each separation stage but the last is an operation of its own,
weeks before the next (the schedule, :mod:`twinsep.schedule.stage`, spaces them); the
last is the final separation operation. The texts say nothing the later stages decide
(how long the expanders are filled, whether their skin suffices): the report adds those
from the plan's own skin plan. The user may fix the number of separation stages or give an
edited stage list (YAML, :func:`load_stage_file`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from twinsep.errors import ConfigError
from twinsep.readout import vessel_width_text
from twinsep.separate.crossings import VesselCrossing
from twinsep.separate.params import StagingParams
from twinsep.words import noun

logger = logging.getLogger(__name__)

StageKind = Literal["preparatory", "separation"]
STAGE_KINDS: tuple[str, ...] = ("preparatory", "separation")
PREP_ACTIONS: dict[str, str] = {
    "tissue_expander": "scalp",
    "cranial_distraction": "calvaria",
    "endovascular_occlusion": "vessel",
}


@dataclass(frozen=True)
class PlannedStage:
    """One operation of the staged plan.

    Attributes
    ----------
    number : int
        1-based position in the sequence.
    name : str
        Short title, e.g. ``"Venous division 1"``.
    kind : {"preparatory", "separation"}
    structures : list of str
        What is divided or prepared: vessel ids (``"vessel-2"``), ``"scalp"``,
        ``"calvaria"``; the last separation stage also lists ``"remaining bridge"``.
    rationale : str
        Plain-language reason.
    area_mm2 : float
        Area of the separation surface cut in this stage, mm^2 (0 for preparatory).
    action : str
        For preparatory stages: ``tissue_expander``, ``cranial_distraction`` or
        ``endovascular_occlusion``; ``"divide"`` for separation stages.
    area_mm2_by_tissue : dict
        The stage's cut area per tissue (same keys as ``SeparationPlan.area_mm2_by_tissue``),
        mm^2; empty for preparatory stages. Over all stages they add up to the plan's.
    """

    number: int
    name: str
    kind: str
    structures: list[str] = field(default_factory=list)
    rationale: str = ""
    area_mm2: float = 0.0
    action: str = "divide"
    area_mm2_by_tissue: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view (``plan.json`` ``separation.stages`` entry)."""
        return {
            "number": self.number,
            "name": self.name,
            "kind": self.kind,
            "action": self.action,
            "structures": list(self.structures),
            "rationale": self.rationale,
            "area_mm2": round(self.area_mm2, 1),
            "area_mm2_by_tissue": {k: round(v, 1) for k, v in self.area_mm2_by_tissue.items()},
        }


@dataclass(frozen=True)
class StagingFacts:
    """What the staging rules look at (from the fusion analysis and the cut)."""

    total: bool
    vertical: bool
    bridge_area_mm2: float
    bridge_length_mm: float
    brain_contact_area_mm2: float
    sinus_unseen: bool = False
    """Total without a shared sinus seen (a CT without contrast: total inferred or assumed,
    ``FusionAnalysis.completeness_evidence``): the venous stages cannot name it."""
    sinus_off_cut: str | None = None
    """The twin (``"A"``/``"B"``) to which the cut leaves a shared sinus that the fusion
    saw crossing the twins' boundary, when the cut divides no labelled vessel (it runs
    along the sinus and its every voxel lies in that twin); None otherwise. The final
    stage then says so."""
    sinus_off_cut_ml: tuple[float, float] | None = None
    """When the cut divides no labelled vessel but the fusion saw a shared sinus: the
    sinus's vessel in twin A and in twin B after the cut, mL (both parts non-zero when
    its pieces went to different twins); None otherwise."""
    sinus_edge_ml: tuple[float, float] | None = None
    """When the cut divides the fusion's shared sinus only at its edge (the smaller
    twin's part a sliver, ``SinusShare.edge_only``): the sinus's vessel in twin A and
    in twin B after the cut, mL; None otherwise. The stage that divides the crossing(s)
    on the sinus (``VesselCrossing.on_sinus``) then says that one twin keeps it."""


def sinus_edge_words(share_ml: tuple[float, float]) -> str:
    """A cut that divides the shared sinus only at its edge, in words.

    Parameters
    ----------
    share_ml : (float, float)
        The shared sinus's vessel in twin A and in twin B after the cut, mL
        (``StagingFacts.sinus_edge_ml``).

    Returns
    -------
    str
        ``"the cut divides the shared sinus only at its edge: twin A keeps 8.5 mL, twin B
        0.1 mL"``; a part under 0.05 mL reads ``"under 0.1 mL"``.
    """
    a_ml, b_ml = share_ml
    return f"the cut divides the shared sinus only at its edge: twin A keeps {_ml(a_ml)}, twin B {_ml(b_ml)}"


def _ml(v: float) -> str:
    # a sliver of one or two voxels rounds to "0.0 mL", which reads as nothing at all
    return "under 0.1 mL" if 0 < v < 0.05 else f"{v:.1f} mL"


def _edge_sentence(ids: list[str], share_ml: tuple[float, float]) -> str:
    keeper = "A" if share_ml[0] >= share_ml[1] else "B"
    where = f" ({', '.join(ids)})" if ids else ""
    words = sinus_edge_words(share_ml)
    return (
        f" {words[:1].upper()}{words[1:]}{where}, so twin {keeper} keeps the sinus: this "
        "stage does not divide the shared sinus. A venogram must show where the cut meets it."
    )


def sinus_off_cut_words(share_ml: tuple[float, float]) -> str:
    """What a cut that divides no labelled vessel does with the shared sinus, in words.

    Parameters
    ----------
    share_ml : (float, float)
        The shared sinus's vessel in twin A and in twin B after the cut, mL
        (``StagingFacts.sinus_off_cut_ml``).

    Returns
    -------
    str
        ``"it runs along the sinus and leaves it to twin A (all 8.0 mL of its labelled
        lumen)"``, or for pieces on both sides ``"it runs between the sinus's pieces and
        leaves 5.1 mL of it to twin A and 3.0 mL to twin B"``.
    """
    a_ml, b_ml = share_ml
    if a_ml > 0 and b_ml > 0:
        return (
            f"it runs between the sinus's pieces and leaves {a_ml:.1f} mL of it to twin A "
            f"and {b_ml:.1f} mL to twin B"
        )
    owner, ml = ("A", a_ml) if a_ml > 0 else ("B", b_ml)
    return (
        f"it runs along the sinus and leaves it to twin {owner} (all {ml:.1f} mL of its "
        "labelled lumen)"
    )


def _dominant(crossings: list[VesselCrossing]) -> VesselCrossing | None:
    if not crossings:
        return None
    return max(crossings, key=lambda c: (c.diameter_mm, max(c.volume_a_ml, c.volume_b_ml)))


def propose_stages(
    facts: StagingFacts,
    crossings: list[VesselCrossing],
    *,
    n_stages: int | None = None,
    params: StagingParams = StagingParams(),
) -> list[PlannedStage]:
    """Proposed stage list (areas are filled in later from the cut).

    Parameters
    ----------
    facts : StagingFacts
    crossings : list of VesselCrossing
        Venous segments divided by the cut (narrowest first).
    n_stages : int, optional
        Number of separation stages the user fixed (``--stages``).
    params : StagingParams
    """
    dominant = _dominant(crossings)
    others = [c for c in crossings if c is not dominant]
    if n_stages is not None:
        n_sep = n_stages
    elif not facts.total:
        n_sep = 1
    else:
        n_sep = min(params.max_separation_stages, max(2, len(crossings)))
    stages: list[PlannedStage] = []

    def add(name: str, kind: str, structures: list[str], rationale: str, action: str) -> None:
        stages.append(PlannedStage(len(stages) + 1, name, kind, structures, rationale, 0.0, action))

    if facts.bridge_area_mm2 >= params.expander_min_bridge_mm2:
        add(
            "Scalp tissue expander insertion",
            "preparatory",
            ["scalp"],
            f"The bridge is {facts.bridge_area_mm2:,.0f} mm²: after separation each twin "
            "needs more scalp than it has. Expanders placed under the scalp and filled weekly "
            "grow extra scalp toward closing both heads; the fills and whether the counted "
            "gain covers each defect are in the skin plan.",
            "tissue_expander",
        )
    contact_share = facts.brain_contact_area_mm2 / max(facts.bridge_area_mm2, 1e-9)
    brains_touch = contact_share >= params.distraction_contact_share_min
    if facts.vertical and (
        facts.bridge_length_mm < params.distraction_max_bridge_length_mm or brains_touch
    ):
        why = (
            f"the brains touch over a large area ({100 * contact_share:.0f} % of the bridge)"
            if brains_touch
            else f"the bridge is short ({facts.bridge_length_mm:.0f} mm)"
        )
        add(
            "Cranial distraction",
            "preparatory",
            ["calvaria"],
            f"In this vertical fusion {why}. Gradual distraction (about 1 mm a day for a "
            "month) opens a plane between the heads before the brains are separated.",
            "cranial_distraction",
        )
    small = [c for c in others if c.diameter_mm <= params.endovascular_max_diameter_mm]
    if facts.total and small:
        ids = [c.id for c in small]
        add(
            "Endovascular occlusion",
            "preparatory",
            ids,
            f"Occluding the small non-dominant shared venous {noun(len(ids), 'segment')} "
            f"{', '.join(ids)} "
            "from inside the vessel first tests whether each twin's brain drains without "
            f"{'it' if len(ids) == 1 else 'them'}, before any open division.",
            "endovascular_occlusion",
        )
    # Separation stages: non-dominant segments (narrowest first) spread over the first
    # n_sep - 1 stages; the dominant drainage and the rest of the bridge in the last.
    groups: list[list[VesselCrossing]] = [[] for _ in range(n_sep)]
    if n_sep == 1:
        groups[0] = list(crossings)
    else:
        for i, c in enumerate(others):
            groups[min(i * (n_sep - 1) // max(len(others), 1), n_sep - 2)].append(c)
        if dominant is not None:
            groups[-1].append(dominant)
    for k, group in enumerate(groups, start=1):
        last = k == n_sep
        ids = [c.id for c in group]
        if last:
            name = "Final separation" if n_sep > 1 else "Separation"
            text = "Completes the separation: divides the remaining bridge"
            if ids:
                text += f" and the venous {noun(len(ids), 'segment')} {', '.join(ids)}"
                if dominant is not None and dominant.id in ids and n_sep > 1:
                    # the widest segment the cut crosses, not a measured drainage share
                    which = (
                        "the only venous segment the cut divides"
                        if len(crossings) == 1
                        else "the widest venous segment the cut divides"
                    )
                    text += (
                        f"; {dominant.id} ({vessel_width_text(dominant.diameter_mm)}, {which}) is "
                        "divided last, in the final operation, so that both twins have had "
                        "the weeks since the earlier division operation(s) to develop their "
                        "own venous outflow"
                    )
            text += "."
            if facts.sinus_off_cut_ml is not None and not crossings:
                text += (
                    " The shared sinus seen on the scan is not divided by the cut as "
                    f"labelled: {sinus_off_cut_words(facts.sinus_off_cut_ml)}. On coarse "
                    "voxels the sinus's lumen is often broken in the labels (its edges read "
                    "as CSF), so a venogram must show where the cut meets the sinus before "
                    "this operation."
                )
            structures = ids + ["remaining bridge"]
        else:
            name = f"Venous division {k}" if ids else f"Staged division {k}"
            if ids:
                sizes = ", ".join(f"{c.id} ({vessel_width_text(c.diameter_mm)})" for c in group)
                text = (
                    f"An operation of its own: divides the smaller shared venous "
                    f"{noun(len(group), 'segment')} "
                    f"{sizes} with the dural cuff around {'it' if len(group) == 1 else 'them'} "
                    "(within "
                    f"{params.venous_cuff_mm:g} mm), keeping the widest segment and the "
                    "rest of the bridge intact so that venous collaterals can grow in the "
                    "weeks before the next operation."
                )
            else:
                text = (
                    "An operation of its own: divides the dura, bone and soft tissue of one "
                    "sector of the bridge without dividing a shared sinus, so that each "
                    "twin starts to develop its own venous drainage in the weeks before the "
                    "next operation."
                )
                if facts.sinus_unseen:
                    text += (
                        " The shared sinus is not visible on this scan (no contrast: the total "
                        "form is inferred or assumed, not seen): a CT or MR venogram must show "
                        "where it runs before the sector is chosen."
                    )
            structures = ids
        if facts.sinus_edge_ml is not None:
            on_sinus = [c.id for c in group if c.on_sinus]
            # a sinus divided with no crossing flagged on it (never seen): the final stage
            if on_sinus or (last and not any(c.on_sinus for c in crossings)):
                text += _edge_sentence(on_sinus, facts.sinus_edge_ml)
        add(name, "separation", structures, text, "divide")
    return stages


def _err(path: Path | str, where: str, reason: str) -> ConfigError:
    return ConfigError(path, f"{where}: {reason}")


def load_stage_file(
    path: Path | str,
    crossings: list[VesselCrossing],
) -> list[PlannedStage]:
    """Read and check a user-edited stage list.

    Format::

        stages:
          - name: Scalp tissue expander insertion
            kind: preparatory
            action: tissue_expander        # or cranial_distraction, endovascular_occlusion
          - name: Venous division 1
            kind: separation
            structures: [vessel-1]
          - name: Final separation
            kind: separation
            structures: [vessel-2]
            rationale: optional plain words

    Rules: at least one separation stage and none of kind preparatory after the last
    separation stage; each vessel id known and divided in at most one stage; an
    endovascular occlusion comes before the stage that divides its vessel. A vessel no
    stage divides is divided in the last stage (with a warning in the log).

    Raises
    ------
    ConfigError
        One line naming the file and the stage (number and name) that is impossible.
    """
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, f"cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), list) or not doc["stages"]:
        raise ConfigError(path, "must be a mapping with a non-empty list 'stages:'")
    known = {c.id for c in crossings}
    divided: dict[str, int] = {}
    occluded: dict[str, int] = {}
    out: list[PlannedStage] = []
    for i, raw in enumerate(doc["stages"], start=1):
        if not isinstance(raw, dict):
            raise _err(path, f"stage {i}", "must be a mapping with 'name' and 'kind'")
        name = raw.get("name")
        where = f"stage {i} {name!r}" if name else f"stage {i}"
        if not isinstance(name, str) or not name.strip():
            raise _err(path, where, "has no 'name'")
        kind = raw.get("kind")
        if kind not in STAGE_KINDS:
            raise _err(path, where, f"kind {kind!r} is not one of {', '.join(STAGE_KINDS)}")
        structures = raw.get("structures") or []
        if not isinstance(structures, list) or not all(isinstance(s, str) for s in structures):
            raise _err(path, where, "'structures' must be a list of names")
        rationale = raw.get("rationale") or "Stage given by the user's stage file."
        if not isinstance(rationale, str):
            raise _err(path, where, "'rationale' must be text")
        if kind == "preparatory":
            action = raw.get("action")
            if action not in PREP_ACTIONS:
                raise _err(
                    path, where, f"action {action!r} is not one of {', '.join(PREP_ACTIONS)}"
                )
            if action == "endovascular_occlusion":
                if not structures:
                    raise _err(path, where, "endovascular occlusion names no vessel")
                for s in structures:
                    if s not in known:
                        raise _err(
                            path,
                            where,
                            f"unknown vessel {s!r} (this plan's vessels: "
                            f"{', '.join(sorted(known)) or 'none'})",
                        )
                    occluded.setdefault(s, i)
            else:
                structures = structures or [PREP_ACTIONS[action]]
            out.append(PlannedStage(i, name, "preparatory", structures, rationale, 0.0, action))
            continue
        for s in structures:
            if s == "remaining bridge":
                continue
            if s not in known:
                raise _err(
                    path,
                    where,
                    f"unknown structure {s!r} (this plan's vessels: "
                    f"{', '.join(sorted(known)) or 'none'})",
                )
            if s in divided:
                raise _err(path, where, f"{s} is already divided in stage {divided[s]}")
            divided[s] = i
        out.append(PlannedStage(i, name, "separation", list(structures), rationale, 0.0, "divide"))
    seps = [s for s in out if s.kind == "separation"]
    if not seps:
        raise ConfigError(path, "has no stage of kind 'separation': the twins would stay joined")
    last_sep = seps[-1].number
    for s in out:
        if s.kind == "preparatory" and s.number > last_sep:
            raise _err(
                path,
                f"stage {s.number} {s.name!r}",
                "is preparatory but comes after the final separation stage",
            )
    for v, st in occluded.items():
        if v in divided and divided[v] < st:
            raise _err(
                path,
                f"stage {st} {out[st - 1].name!r}",
                f"occludes {v}, which stage {divided[v]} has already divided",
            )
    missing = sorted(known - set(divided), key=lambda s: int(s.split("-")[1]))
    final = seps[-1]
    extra = [m for m in missing]
    structures = list(final.structures) + extra
    if "remaining bridge" not in structures:
        structures.append("remaining bridge")
    if extra:
        logger.warning(
            "stage file %s divides no stage for %s: added to the last stage", path, extra
        )
    out[final.number - 1] = PlannedStage(
        final.number, final.name, final.kind, structures, final.rationale, 0.0, final.action
    )
    return out


def stages_to_yaml(stages: list[PlannedStage]) -> str:
    """The stage list in the stage-file format, for the user to edit."""
    doc = {
        "stages": [
            {
                "name": s.name,
                "kind": s.kind,
                **({"action": s.action} if s.kind == "preparatory" else {}),
                "structures": [x for x in s.structures if x != "remaining bridge"]
                if s.kind == "separation"
                else list(s.structures),
                "rationale": s.rationale,
            }
            for s in stages
        ]
    }
    header = (
        "# twinsep stage file: edit the order or the vessels divided in each stage, then\n"
        "# run `twinsep plan SCAN --out DIR --stage-file this.yaml`. Kinds: preparatory\n"
        "# (action: tissue_expander | cranial_distraction | endovascular_occlusion) or\n"
        "# separation (structures: vessel ids of this plan). The last separation stage\n"
        "# also divides whatever remains.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
