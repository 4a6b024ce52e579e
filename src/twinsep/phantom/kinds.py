"""The catalogue of phantom kinds: which craniopagus each name stands for.

Classification (Stone & Goodrich, Brain 2006): **angular** when the twins' long axes
(vertex -> neck) meet at less than 140 degrees, **vertical** otherwise; **total** when a
dural venous sinus is shared, **partial** when not. Total vertical forms are O'Connell
types by the axial rotation of one face relative to the other about the shared axis:
I < 40 deg, III 40-140 deg, II 140-180 deg. Kobets et al. (Neurosurgery 2025): less
rotation goes with a common circular sinus, type II with helically arranged sagittal
sinuses; the transition lies near 90 deg.

=========================  ========  ========  =========  ======  =====================
kind                       type      complete  site       rot°    sinus
=========================  ========  ========  =========  ======  =====================
vertical-I                 vertical  total     vertex     20      circular
vertical-I-sss             vertical  total     vertex     10      superior_sagittal
vertical-II                vertical  total     vertex     165     superior_sagittal
vertical-III               vertical  total     vertex     75      circular
vertical-III-sss           vertical  total     vertex     115     superior_sagittal
vertical-partial           vertical  partial   vertex     25      separate
angular-frontal            angular   total     frontal    --      superior_sagittal
angular-parietal           angular   total     parietal   --      superior_sagittal
angular-occipital          angular   total     occipital  --      superior_sagittal
angular-frontal-partial    angular   partial   frontal    --      separate
angular-parietal-partial   angular   partial   parietal   --      separate
angular-occipital-partial  angular   partial   occipital  --      separate
=========================  ========  ========  =========  ======  =====================

Angular kinds have the junction ``junction_polar_deg`` away from the vertex toward the
site, which gives a long-axis angle of ``180 - 2 * junction_polar_deg`` degrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from twinsep.errors import ConfigError

FusionType = Literal["vertical", "angular"]
Completeness = Literal["partial", "total"]
Site = Literal["vertex", "frontal", "parietal", "occipital"]
SinusKind = Literal["superior_sagittal", "circular", "separate"]


@dataclass(frozen=True)
class KindSpec:
    """How two heads are joined for one phantom kind (angles in degrees, lengths in mm)."""

    name: str
    """Kind name, as listed in :data:`PHANTOM_KINDS`."""
    type: FusionType
    """Stone-Goodrich type the placement produces."""
    completeness: Completeness
    """``total`` (shared sinus, brains meet across a dural layer) or ``partial``."""
    site: Site
    """Where on each head the junction lies (``vertex`` for vertical kinds)."""
    junction_polar_deg: float
    """Angle between a head's long axis (neck -> vertex) and its junction direction."""
    rotation_deg: float
    """Twist of twin B about the junction axis relative to the mirror position of A: for
    vertical kinds this is the axial rotation between the faces."""
    overlap_mm: float
    """How far the two scalp surfaces interpenetrate along the junction axis, mm: large
    for total forms (cavities merge); 4 mm for partial forms, where the outer tables fuse
    through the blend, the cavities stay apart and the two sinuses stay about 7 mm (one
    bone plate) apart."""
    skin_blend_mm: float
    """Smooth-union radius of the skin bridge, mm (a broader waist when larger)."""
    outer_blend_mm: float
    """Smooth-union radius of the outer tables (extent of the shared bone), mm."""
    inner_blend_mm: float
    """Smooth-union radius of the cavities, mm (kept small for partial forms so that the
    cavities stay separate: the merge needs more than ``4 * (bone_mm - overlap / 2 +
    scalp_mm)``)."""
    sinus_kind: SinusKind
    """Shared-sinus arrangement (``separate`` for partial forms)."""
    description: str
    """One line for listings."""


def _vertical(name: str, rot: float, sinus: SinusKind, text: str) -> KindSpec:
    return KindSpec(
        name, "vertical", "total", "vertex", 0.0, rot, 44.0, 30.0, 16.0, 10.0, sinus, text
    )


def _angular(name: str, site: Site, polar: float, partial: bool) -> KindSpec:
    if partial:
        return KindSpec(
            name,
            "angular",
            "partial",
            site,
            polar,
            0.0,
            4.0,
            28.0,
            12.0,
            3.0,
            "separate",
            f"partial angular craniopagus, {site}",
        )
    return KindSpec(
        name,
        "angular",
        "total",
        site,
        polar,
        0.0,
        38.0,
        30.0,
        16.0,
        10.0,
        "superior_sagittal",
        f"total angular craniopagus, {site}, shared superior sagittal sinus",
    )


_SPECS: tuple[KindSpec, ...] = (
    _vertical("vertical-I", 20.0, "circular", "total vertical, O'Connell I, circular sinus"),
    _vertical(
        "vertical-I-sss", 10.0, "superior_sagittal", "total vertical, O'Connell I, shared SSS"
    ),
    _vertical(
        "vertical-II", 165.0, "superior_sagittal", "total vertical, O'Connell II, helical SSS"
    ),
    _vertical("vertical-III", 75.0, "circular", "total vertical, O'Connell III, circular sinus"),
    _vertical(
        "vertical-III-sss", 115.0, "superior_sagittal", "total vertical, O'Connell III, shared SSS"
    ),
    KindSpec(
        "vertical-partial",
        "vertical",
        "partial",
        "vertex",
        0.0,
        25.0,
        4.0,
        30.0,
        12.0,
        3.0,
        "separate",
        "partial vertical craniopagus, separate sinuses",
    ),
    _angular("angular-frontal", "frontal", 40.0, False),
    _angular("angular-parietal", "parietal", 35.0, False),
    _angular("angular-occipital", "occipital", 40.0, False),
    _angular("angular-frontal-partial", "frontal", 40.0, True),
    _angular("angular-parietal-partial", "parietal", 35.0, True),
    _angular("angular-occipital-partial", "occipital", 40.0, True),
)

#: Every phantom kind, in catalogue order.
PHANTOM_KINDS: tuple[str, ...] = tuple(s.name for s in _SPECS)

_BY_NAME = {s.name: s for s in _SPECS}


def kind_spec(kind: str) -> KindSpec:
    """The :class:`KindSpec` of ``kind``.

    Raises
    ------
    ConfigError
        If ``kind`` is not in :data:`PHANTOM_KINDS` (the message lists them).
    """
    try:
        return _BY_NAME[kind]
    except (KeyError, TypeError):
        raise ConfigError(
            "kind", f"unknown phantom kind {kind!r}; choose one of {', '.join(PHANTOM_KINDS)}"
        ) from None
