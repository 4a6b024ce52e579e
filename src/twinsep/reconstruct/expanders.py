"""Tissue-expander plan per twin: where, which shape and size, how much, and when.

Placement (per twin, deterministic) is by default the search of
:mod:`twinsep.reconstruct.expander_search` (``ExpanderParams.placement="search"``): the
best set of catalogue sizes over a lattice of candidate sites fixed in the twin's own
frame, with anatomical tie-breaks, seeded with the earlier greedy placement (never
worse than it, by construction). The greedy placement is also kept on its own
(``placement="greedy"``) as the reference it is measured against:

1. the healthy scalp available for expansion (:mod:`twinsep.reconstruct.defects`) is
   the allowed region; the wound, the scalp near it, the face, ears and neck, and every
   expander already placed (plus ``gap_mm``) are forbidden;
2. candidate centres are allowed skin points with the most free scalp around them
   (within ``room_radius_mm``), then the farthest from anything forbidden, then by
   anatomy (along the pair's side, occipital before frontal, lower on the long axis);
3. at each candidate, every size of the expander catalogue
   (:mod:`twinsep.reconstruct.catalogue`) is laid out in the skin's tangent plane
   (rectangles around or toward the defect, crescents curving around it), its footprint
   is wrapped onto the skin, and the layout is accepted only if every footprint point
   lands on allowed scalp at least ``gap_mm`` from every expander already placed. Fewer, larger
   expanders are preferred: the layout with the largest realised capacity (efficiency x
   geometric gain at the nominal volume) wins, except that when one expander can cover
   what is still missing the smallest one that does is taken;
4. placing stops when the realised capacity covers the defect with the over-expansion
   margin, or nothing fits, or ``max_expanders`` are placed.

What a plan must hold (per twin; ``D`` the scalp defect area measured on the cut):

- **gain**: realised gain >= ``D x (1 + over_expansion)``, realised gain being the
  geometric surface gain of the flat-base model times the in-vivo fraction (38 %
  rectangular, 32 % crescent, 25 % round; van Rappard et al., Plast Reconstr Surg
  1988;82:833): the domes' geometric gain is then at least 1.4 / 0.38 = 3.7 (boxes) to
  1.4 / 0.25 = 5.6 (round) times the defect;
- **fill**: planned fill >= ``fill_ml_per_cm2`` (7 mL) per cm^2 of ``D`` (Aya et al.,
  Plast Reconstr Surg Glob Open 2014;2:e118: revision surgery was more frequent at 7 mL
  per cm^2 of lesion or less). Each size's capacity is capped at ``(1 + over_expansion)
  x nominal / 7 mL per cm^2`` (small boxes are bound by it: R40x60 1583 -> 1000 mm^2,
  R50x80 2470 -> 2000), so a set whose capacities reach the need by gain holds the fill
  too; where the scalp has no room for such a set the plan says how many mL per cm^2 it
  holds (the shortfall itself stays the gain's). Aya et al. also asked the stretched
  skin to be 2.5 times the lesion's width: a flap-design figure the planner does not
  model;
- **count**: the fewest expanders that hold both, at most ``max_expanders`` (4);
- **size against the head**: a size is placed only where its footprint, laid out along
  the scalp from its centre (azimuthal-equidistant: distances from the centre kept, as
  a base measured with a tape over the scalp), lies on the available hair-bearing vault
  scalp with its cuffs; so the head's size limits the sizes through the scalp it has,
  and no expander is larger than the scalp it lies on. No other head-size cap: the
  flat-base gain is conservative on a convex skull (a box bent along a skull of radius
  R holds ``V = W L h (1 + h / 2R)`` and gains ``W L h / R + 2 L h (1 + h / 2R) + 2 W h``:
  R100x200 at 800 mL on a 78 mm adult skull 31 000 mm^2 against the flat 24 000,
  R60x120 at 250 mL on a 60 mm infant skull 15 100 against 12 500), and craniopagus
  teams have used expanders of about that length on infants (UCLA 2002, Kawamoto:
  two 8-inch, about 200 mm, expanders threaded around both heads in the groove between
  them; subgaleal expanders for six months before separation, Goh, Childs Nerv Syst
  2004;20:567; expansion before a staged separation, Staffenberg and Goodrich, J
  Craniofac Surg 2012;23(7 Suppl 1), doi:10.1097/SCS.0b013e318262d3f7). Staged calvarial reconstructions with expansion
  (systematic review, Lo et al., Arch Plast Surg 2022;49:729): mean defect 122 cm^2,
  mean 14.2 weeks of expansion.

The target fill of each expander gives its share of ``defect x (1 + over_expansion)``
and at least its share of the fill rule;
the fill schedule starts with an intra-operative fill, then a first fill
``first_fill_day`` days after insertion and one every ``interval_days``, each at most
``max_fill_fraction`` of the nominal volume. Expanders are conformed to the outer skull
surface (they sit under the galea, on the bone) for the 3D models.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy.spatial import Delaunay, cKDTree

from twinsep.errors import InputError
from twinsep.reconstruct import expander_geometry as eg
from twinsep.reconstruct import expander_search as es
from twinsep.reconstruct.catalogue import DEFAULT_CATALOGUE, CatalogueExpander
from twinsep.reconstruct.defects import TwinDefects
from twinsep.reconstruct.existing import ExistingSkin
from twinsep.reconstruct.expander_footprint import (
    centreline_distance,
    footprint_samples,
    inside,
    outline,
    site_frame,
    turned,
    wrap_directions,
)
from twinsep.reconstruct.expander_mesh import SkullRays, box_mesh, fit_volume
from twinsep.words import counted

logger = logging.getLogger(__name__)

#: Placement methods of :class:`ExpanderParams` (``placement``).
PLACEMENTS: tuple[str, ...] = ("search", "greedy")


@dataclass(frozen=True)
class ExpanderParams:
    """Tunable numbers of the expander plan.

    Attributes
    ----------
    efficiency : ExpanderEfficiency
        Realised fraction of geometric gain per shape (van Rappard et al. 1988).
    over_expansion : float
        Safety over-expansion: realised gain aimed at is the defect area times
        ``1 + over_expansion`` (0.4; 30-50 % is common, NOTES.md "Tissue expansion").
    fill_ml_per_cm2 : float
        Least planned fill per cm^2 of scalp defect, mL (7.0; 0 turns the rule off).
        Source: Aya R, Kawai K, Kawazoe T, Suzuki S, A retrospective analysis on the
        proper size of tissue expanders to treat scalp lesions, Plast Reconstr Surg
        Glob Open 2014;2(3):e118, doi:10.1097/GOX.0000000000000070: in 21 scalp
        expansions revision surgery was significantly more frequent at 7 mL per cm^2 of
        excised lesion or less (and with stretched functional skin narrower than 2.5
        times the lesion's width). Scalp lesions of children and adults, not
        craniopagus wounds: a floor taken from the nearest published series. Each
        size's capacity is capped to ``(1 + over_expansion) x nominal / fill`` so that a
        plan that covers the need by gain also holds the volume (module docstring).
    shapes : tuple of str
        Shapes the planner may use ("rectangular", "crescent", "round").
    rectangular_model : {"box", "capsule"}
        Geometric model of rectangular expanders ("box", the published model).
    catalogue : tuple of CatalogueExpander
        Sizes the planner chooses from, with their nominal volumes (default: the
        representative paediatric range plus two custom craniopagus sizes,
        :data:`twinsep.reconstruct.catalogue.DEFAULT_CATALOGUE`; replace by the
        team's stock).
    allow_custom : bool
        Whether made-to-measure sizes of the catalogue may be planned (True:
        craniopagus teams order them; they need a longer lead time).
    max_expanders : int
        Most expanders per twin (4; scalp series use 1-4 per head).
    gap_mm : float
        Least distance between the edges of two expanders, mm (5.0; the tissue
        bridge between two dissected pockets). Toward the wound, face, ears and neck
        the limits of the available scalp already hold their cuffs
        (:class:`~twinsep.reconstruct.defects.DefectParams`): an expander may reach
        the edge of the available scalp but not cross it.
    footprint_step_mm : float
        Spacing of the footprint samples that check a layout, mm (6.0: with a 5 mm gap
        no forbidden point can hide between samples farther than ~1 mm inside).
    n_candidates : int
        Candidate centres tried per expander (8).
    normal_radius_mm : float
        Radius of the scalp patch whose mean orientation is a site's normal, mm (10.0):
        the area-weighted mean of the skin face normals within it. One marching-cubes
        face of the voxel surface tilts by up to ~15 deg from the true scalp normal
        (measured on analytic spheres; the mean over 10 mm is within ~1 deg), and
        which face a site lands on depends on how the scan's voxels are stored.
    room_radius_mm : float
        Radius within which the free available scalp around a point is summed to rank
        candidate centres, mm (50.0, about half the longest standard base): the
        middle of a large free patch is tried first, not a point merely far from its
        nearest edge (which in a band lies anywhere along the band).
    placement : {"search", "greedy"}
        How expanders are placed: "search" (default; :mod:`twinsep.reconstruct.expander_search`:
        the best set of sizes over a candidate list fixed in the twin's own frame, ties
        broken anatomically, so a mirror-symmetric pair gets mirrored plans) or "greedy"
        (the earlier rule below: largest first at the centres with the most free scalp).
    site_spacing_mm : float
        Search: spacing of the lattice of candidate centres laid in the twin's frame, mm
        (10.0). Measured on 5 mirrored two-sphere unions and 4 mirrored phantoms
        (docs/reconstruct.md): 8 mm covered more on 3 of 9 (up to +33 %) for 1.1-2.0x
        the CPU; 12 mm more on 2, and alone (without the greedy floor) lost a third of
        the capacity on one (sites too coarse to fit its band).
    cell_mm : float
        Search: size of the skin cells by which footprints are compared (conflicts) and
        the spacing of the forbidden points a footprint may not contain (half of it), mm
        (3.0). Two expanders are kept at least ``gap_mm`` apart; pairs up to
        ``gap_mm + cell_mm`` apart may also be refused.
    rect_angles_deg : tuple of float
        Search: turns of a rectangle from "width toward the defect", deg (every 30 deg;
        the set is symmetric, a mirror maps ``a`` to ``-a``).
    search_nodes : int
        Search: most depth-first nodes spent on one multiset of sizes (2000); a multiset
        not placed within them counts as not placeable (deterministic).
    capacity_step_mm2 : float
        Search: capacities short of the need are compared in steps of this, mm^2 (250:
        below the smallest catalogue capacity but one, and far below the uncertainty of
        the in-vivo efficiencies); within a step fewer, then smaller expanders win.
        The step also keeps a mirror-symmetric pair on one answer when a slightly
        larger set fits one twin only by a fraction of a millimetre.
    first_choices : int
        Greedy: how many different first expanders (the largest that fits, the largest
        smaller one, ...) are each followed by the greedy placement; the plan that
        covers most, then with fewer expanders, is kept (1: plain greedy). A large
        first expander can block two medium sites that together give more; on the
        phantom suite 3 choices changed no plan and cost 2-3x the placement time,
        so 1 is the default.
    initial_fill_fraction : float
        Intra-operative fill at insertion, fraction of nominal volume (0.10; fills
        dead space without tension).
    first_fill_day : int
        Days from insertion to the first fill (7; children: 7-10 days, NOTES.md).
    interval_days : int
        Days between fills (7, weekly).
    max_fill_fraction : float
        Largest single fill, fraction of nominal volume (0.10; 10-15 % of the nominal
        volume per session is the usual limit for scalp perfusion; 10 % puts a full
        expansion at 9-10 weekly fills, in line with the 10-14 weeks reported for
        children, NOTES.md "Tissue expansion", where 15 % finished in 6).
    rest_days : int
        Days between the last fill and the separation operation (7; planning
        assumption, the expanded scalp is left to settle).
    complication_rate : float
        Expected fraction of expanders with a complication (0.25; about a quarter in
        large paediatric series, NOTES.md); reported as a margin, not optimised.
    valve_distance_mm : float
        Distance of the remote fill valve beyond its expander's edge (away from the
        wound), mm (25.0); the nearest available scalp point off every expander and
        over bone is used.
    valve_max_depth_mm : float
        Largest skin-to-skull distance at the valve site, mm (12.0): the port must lie
        on bone so it can be found and punctured against a firm base (infant scalp is
        3-6 mm thick).
    """

    efficiency: eg.ExpanderEfficiency = field(default_factory=eg.ExpanderEfficiency)
    over_expansion: float = 0.4
    fill_ml_per_cm2: float = 7.0
    shapes: tuple[str, ...] = ("rectangular", "crescent", "round")
    rectangular_model: str = "box"
    catalogue: tuple[CatalogueExpander, ...] = DEFAULT_CATALOGUE
    allow_custom: bool = True
    max_expanders: int = 4
    gap_mm: float = 5.0
    footprint_step_mm: float = 6.0
    n_candidates: int = 8
    normal_radius_mm: float = 15.0
    room_radius_mm: float = 50.0
    placement: str = "search"
    site_spacing_mm: float = 10.0
    cell_mm: float = 3.0
    rect_angles_deg: tuple[float, ...] = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0)
    search_nodes: int = 2000
    capacity_step_mm2: float = 250.0
    first_choices: int = 1
    initial_fill_fraction: float = 0.10
    first_fill_day: int = 7
    interval_days: int = 7
    max_fill_fraction: float = 0.10
    rest_days: int = 7
    complication_rate: float = 0.25
    valve_distance_mm: float = 25.0
    valve_max_depth_mm: float = 12.0

    def __post_init__(self) -> None:
        for s in self.shapes:
            eg.check_shape(s, name="expanders.shapes")
        if not self.shapes:
            raise InputError("expanders.shapes", "at least one shape is needed")
        if self.rectangular_model not in eg.RECTANGULAR_MODELS:
            raise InputError(
                "expanders.rectangular_model",
                f"{self.rectangular_model!r} is not one of {', '.join(eg.RECTANGULAR_MODELS)}",
            )
        if not 0.0 <= self.over_expansion <= 2.0:
            raise InputError(
                "expanders.over_expansion", f"{self.over_expansion} is not in 0..2 (0.3-0.5 usual)"
            )
        if not (math.isfinite(self.fill_ml_per_cm2) and 0.0 <= self.fill_ml_per_cm2 <= 50.0):
            raise InputError(
                "expanders.fill_ml_per_cm2",
                f"{self.fill_ml_per_cm2} is not in 0..50 mL per cm² (7 published)",
            )
        if not 0.0 < self.max_fill_fraction <= 1.0:
            raise InputError(
                "expanders.max_fill_fraction", f"{self.max_fill_fraction} not in (0, 1]"
            )
        if not 0.0 <= self.initial_fill_fraction <= 1.0:
            raise InputError(
                "expanders.initial_fill_fraction", f"{self.initial_fill_fraction} not in [0, 1]"
            )
        if self.first_fill_day < 1 or self.interval_days < 1 or self.rest_days < 0:
            raise InputError(
                "expanders.first_fill_day",
                "first_fill_day and interval_days must be >= 1 day, rest_days >= 0",
            )
        if self.max_expanders < 1:
            raise InputError("expanders.max_expanders", f"{self.max_expanders} must be >= 1")
        if self.placement not in PLACEMENTS:
            raise InputError(
                "expanders.placement",
                f"{self.placement!r} is not one of {', '.join(PLACEMENTS)}",
            )
        for name in ("site_spacing_mm", "cell_mm"):
            if not getattr(self, name) > 0.0:
                raise InputError(f"expanders.{name}", f"{getattr(self, name)} must be > 0 mm")
        if not self.rect_angles_deg or self.search_nodes < 1:
            raise InputError(
                "expanders.rect_angles_deg",
                "at least one rectangle angle and search_nodes >= 1 are needed",
            )
        if self.first_choices < 1:
            raise InputError("expanders.first_choices", f"{self.first_choices} must be >= 1")
        if not self.normal_radius_mm > 0.0:
            raise InputError(
                "expanders.normal_radius_mm", f"{self.normal_radius_mm} must be > 0 mm"
            )
        if not self.usable_catalogue():
            raise InputError(
                "expanders.catalogue",
                f"no catalogue size has one of the shapes {', '.join(self.shapes)}"
                + ("" if self.allow_custom else " without the custom sizes"),
            )

    def usable_catalogue(self) -> tuple[CatalogueExpander, ...]:
        """Catalogue sizes of an allowed shape (and not custom unless allowed)."""
        return tuple(
            c
            for c in self.catalogue
            if c.shape in self.shapes and (self.allow_custom or not c.custom)
        )


@dataclass(frozen=True)
class Fill:
    """One fill: day after insertion, mL added, cumulative mL, optional due date."""

    day: int
    add_ml: float
    total_ml: float
    due: date | None = None

    @property
    def week(self) -> float:
        """Weeks after insertion."""
        return self.day / 7.0


@dataclass(frozen=True)
class ExpanderPlan:
    """One planned expander (world mm).

    Attributes
    ----------
    twin, label : str
        ``"A"``/``"B"`` and a label such as ``"A1"``.
    code : str
        Catalogue size, e.g. ``"R60x120"``.
    custom : bool
        Made-to-measure size.
    base : ExpanderBase
        Shape and base size.
    centre_mm : (3,) float64
        Centre of the base on the outer skull surface, world mm.
    frame : (3, 3) float64
        Rows: across (toward the defect), along, outward normal (unit, world).
    arc_radius_mm : float
        Centreline radius of a crescent (0 for other shapes), mm.
    nominal_ml : float
        Rated volume of the catalogue size, mL.
    target_ml : float
        Planned final fill, mL.
    geometric_gain_mm2, realised_gain_mm2 : float
        Gain at the target fill, geometric and with the in-vivo efficiency, mm^2.
    capacity_mm2 : float
        Realised gain at the nominal volume, mm^2 (the placement counts it capped by
        the fill rule, ``ExpanderParams.fill_ml_per_cm2``).
    valve_mm : (3,) float64
        Remote fill valve site (on scalp over bone), world mm.
    fills : tuple of Fill
        Fill schedule (first entry: intra-operative, day 0).
    vertices_mm : (V, 3) float64
        Closed mesh of the expander at the target fill, world mm.
    faces : (F, 3) int64
        Triangles of that mesh, outward winding.
    """

    twin: str
    label: str
    code: str
    custom: bool
    base: eg.ExpanderBase
    centre_mm: np.ndarray
    frame: np.ndarray
    arc_radius_mm: float
    nominal_ml: float
    target_ml: float
    geometric_gain_mm2: float
    realised_gain_mm2: float
    capacity_mm2: float
    valve_mm: np.ndarray
    fills: tuple[Fill, ...]
    vertices_mm: np.ndarray
    faces: np.ndarray


@dataclass(frozen=True)
class TwinSkinPlan:
    """Expander plan of one twin.

    Attributes
    ----------
    twin : str
    defect_area_mm2 : float
        Scalp defect to cover, mm^2.
    required_mm2 : float
        Realised gain aimed at, ``defect x (1 + over_expansion)``, mm^2.
    provided_mm2 : float
        Realised gain of the plan at the target fills, mm^2.
    capacity_mm2 : float
        Realised gain if every expander is filled to nominal, mm^2.
    shortfall_mm2 : float
        ``max(0, defect - capacity)``, mm^2.
    provided_if_largest_fails_mm2 : float
        Realised gain at the target fills if the largest expander is lost, mm^2.
    expanders : tuple of ExpanderPlan
    message : str
        One plain sentence about coverage (the shortfall sentence when short).
    """

    twin: str
    defect_area_mm2: float
    required_mm2: float
    provided_mm2: float
    capacity_mm2: float
    shortfall_mm2: float
    provided_if_largest_fails_mm2: float
    expanders: tuple[ExpanderPlan, ...]
    message: str

    @property
    def fill_ml_per_cm2(self) -> float:
        """Planned fill of the new expanders per cm^2 of defect, mL (0 without a defect)."""
        ml = sum(e.target_ml for e in self.expanders)
        return 100.0 * ml / self.defect_area_mm2 if self.defect_area_mm2 > 0 else 0.0

    @property
    def margin(self) -> float:
        """Realised gain over defect area, minus one (0.4 = 40 % over-expansion)."""
        return self.provided_mm2 / self.defect_area_mm2 - 1.0 if self.defect_area_mm2 else 0.0


# ----------------------------------------------------------------------------
# footprints in the tangent plane (u across toward the defect, v along)
# ----------------------------------------------------------------------------
def plan_needs_warning(
    plan: TwinSkinPlan, params: ExpanderParams, *, existing: bool = False
) -> bool:
    """Whether a twin's skin plan belongs in the plan's warnings (its ``message``).

    Parameters
    ----------
    plan : TwinSkinPlan
    params : ExpanderParams
        The over-expansion and fill rule the plan was made with.
    existing : bool
        The twin already carries expanders (the plan counts their gain).

    Returns
    -------
    bool
        True for a gain shortfall, less over-expansion than asked, expanders already in
        place, or new expanders that cover the defect but are filled under
        ``fill_ml_per_cm2`` (Aya et al. 2014).
    """
    short_fill = (
        params.fill_ml_per_cm2 > 0.0
        and bool(plan.expanders)
        and plan.shortfall_mm2 == 0
        and plan.fill_ml_per_cm2 < params.fill_ml_per_cm2 * (1.0 - 1e-9)
    )
    return (
        plan.shortfall_mm2 > 0
        or plan.margin < params.over_expansion - 1e-6
        or existing
        or short_fill
    )


def _height_field(base: eg.ExpanderBase, arc_r: float, h: float, uv: np.ndarray) -> np.ndarray:
    if base.is_box:
        return np.full(len(uv), h)
    a = base.half_width_mm
    d = np.minimum(centreline_distance(base, arc_r, uv), a)
    if h <= 0:
        return np.zeros(len(uv))
    rho = (a * a + h * h) / (2 * h)
    return np.sqrt(np.maximum(rho * rho - d * d, 0.0)) - (rho - h)


def expander_mesh(
    base: eg.ExpanderBase,
    height_mm: float,
    *,
    arc_radius_mm: float = 0.0,
    step_mm: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Closed triangle mesh of an inflated expander in its local frame (mm).

    ``x`` across the base (toward the defect), ``y`` along it, ``z`` up; the base lies in
    ``z = 0``. Returns ``(vertices (V, 3) float64, faces (F, 3) int64)`` with outward
    winding.
    """
    if base.is_box:
        # the footprint on a step_mm grid, so that it can follow the skull when conformed
        # (a subdivided box was 86 016 faces at 100 x 200 mm, 36 % of scene.glb's)
        return box_mesh(base, height_mm, step_mm=step_mm)
    ring = outline(base, arc_radius_mm, step_mm)
    inner = footprint_samples(base, arc_radius_mm, step_mm)
    dist_ring = cKDTree(ring).query(inner)[0]
    inner = inner[dist_ring > 0.45 * step_mm]
    uv = np.vstack([ring, inner])
    tri = Delaunay(uv).simplices
    cen = uv[tri].mean(axis=1)
    tri = tri[
        inside(base, arc_radius_mm, cen)
        | (centreline_distance(base, arc_radius_mm, cen) <= base.half_width_mm)
    ]
    # orient counter-clockwise in (u, v)
    p = uv[tri]
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    tri[cross < 0] = tri[cross < 0][:, ::-1]
    n_ring, n = len(ring), len(uv)
    top_z = _height_field(base, arc_radius_mm, height_mm, uv)
    top_z[:n_ring] = 0.0
    top = np.column_stack([uv, top_z])
    bottom = np.column_stack([uv, np.zeros(n)])
    # dome: ring shared by top and bottom
    idx_bottom = np.arange(n) + n - n_ring
    idx_bottom[:n_ring] = np.arange(n_ring)
    verts = np.vstack([top, bottom[n_ring:]])
    faces_bottom = idx_bottom[tri][:, ::-1]
    return verts, np.vstack([tri, faces_bottom]).astype(np.int64)


# ----------------------------------------------------------------------------
# planning
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    item: CatalogueExpander
    base: eg.ExpanderBase
    arc_r: float
    centre_idx: int
    frame: np.ndarray
    footprint_mm: np.ndarray
    capacity_mm2: float


@dataclass(frozen=True)
class _Option:
    """One catalogue size in one orientation at one arc radius."""

    item: CatalogueExpander
    base: eg.ExpanderBase
    arc_r: float
    turned: bool  # rectangle's long side toward the defect instead of around it
    capacity_mm2: float


def _options(params: ExpanderParams, arc_r: float) -> list[_Option]:
    """Every usable catalogue size and orientation at a centre ``arc_r`` from the defect."""
    out: list[_Option] = []
    for item in params.usable_catalogue():
        base = item.base(params.rectangular_model)
        if item.shape == "crescent":
            # the crescent curves around the defect: its inner edge must stay outside
            # the defect centre and the arc must not close on itself
            if not (arc_r > base.width_mm and base.straight_mm / arc_r < 1.5 * math.pi):
                continue
            ar = arc_r
        else:
            ar = 0.0
        cap = _capacity(item, base, params)
        out.append(_Option(item, base, ar, False, cap))
        if item.shape == "rectangular" and base.length_mm > base.width_mm:
            out.append(_Option(item, base, ar, True, cap))
    return out


def _capacity(item: CatalogueExpander, base: eg.ExpanderBase, params: ExpanderParams) -> float:
    """Capacity (mm^2 of realised gain) of a catalogue size filled to its nominal volume.

    The realised gain at the nominal volume (van Rappard's efficiency x the geometric
    gain), capped at what its volume may close by the fill rule: a size of nominal
    ``V`` mL closes at most ``V / fill_ml_per_cm2`` cm^2 of defect, which takes
    ``1 + over_expansion`` times that in realised gain (module docstring). A set of
    expanders whose capacities reach ``defect x (1 + over_expansion)`` then also holds
    at least ``fill_ml_per_cm2`` per cm^2 of defect at its target fills.
    """
    gain = params.efficiency.of(base.shape) * eg.gain_for_volume_mm2(base, item.nominal_ml)
    if params.fill_ml_per_cm2 <= 0.0:
        return gain
    by_volume = (1.0 + params.over_expansion) * item.nominal_ml * 100.0 / params.fill_ml_per_cm2
    return min(gain, by_volume)


def _target_ml(
    base: eg.ExpanderBase, nominal_ml: float, share_mm2: float, params: ExpanderParams
) -> float:
    """Planned fill of an expander whose share of the need is ``share_mm2`` (realised gain).

    The volume giving that realised gain, and at least ``fill_ml_per_cm2`` per cm^2 of the
    defect the share stands for (``share / (1 + over_expansion)``); never above nominal.
    """
    eff = params.efficiency.of(base.shape)
    by_gain = eg.volume_ml(base, eg.height_for_gain_mm(base, share_mm2 / eff))
    by_fill = params.fill_ml_per_cm2 * share_mm2 / (1.0 + params.over_expansion) / 100.0
    return min(max(by_gain, by_fill), nominal_ml)


def _scalp_normals(
    defects: TwinDefects, all_tree: cKDTree, radius_mm: float
) -> Callable[[int], np.ndarray]:
    """Scalp normal at an available point (index among the available points), cached.

    The normal of the plane fitted (area-weighted least squares) to the skin points
    within ``radius_mm``, turned outward like their mean normal (the point's own normal
    if the patch is too small or has no outward sense). The skin points are the
    marching-cubes vertices, where the surface crosses the grid's edges: their places
    do not depend on how the cells were split into triangles, nor do the areas they
    stand for; the mean of their gradient normals did not do (2.3 deg off the radial
    direction, median, on the two-sphere case; the plane 0.25 deg).
    """
    skin = defects.skin
    pts = skin.points_mm[defects.available]
    nrm = skin.normals[defects.available]
    cache: dict[int, np.ndarray] = {}

    def normal(ci: int) -> np.ndarray:
        if ci not in cache:
            near = np.asarray(all_tree.query_ball_point(pts[ci], radius_mm), dtype=np.int64)
            w = skin.areas_mm2[near]
            outward = (skin.normals[near] * w[:, None]).sum(axis=0)
            n = nrm[ci]
            if len(near) >= 3 and w.sum() > 0:
                q = skin.points_mm[near] - (skin.points_mm[near] * w[:, None]).sum(axis=0) / w.sum()
                vals, vecs = np.linalg.eigh((q * w[:, None]).T @ q)
                fit = vecs[:, 0]
                side = float(fit @ outward)
                if vals[1] > 0 and abs(side) > 1e-9:
                    n = fit if side > 0 else -fit
            cache[ci] = n
        return cache[ci]

    return normal


@dataclass(frozen=True)
class _Skin:
    """What both placements read of a twin's skin: a KD-tree of all its points and the
    (cached) scalp normal at an available point."""

    tree: cKDTree
    normal: Callable[[int], np.ndarray]

    @staticmethod
    def of(defects: TwinDefects, params: ExpanderParams) -> _Skin:
        tree = cKDTree(defects.skin.points_mm)
        return _Skin(tree, _scalp_normals(defects, tree, params.normal_radius_mm))


def _place_search(
    defects: TwinDefects,
    params: ExpanderParams,
    required_mm2: float,
    side: np.ndarray,
    *,
    seed: Sequence[_Layout] = (),
    skin_index: _Skin | None = None,
) -> list[_Layout]:
    """Placement by :mod:`twinsep.reconstruct.expander_search` (``placement="search"``),
    seeded with ``seed`` (the greedy placement): never worse than it (by the
    objective, and covering at least as much), by construction."""
    if not defects.available.any():
        return []
    skin = defects.skin
    pts = skin.points_mm[defects.available]
    shared = skin_index or _Skin.of(defects, params)
    all_tree = shared.tree
    sizes = [
        es.SizeOption(
            c,
            c.base(params.rectangular_model),
            _capacity(c, c.base(params.rectangular_model), params),
        )
        for c in params.usable_catalogue()
    ]
    by_code = {s.item.code: s for s in sizes}
    seeds = [es.Seed(by_code[lay.item.code], lay.centre_idx, lay.frame, lay.arc_r) for lay in seed]
    settings = es.SearchSettings(
        gap_mm=params.gap_mm,
        site_spacing_mm=params.site_spacing_mm,
        cell_mm=params.cell_mm,
        rect_angles_deg=params.rect_angles_deg,
        footprint_step_mm=params.footprint_step_mm,
        max_expanders=params.max_expanders,
        search_nodes=params.search_nodes,
        capacity_step_mm2=params.capacity_step_mm2,
    )
    cands, bits, n_sites = es.build_candidates(defects, sizes, settings, shared.normal, side, seeds)
    chosen, tried, nodes, greedy_cap = es.search(cands, bits, required_mm2, settings)
    logger.debug(
        "twin %s: %d sites, %d candidates, %d multisets tried, %d nodes; greedy pass %.0f mm2",
        defects.twin,
        n_sites,
        len(cands),
        tried,
        nodes,
        greedy_cap,
    )
    out: list[_Layout] = []
    for i in chosen:
        c = cands[i]
        uv = footprint_samples(c.option.base, c.arc_r, params.footprint_step_mm)
        dirs, r0 = wrap_directions(uv, c.frame, pts[c.site], defects.brain_centre_mm)
        _, near = all_tree.query(defects.brain_centre_mm + dirs * r0)
        out.append(
            _Layout(
                c.option.item,
                c.option.base,
                c.arc_r,
                c.site,
                c.frame,
                skin.points_mm[near],
                c.option.capacity_mm2,
            )
        )
    return out


def _place(
    defects: TwinDefects,
    params: ExpanderParams,
    required_mm2: float,
    *,
    skin_index: _Skin | None = None,
    side: np.ndarray | None = None,
) -> list[_Layout]:
    skin = defects.skin
    allowed = defects.available
    if side is None:
        side = np.cross(defects.head_axis, es.twin_basis(defects)[1])
    if not allowed.any():
        return []
    pts = skin.points_mm[allowed]
    shared = skin_index or _Skin.of(defects, params)
    all_tree = shared.tree
    cell = 0.5 * params.footprint_step_mm
    # every skin point that is not available bounds where a centre can be (all of them:
    # thinned to one per world cell, a mirror image of the head kept other points)
    not_ok = np.vstack([skin.points_mm[~allowed], defects.wound.points_mm])
    static_clear = cKDTree(not_ok if len(not_ok) else np.full((1, 3), 1e9)).query(pts)[0]
    min_half = 0.5 * min(c.width_mm for c in params.usable_catalogue())
    site_normal = shared.normal
    basis = es.twin_basis(defects)
    room_cells = _RoomCells.of(pts, params.room_radius_mm, cell, basis, defects.brain_centre_mm)
    # ties of room and clearance: the pair's side first, then occipital before frontal,
    # then lower along the long axis (never the order of the surface's points)
    anat = (pts - defects.brain_centre_mm) @ np.stack([basis[0], basis[1], side]).T

    options_cache: dict[float, list[_Option]] = {}
    uv_cache: dict[tuple[eg.ExpanderBase, float, bool], np.ndarray] = {}

    def step(placed: list[_Layout], missing: float, cap_below: float) -> _Layout | None:
        """The next expander given those placed (capacities below ``cap_below`` only)."""
        dyn_tree = cKDTree(np.vstack([lay.footprint_mm for lay in placed])) if placed else None

        clearance = (
            static_clear if dyn_tree is None else np.minimum(static_clear, dyn_tree.query(pts)[0])
        )
        ok = np.flatnonzero(clearance >= min_half)
        free = (
            np.ones(len(pts), dtype=bool)
            if dyn_tree is None
            else dyn_tree.query(pts)[0] >= params.gap_mm
        )
        room = _room_mm2(room_cells, skin.areas_mm2[allowed], free)
        a = np.round(anat[ok], 6)
        order = np.lexsort(
            (a[:, 0], a[:, 1], -a[:, 2], -np.round(clearance[ok], 6), -np.round(room[ok], -2))
        )
        top = ok[order[:4000]]
        cands: list[int] = []
        for i in top:
            if not cands or np.min(np.linalg.norm(pts[cands] - pts[i], axis=1)) > 10.0:
                cands.append(int(i))
            if len(cands) >= params.n_candidates:
                break

        def fits(
            ci: int,
            opt: _Option,
            frame: np.ndarray,
            clearance: np.ndarray = clearance,
            dyn_tree: cKDTree | None = dyn_tree,
        ) -> np.ndarray | None:
            """Footprint on the skin (world mm) if ``opt`` fits at candidate ``ci``."""
            if opt.base.width_mm / 2 > clearance[ci] + params.footprint_step_mm:
                return None  # the centre itself is too close to something forbidden
            key = (opt.base, opt.arc_r, opt.turned)
            if key not in uv_cache:
                uv_cache[key] = footprint_samples(opt.base, opt.arc_r, params.footprint_step_mm)
            f = turned(frame) if opt.turned else frame
            # the same wrap as the mesh, on the sphere through the centre skin point
            dirs, r0 = wrap_directions(uv_cache[key], f, pts[ci], defects.brain_centre_mm)
            _, near = all_tree.query(defects.brain_centre_mm + dirs * r0)
            if not allowed[near].all():
                return None
            proj = skin.points_mm[near]
            if dyn_tree is not None and dyn_tree.query(proj)[0].min() < params.gap_mm:
                return None
            return proj

        best: _Layout | None = None
        per_cand: list[tuple[int, np.ndarray, list[_Option]]] = []
        for ci in cands:
            to_defect = defects.defect_centroid_mm - pts[ci]
            frame = site_frame(site_normal(ci), to_defect)
            arc_r = float(np.linalg.norm(to_defect - (to_defect @ frame[2]) * frame[2]))
            key_r = round(arc_r, 1)
            if key_r not in options_cache:
                options_cache[key_r] = sorted(
                    _options(params, arc_r), key=lambda o: (-o.capacity_mm2, o.item.code, o.turned)
                )
            per_cand.append((ci, frame, options_cache[key_r]))
        # one expander may close the gap: the smallest that does, at any candidate
        for ci, frame, opts in per_cand:
            for opt in reversed(opts):
                if opt.capacity_mm2 < missing or opt.capacity_mm2 >= cap_below:
                    continue
                if best is not None and opt.capacity_mm2 >= best.capacity_mm2:
                    break
                proj = fits(ci, opt, frame)
                if proj is not None:
                    best = _layout(opt, ci, frame, proj)
                    break
        if best is None:
            # otherwise the largest that fits (fewer, larger expanders)
            for ci, frame, opts in per_cand:
                for opt in opts:
                    if opt.capacity_mm2 >= cap_below:
                        continue
                    if best is not None and opt.capacity_mm2 <= best.capacity_mm2:
                        break
                    proj = fits(ci, opt, frame)
                    if proj is not None:
                        best = _layout(opt, ci, frame, proj)
                        break
        return best

    # a few different first expanders (the largest that fits, then the largest smaller
    # one, ...), each followed greedily; the plan covering most wins, then the one with
    # fewer expanders, then more capacity (a large first expander can block two
    # medium-sized sites)
    firsts: list[_Layout] = []
    cap_below = math.inf
    for _ in range(params.first_choices):
        lay = step([], required_mm2, cap_below)
        if lay is None:
            break
        firsts.append(lay)
        cap_below = lay.capacity_mm2
    best_plan: list[_Layout] = []
    best_key = (-1.0, 0, 0.0)
    for first in firsts:
        placed = [first]
        total = first.capacity_mm2
        while len(placed) < params.max_expanders and total < required_mm2:
            nxt = step(placed, required_mm2 - total, math.inf)
            if nxt is None:
                break
            placed.append(nxt)
            total += nxt.capacity_mm2
        key = (round(min(total, required_mm2), 6), -len(placed), total)
        if key > best_key:
            best_key, best_plan = key, placed
    return best_plan


@dataclass(frozen=True)
class _RoomCells:
    """The available points pooled into cells of ``cell_mm`` and the pairs of cells
    within ``radius_mm`` (fixed for a twin: only which points are free changes)."""

    inv: np.ndarray  # cell of each point
    n_cells: int
    pairs: np.ndarray  # (P, 2) cell pairs within the radius

    @staticmethod
    def of(
        pts: np.ndarray, radius_mm: float, cell_mm: float, basis: np.ndarray, origin: np.ndarray
    ) -> _RoomCells:
        # cells of a lattice in the twin's frame centred on its brain (as the search's
        # sites): a mirror image of the head is pooled into the mirror-image cells
        key = np.rint((pts - origin) @ basis.T / max(cell_mm, 1.0)).astype(np.int64)
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        inv = inv.ravel()
        centres = np.zeros((len(uniq), 3))
        np.add.at(centres, inv, pts)
        centres /= np.bincount(inv, minlength=len(uniq))[:, None]
        pairs = cKDTree(centres).query_pairs(radius_mm, output_type="ndarray")
        return _RoomCells(inv, len(uniq), pairs)


def _room_mm2(cells: _RoomCells, areas: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Free available area (mm^2) within the cells' radius of each point.

    Points are pooled into cells (area summed per cell) so the neighbour sums stay
    cheap on a fine surface; the pairs of cells are found once per twin.
    """
    n = cells.n_cells
    w = np.bincount(cells.inv, weights=np.where(free, areas, 0.0), minlength=n)
    a, b = cells.pairs[:, 0], cells.pairs[:, 1]
    score = (
        w + np.bincount(a, weights=w[b], minlength=n) + np.bincount(b, weights=w[a], minlength=n)
    )
    return score[cells.inv]


def _layout(opt: _Option, ci: int, frame: np.ndarray, proj: np.ndarray) -> _Layout:
    f = turned(frame) if opt.turned else frame
    return _Layout(opt.item, opt.base, opt.arc_r, ci, f, proj, opt.capacity_mm2)


@dataclass(frozen=True)
class _BoneDirections:
    """Outer skull seen from the brain centre: unit directions and radii (mm)."""

    centre_mm: np.ndarray
    tree: cKDTree | None
    radii_mm: np.ndarray

    @staticmethod
    def of(d: TwinDefects) -> _BoneDirections:
        pts = d.bone_outer.points_mm
        if len(pts) < 8:
            return _BoneDirections(d.brain_centre_mm, None, np.zeros(0))
        rel = pts - d.brain_centre_mm
        r = np.linalg.norm(rel, axis=1)
        return _BoneDirections(d.brain_centre_mm, cKDTree(rel / r[:, None]), r)


def _conform(
    verts_l: np.ndarray,
    frame: np.ndarray,
    c_skin: np.ndarray,
    d: TwinDefects,
    bone: _BoneDirections,
) -> np.ndarray:
    """Wrap a local expander mesh onto the outer skull (world mm).

    Each base point ``(u, v)`` of the tangent plane at the skin centre is sent to the
    ray from the brain centre at angle ``|(u, v)| / R0`` from the centre's ray (an
    azimuthal equidistant wrap, ``R0`` the centre's distance from the brain centre),
    placed on the outer skull there (radius averaged over the 8 nearest skull
    directions), and its height ``w`` is added along the same ray; top and bottom of a
    base point share the ray, so a closed mesh stays closed.
    """
    if bone.tree is None:
        base = c_skin + verts_l[:, :1] * frame[0] + verts_l[:, 1:2] * frame[1]
        return base + verts_l[:, 2:3] * frame[2]
    u, _ = wrap_directions(verts_l[:, :2], frame, c_skin, bone.centre_mm)
    k = min(8, len(bone.radii_mm))
    dist, idx = bone.tree.query(u, k=k)
    w = 1.0 / np.maximum(np.atleast_2d(dist), 1e-6)
    r = (bone.radii_mm[np.atleast_2d(idx)] * w).sum(axis=1) / w.sum(axis=1)
    return bone.centre_mm + u * (r + verts_l[:, 2])[:, None]


def _schedule(nominal_ml: float, target_ml: float, params: ExpanderParams) -> list[Fill]:
    """Fills in whole 0.1 mL (what a syringe delivers); totals are exact sums of the adds.

    The intra-operative fill and every later fill are rounded down to 0.1 mL so no fill
    exceeds its bound; the last fill tops up to the target rounded to 0.1 mL.
    """
    tenth = 10.0
    target = int(round(target_ml * tenth))
    first = min(target, int(math.floor(params.initial_fill_fraction * nominal_ml * tenth)))
    step = max(1, int(math.floor(params.max_fill_fraction * nominal_ml * tenth)))
    fills = [Fill(0, first / tenth, first / tenth)]
    total = first
    day = params.first_fill_day
    while total < target:
        add = min(step, target - total)
        total += add
        fills.append(Fill(day, add / tenth, total / tenth))
        day += params.interval_days
    return fills


def plan_expanders(
    defects: dict[str, TwinDefects],
    *,
    separation_date: date | None = None,
    params: ExpanderParams = ExpanderParams(),
    existing: Mapping[str, ExistingSkin] | None = None,
) -> dict[str, TwinSkinPlan]:
    """Expander plans for both twins, with a common insertion day.

    Parameters
    ----------
    defects : dict "A"/"B" -> TwinDefects
        From :func:`twinsep.reconstruct.defects.measure_defects`.
    separation_date : date, optional
        Planned separation; fills then carry due dates counted back from it (the
        expanders of both twins are inserted in one operation). Without it the
        schedule is in days/weeks after insertion.
    params : ExpanderParams
    existing : dict "A"/"B" -> ExistingSkin, optional
        Expanders already in place (:mod:`twinsep.reconstruct.existing`): their
        realised gain counts toward the defect, no new expander is placed over them,
        and they take their number off ``max_expanders``.

    Returns
    -------
    dict "A"/"B" -> TwinSkinPlan
    """
    plans: dict[str, TwinSkinPlan] = {}
    side = es.pair_side(defects)
    for name in sorted(defects):
        d = defects[name]
        ex = (existing or {}).get(name)
        credit = ex.realised_gain_mm2 if ex is not None else 0.0
        p_twin = params
        if ex is not None and ex.count:
            # no pocket over a balloon; the team's expanders count toward the most
            d = dataclasses.replace(d, available=d.available & ~ex.occupied)
            p_twin = dataclasses.replace(
                params, max_expanders=max(params.max_expanders - ex.count, 0)
            )
        need = d.scalp_defect_area_mm2
        required_total = need * (1.0 + params.over_expansion)
        required = max(required_total - credit, 0.0)
        layouts: list[_Layout] = []
        if required > 0 and p_twin.max_expanders > 0 and d.available.any():
            shared = _Skin.of(d, p_twin)
            layouts = _place(d, p_twin, required, skin_index=shared, side=side)
            if params.placement == "search":
                # the search seeded with the greedy placement (its sites are not on the
                # search's lattice; it covered more on 5 of 36 twin plans measured, all
                # one narrow band: docs/reconstruct.md): never worse, by construction
                layouts = _place_search(d, p_twin, required, side, seed=layouts, skin_index=shared)
        # shares of the need by the capacities the placement counted (capped by the
        # fill rule); the plan reports the realised gain at nominal
        capacity = float(sum(lay.capacity_mm2 for lay in layouts))
        bone_tree = cKDTree(d.bone_outer.points_mm) if len(d.bone_outer.points_mm) else None
        bone_dirs = _BoneDirections.of(d)
        skull = SkullRays.of(d)
        footprints_tree = (
            cKDTree(np.vstack([lay.footprint_mm for lay in layouts])) if layouts else None
        )
        avail_pts = d.skin.points_mm[d.available]
        skin_tree = cKDTree(avail_pts) if len(avail_pts) else cKDTree(d.skin.points_mm)
        if not len(avail_pts):
            avail_pts = d.skin.points_mm
        exps: list[ExpanderPlan] = []
        for k, lay in enumerate(layouts, start=1):
            share = min(lay.capacity_mm2, required * lay.capacity_mm2 / capacity)
            eff = params.efficiency.of(lay.base.shape)
            nominal = lay.item.nominal_ml
            # the share's gain and the fill rule's volume, never above the rated volume
            target = _target_ml(lay.base, nominal, share, params)
            h_t = eg.height_for_volume_mm(lay.base, target)
            g = eg.gain_mm2(lay.base, h_t)
            c_skin = d.skin.points_mm[d.available][lay.centre_idx]
            verts_l, faces = expander_mesh(lay.base, h_t, arc_radius_mm=lay.arc_r)
            verts_w = fit_volume(verts_l, faces, lay.frame, c_skin, skull, target)
            centre = _conform(np.zeros((1, 3)), lay.frame, c_skin, d, bone_dirs)[0]
            # valve: beyond the edge, away from the defect, on available scalp
            reach = 0.5 * lay.base.width_mm + params.valve_distance_mm
            guess = c_skin - lay.frame[0] * reach
            _, near = skin_tree.query(guess, k=min(256, len(avail_pts)))
            near = np.atleast_1d(near)
            cand = avail_pts[near]
            # off every expander (a port under an expander cannot be reached) ...
            ok = np.ones(len(cand), dtype=bool)
            if footprints_tree is not None:
                ok &= footprints_tree.query(cand)[0] >= params.gap_mm
            if bone_tree is not None:
                # ... and palpable over bone: skull close below the skin
                ok &= bone_tree.query(cand)[0] <= params.valve_max_depth_mm
            pick = np.flatnonzero(ok)
            valve = cand[pick[0]] if len(pick) else cand[0]
            if not len(pick):
                logger.info("no free valve site over bone near %s%d; nearest scalp used", name, k)
            exps.append(
                ExpanderPlan(
                    twin=name,
                    label=f"{name}{k}",
                    code=lay.item.code,
                    custom=lay.item.custom,
                    base=lay.base,
                    centre_mm=centre,
                    frame=lay.frame,
                    arc_radius_mm=lay.arc_r,
                    nominal_ml=nominal,
                    target_ml=target,
                    geometric_gain_mm2=g,
                    realised_gain_mm2=eff * g,
                    capacity_mm2=eff * eg.gain_for_volume_mm2(lay.base, nominal),
                    valve_mm=valve,
                    fills=tuple(_schedule(nominal, target, params)),
                    vertices_mm=verts_w,
                    faces=faces,
                )
            )
        provided = float(sum(e.realised_gain_mm2 for e in exps)) + credit
        largest = max((e.realised_gain_mm2 for e in exps), default=0.0)
        capacity = float(sum(e.capacity_mm2 for e in exps)) + credit
        shortfall = max(0.0, need - capacity)
        if shortfall > 0:
            msg = (
                f"scalp of twin {name} can provide {capacity:.0f} mm² of the {need:.0f} mm² "
                f"needed (short by {shortfall:.0f} mm²)"
            )
        elif provided < required_total * (1 - 1e-9):
            msg = (
                f"scalp of twin {name} covers its {need:.0f} mm² defect, but with only "
                f"{100 * (provided / need - 1):.0f} % over-expansion instead of "
                f"{100 * params.over_expansion:.0f} %"
            )
        else:
            msg = (
                f"{counted(len(exps), 'expander')} on twin {name} "
                f"{'provides' if len(exps) == 1 else 'provide'} {provided:.0f} mm² for a "
                f"{need:.0f} mm² defect ({100 * params.over_expansion:.0f} % over-expansion)"
            )
        held = float(sum(e.target_ml for e in exps))
        asked = params.fill_ml_per_cm2 * required / (1.0 + params.over_expansion) / 100.0
        if exps and shortfall == 0 and held < asked * (1 - 1e-9):
            msg += (
                f"; its new expanders hold {held:.0f} mL, "
                f"{100 * held / need:.1f} mL per cm² of defect, under the "
                f"{params.fill_ml_per_cm2:g} mL per cm² below which scalp expansions needed "
                "revision more often (Aya et al. 2014)"
            )
        if ex is not None and ex.count:
            msg = (
                f"twin {name} already carries {counted(ex.count, 'expander')} ({ex.fill_ml:.0f} mL) "
                f"under {ex.expanded_scalp_mm2:.0f} mm² of scalp, about {credit:.0f} mm² of "
                f"realised gain counted; {counted(len(exps), 'new expander')} proposed off them; "
                + msg
            )
        plans[name] = TwinSkinPlan(
            twin=name,
            defect_area_mm2=need,
            required_mm2=required_total,
            provided_mm2=provided,
            capacity_mm2=capacity,
            shortfall_mm2=shortfall,
            provided_if_largest_fails_mm2=provided - largest,
            expanders=tuple(exps),
            message=msg,
        )
    if separation_date is not None:
        plans = _with_dates(plans, separation_date, params)
    return plans


def _with_dates(
    plans: dict[str, TwinSkinPlan], separation: date, params: ExpanderParams
) -> dict[str, TwinSkinPlan]:
    last = max((f.day for p in plans.values() for e in p.expanders for f in e.fills), default=0)
    insertion = separation - timedelta(days=last + params.rest_days)
    out: dict[str, TwinSkinPlan] = {}
    for name, p in plans.items():
        exps = []
        for e in p.expanders:
            fills = tuple(
                Fill(f.day, f.add_ml, f.total_ml, insertion + timedelta(days=f.day))
                for f in e.fills
            )
            exps.append(dataclasses.replace(e, fills=fills))
        out[name] = dataclasses.replace(p, expanders=tuple(exps))
    return out


def insertion_day_before_separation(plans: dict[str, TwinSkinPlan], params: ExpanderParams) -> int:
    """Days between expander insertion and separation (last fill + ``rest_days``)."""
    last = max((f.day for p in plans.values() for e in p.expanders for f in e.fills), default=0)
    return last + params.rest_days
