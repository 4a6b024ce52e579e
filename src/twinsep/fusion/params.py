"""Tunable numbers of the fusion analysis (recorded in ``plan.json`` ``parameters``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OutOfScopeMode = Literal["error", "warn"]
OUT_OF_SCOPE_MODES: tuple[str, ...] = ("error", "warn")

#: Threads for the exact distance transforms of the fusion analysis (``edt``'s
#: ``parallel``). Each output voxel is computed the same way whatever the thread count,
#: so results do not depend on it; 2 matches the 2-core laptop of the 60 s target
#: (issue #10). Not a tunable of the analysis, so not in :class:`FusionParams` (whose
#: fields enter the plan cache key).
EDT_THREADS: int = 2


@dataclass(frozen=True)
class AxisParams:
    """Evidence weights and thresholds of the long-axis / face detector (fusion/axes.py).

    The detector needs no long neck: it combines the extracranial tissue below the
    cranium (face, skull base, whatever neck the scan holds), the directions in which
    that tissue lies, the cranial cavity's exit toward the spine, and, when the scan
    ends inside the head (through the cavity or just below it), the scan's cut face.
    """

    vault_percentile: float = 25.0
    """Percentile of the skin's distance (mm) from the cranial cavity taken as the
    scalp+skull thickness over the vault (most of the skin lies over the vault; the
    face, skull base and neck are the thick minority). Infants measure 6-9 mm,
    adults 12-16 mm (Colin27: 15 mm)."""

    thick_factor: float = 2.0
    """Tissue farther from the cavity than this many vault thicknesses (and at least
    ``FusionParams.scalp_skull_mm``) is extracranial: face, skull base, neck. Twice the
    vault keeps a thick forehead or occipital scalp out and the face and neck in."""

    directions: int = 600
    """Number of direction bins on the sphere (Fibonacci lattice, about 8 deg apart)
    for the footprint of the extracranial tissue."""

    bin_min_ml: float = 0.05
    """A direction bin counts as covered by extracranial tissue when it holds at least
    this volume (mL, 50 mm^3): a few voxels of noise do not make a face."""

    exit_slab_mm: float = 10.0
    """Thickness (mm) of the lowest slab of the cranial cavity (along the first down
    estimate) whose centroid is the cavity exit (foramen magnum, brainstem, spinal
    canal when the scan holds it)."""

    weight_mass: float = 0.0
    """Weight of the mean direction of the extracranial tissue volume. It is dominated
    by the neck when the scan holds one and by the face when it is cropped (Colin27:
    33 deg off), so by default it is reported but not used."""

    weight_footprint: float = 1.0
    """Weight of the mean of the direction bins covered by extracranial tissue (each
    direction once: a large face and a small neck count by the angle they span, not by
    their volume)."""

    weight_exit: float = 1.0
    """Weight of the direction of the cavity exit."""

    face_tilt_deg: float = 10.0
    """Rotation (deg) of the cue-based down direction away from the face, used when no
    neck is found: the tissue below the cranium includes the face, in front of the
    neck-vertex line, so the footprint and exit lean toward the face. Measured lean of
    the unweighted cue mean: 9 deg on the twinsep phantom heads, 12 deg on the
    hand-made test heads, 17 deg on the real Colin27 head (adult, MNI frame)."""

    neck_agree_deg: float = 25.0
    """The neck (end of the extracranial tissue along the down direction) is used as the
    long axis when it lies within this angle (deg) of the combined cue estimate, or of the
    skull-base footprint cue alone (the cavity-exit cue leans toward the face on an oval
    cavity with no visible exit: 26-34 deg on the independent test phantom); farther from
    both, the farthest tissue is the face of a cropped scan (Colin27: 40 deg), not a neck
    (phantoms with necks: 9-14 deg)."""

    neck_slab_mm: float = 15.0
    """Thickness (mm) of the end slab of extracranial tissue, along the down direction,
    whose centroid is the neck point (at least two voxels)."""

    neck_iterations: int = 3
    """Refinements of the neck direction by the end slab (converges in 2-3)."""

    weight_skull_base: float = 1.0
    """Without a neck: weight of the skull-base estimate (footprint + exit, tilted by
    ``face_tilt_deg``) in the final down direction. The walls inside a neck's cut that
    are a tube pointing back at the brain centre are a neck: their axis is then used
    alone (bench_blind_clinical vt90-c15-all-1.2mm 175.4 -> 179.05 deg in process)."""

    weight_open: float = 2.0
    """Without a neck: weight of the cavity's cut face (brain or CSF against background
    or the array edge: where the scan cut the head, the body continues)."""

    cut_agree_deg: float = 20.0
    """Up to this angle (deg) between the skull-base estimate (footprint + exit, tilted)
    and a confirmed cut plane's normal, the skull base keeps its full weight
    ``weight_skull_base``: the skull-base estimate's own error, its lean toward the
    face, measures 9-17 deg (``face_tilt_deg``) and 15-20 deg on the real Cranium CT
    and Colin27 against cuts 0-5 deg from the truth. Beyond it the weight fades
    linearly to 0 at ``cut_alone_deg``: a skull base farther off is cut short (a face
    and cavity cut short leave it without its lower half), not leaning."""

    cut_alone_deg: float = 40.0
    """From this angle (deg) between the skull-base estimate and the cut's normal, twice
    the skull base's own error (``cut_agree_deg``), the cut alone gives the down
    direction. The fade from ``cut_agree_deg`` keeps the axis a continuous function of
    the cues: the previous rule switched from the mean to the cut alone at 40 deg, and
    on real-ct-vertical at 3 mm, where the twins' skull bases lie 37-47 deg from the
    cut, one twin read 0.1 deg off and the other 12.9 (now 2.4 / 0.1). Measured: real
    CT and Colin27 at 1-2 mm 12-26 deg (weights 1.0-0.7; axis errors unchanged or
    0.1-1.9 deg smaller), phantoms cut across the brain 48-96 deg (cut alone, as
    before); docs/orientation.md."""

    cut_plane_agree_deg: float = 20.0
    """An uncovered cavity piece (``open_*``) is the scan's cut only when the skin is
    cut flat along the same plane (a scan cuts the whole body; a bone defect or the
    thin-covered crease between joined heads uncovers cavity under curved skin). The
    skin whose outward voxel normals lie within this angle (deg) of the most common
    one near the piece's normal is fitted with a plane (within ``body_cut_depth_mm``),
    whose normal must lie within this angle of the piece's, and which must hold the
    piece's centre within ``open_cover_mm`` plus its depth. Measured on phantoms and
    hand-made heads cut across the brain (0.3-1.0 brain depths, tilts 0-20 deg,
    oblique grids): 0.0-0.6 deg apart, 0.3-1.9 mm off the plane; on the uncovered
    pieces in the crease where the real-CT heads join (30 deg and 20 deg oblique
    grids, 468-608 mm^2 at 1 mm, flatness 0.37-0.39): 58-91 deg apart, and 23 deg
    (18 mm off the plane, 48 mm^2 of skin) for a 2840 mm^2 piece at 2 mm. 20 deg also
    spans the stair-step scatter of voxel normals on a plane oblique to the grid
    (about two 8 deg direction bins)."""

    cut_support_ratio: float = 0.5
    """...and that flat skin patch must cover at least ``body_cut_min_mm2`` (a whole
    head's skin never holds such a flat patch) and this fraction of the uncovered
    piece's area (both projected on their planes, mm^2): the body's cut face holds the
    cavity's plus the skull and scalp around it, but voxel normals on an oblique grid
    miss part of it. Measured 0.70-1.87 (2035-10 139 mm^2) on the cut heads above;
    0.02-0.41 on the real-CT crease pieces, and 0.36-0.59 (318-534 mm^2) on a 30 deg
    bone window under 2.5 mm of scalp on a hand-made head (the test's window: a
    spherical cap looks flat within 20 deg and 3 mm, but only over a small area)."""

    body_cut_normal_deg: float = 10.0
    """Skin normals within this angle (deg) of a seed bin's direction start a candidate
    flat patch where the scan cut the body, and within this angle of the patch's fitted
    plane they keep belonging to it as it grows (``fusion.axes._flat_patch``)."""

    body_cut_smooth_vx: float = 1.9
    """The skin normals are averaged over this radius (voxels of the grid's mean step)
    before the flat-patch search bins and grows them (``fusion.axes.smoothed_normals``):
    a ball cut by a plane oblique to a 1 mm grid, 8 directions, voxel normals 64-99 %
    within 10 deg of the plane's, averaged over 1.8 mm all of them. 1.9 lies between an
    isotropic grid's neighbour distances sqrt(3) and 2, so that no neighbour sits on the
    radius, where a turned storage's rounding would decide."""

    body_cut_seeds: int = 8
    """Bins of the skin normals' lattice that seed a flat patch each (the fullest of
    those holding more normals than the bins around them); the largest grown patch is
    the candidate cut. The cut's own bin is not always the fullest: on the real CT
    resampled onto a grid turned 30 deg it was second, after the terraces of a curved
    side square to the grid (docs/orientation.md, "Flat patches grown from their
    plane")."""

    body_cut_depth_mm: float = 3.0
    """Candidate skin points within this distance (mm, at least one voxel) of the
    patch's plane count toward its area."""

    body_cut_min_mm2: float = 2000.0
    """Area (mm^2) from which the flat skin patch is the scan's cut through the body
    (used when the cavity is not cut). Measured: whole phantom heads' largest flat
    patches 290-1340 mm^2 (12 kinds, 96/128), phantoms cut 1.3-1.6 brain depths below
    the brain centre 2440-3230 mm^2, the real Cranium CT's cut 19 200-19 600 mm^2."""

    body_cut_reach_mm: float = 60.0
    """A flat patch of ``body_cut_min_mm2`` or more whose centre lies farther (mm) than
    this from the bulk of the cranial cavity (the cavity deeper than
    ``FusionParams.scalp_skull_mm`` inside it) is the scan's cut through the body below
    a whole neck (chest, shoulders, arms), not a cut just below the head; it is no cue
    when it also lies more than ``cut_agree_deg`` from the skull-base cues (a head
    tilted in the scanner), nor, when it agrees with them, where the neck followed to
    the scan's end is confirmed by its walls there (the cut is then averaged with the
    skull-base estimate, which leans to the face: 3.5-5.1 deg off on generated heads on
    bodies, 8.5 and 11.7 on one twin of the bodies blind vt-c15-full and
    at120-p15-full, against 0.4-0.9 from the neck). Measured: the real CT twins and
    Colin27 cut at the skull base 27.0-31.1 mm (20 rows of
    ``benchmarks/fusion_axes_table.py``); the bodies blind cases cut 20 mm below the
    shoulders 75-78 mm (their cut agrees with the skull base and, the neck's end slab
    sliding onto the shoulders, is kept), the angular unions cut through the chest
    198-201 mm, the 1.5 mm overhead case 160 mm."""

    neck_cut_min_mm2: float = 400.0
    """Area (mm^2) from which a flat patch smaller than ``body_cut_min_mm2`` that ends the
    body along its normal (nothing of the twin beyond it, below the brain centre) is the
    scan's cut through the neck or jaw, when the plane crosses the neck's end slab. It
    replaces the neck cue when the neck lies more than ``cut_agree_deg`` from its normal
    (the end slab then holds the cut jaw and the neck direction slides onto the chin)
    and the cavity's exit does not side with the neck (``exit_distinct_deg``: an
    oblique cut across a straight neck). Measured: the hand-made test heads (neck
    radius 17 mm) and phantoms cut at the chin or jaw, their necks 26-57 deg from the
    cut's normal (faces read backwards); whole heads' necks 3-10 deg from their own flat
    end (a hand-made head on a random grid: 10.1 deg, 507 mm^2). 400 mm^2 is
    ``open_min_mm2``; a few voxels' flat facet on a curved head is less."""

    tube_length_mm: float = 15.0
    """Skin up to this far (mm) inside a cut of the body (the body cut or the neck or
    jaw cut) is tested as the tube of a neck: its axis, not the cut's normal, is the
    direction the body continues in (a neck crossed obliquely by the scan's edge).
    Measured on the blind phantoms' necks cut 25-45 deg obliquely at 3 mm: tube axes
    0.2-4.6 deg from the true neck at 15, 25 and 40 mm alike, the cut's normals
    25-45 deg. 15 mm: the hand-made test heads' necks (17 mm radius) leave 25 mm of
    wall reaching the skull's sphere and the chin where 15 mm is a tube (a pair turned
    20 deg: 20.0 deg off at 25 mm, 0.7 at 15)."""

    tube_radius_factor: float = 1.5
    """Walls of the tube: skin within this many equivalent radii (``sqrt(area / pi)``
    of the cut) of the cut's centre, measured across the cut's plane."""

    tube_wall_deg: float = 30.0
    """Skin whose outward normal lies within this angle (deg) of the cut's (or its
    opposite) is not a wall: the cut face itself, a chin's underside. A neck's walls
    lie 90 deg minus the cut's obliquity from it (>= 45 deg up to 45 deg of
    obliquity)."""

    tube_normal_sigma_vx: float = 1.0
    """The walls' normals are the gradient of the body's signed distance smoothed by
    this many voxels (Gaussian sigma), not the voxel's own normal (the mean offset to
    its background neighbours, a few dozen directions: on necks oblique to the grid
    they leaned the tube's axis 2.5-4 deg; a voxelised cylinder 15-35 deg oblique to
    the grid: 2.1-3.5 deg, 0.2-1.0 from these). A negative value keeps the voxel
    normals."""

    tube_max_ratio: float = 0.1
    """The walls form a tube when the smallest eigenvalue of their normals' scatter is
    at most this fraction of the middle one (the normals lie in a plane, the axis
    perpendicular to it). Blind phantom necks: 0.01-0.04."""

    tube_trim_deg: float = 15.0
    """Walls whose outward normal lies more than this (deg) from perpendicular to the
    fitted axis are not the tube's (the neck flaring into the chin's underside or the
    skull within ``tube_length_mm`` of the cut) and are dropped before the axis is
    fitted again (inside a neck-sized cut only). Blind phantoms: untrimmed tube axes
    8-9 deg off on square-cut necks (their flare into the chin) and 9-13 at 1.2 mm
    (with the airway's walls); trimmed, from the skin facing the room: 0.2-3 (see
    docs/orientation.md, 'The neck's own axis', 2026-11-27)."""

    tube_keep_share: float = 0.7
    """The walls form a tube only when at least this share of them (of the skin area
    they stand for, ``axes._skin_area_mm2``) is kept by ``tube_trim_deg``: a neck's
    walls keep 0.81-0.97 (blind phantoms, hand-made pairs; counted voxels, before the
    area weights); the skull's sphere and the chin seen 15 mm inside a cut just below
    the chin keep 0.52 (the hand-made pair turned 20 deg and cut 85 mm from its centre,
    whose trimmed walls gave an axis 86 deg off). By area the share does not depend on
    the slices: a flared neck whose band holds 0.635 of its area on the neck reads
    0.65-0.73 from 1 mm to 1 x 1 x 3 mm voxels, counted 0.39-0.71
    (tests/fusion/test_axes_thick_slices.py)."""

    tube_fit_deg: float = 10.0
    """Once the walls are a tube (``tube_trim_deg``, ``tube_keep_share``), its axis is
    fitted again, three rounds, to the walls whose normal lies within this angle (deg)
    of perpendicular to it: the smoothed normals' own scatter on a clean voxelised
    cylinder (radius 17 mm, 1-4 mm grids, 0-45 deg to the grid: 99th percentile 1.5-10.3
    deg, at most 2.5 % of its walls beyond 8). Between it and ``tube_trim_deg`` lies
    the neck's mild flare into the chin, on one side only: phantom3's straight necks
    cut square by the array's end read 0.3-3.2 deg off, every twin toward its face, on
    truth and planned labels alike. Inside a neck-sized cut only (with the trim). The
    trim itself at 10 (or 8) instead lost the tube of the hand-made pair turned 30 deg
    and cut 85 mm from its centre (keep share under ``tube_keep_share``: 24.5 / 28.7
    deg off, tests/fusion/test_axes_oblique_neck), at 6 that of several phantom3 necks
    (17 deg off)."""

    neck_tube_agree_deg: float = 2.0
    """Where a neck-sized cut's tube confirms the neck (``cut_agree_deg``), the neck's
    direction is the tube's axis, or the mean of that axis and the direction to the
    centroid of the neck's end slab when the two lie within this angle (deg) of each
    other (the mean then moves the axis by at most half of it). The mean within 5 deg
    (until 2026-11-27) hedged the walls' axis from voxel normals (2-4 deg off on 3 mm
    grids); from smoothed normals (``tube_normal_sigma_vx``) the walls' axis is good to
    about 1-2 deg and the end slab, which leans 2-10 deg on the blind phantoms (a neck
    behind the brain centre, an oblique section, the flare into the chin), pulled it
    off there: blind phantom and blind MR angular unions, planned labels, per-twin mean
    1.08 deg within 5, 0.85 never (2.13 with voxel normals). Never averaging cost the
    straight whole necks of the twinsep.phantom vertical kinds 1.0-1.3 deg on five
    twins (end slab 0.9-2.2 deg off); within 2 deg they are 0.5-0.7 worse than with
    voxel normals, the blind and MR rows as without the mean (docs/orientation.md,
    'The neck's walls' normals')."""

    tube_min_cover: float = 0.4
    """The walls (the skin area their voxels stand for, ``axes._skin_area_mm2``; until
    the area weights ``prod(spacing) ** (2/3)`` mm^2 each) must cover at least this share
    of the side of a tube of the cut's equivalent radius and ``tube_length_mm``. Measured: blind phantom necks 0.70-1.2, hand-made pairs' necks
    0.51-0.66, whole twinsep.phantom necks 0.52-1.15 but 0.10-0.37 where the band
    reaches only the neck's rounded end (20 walls on a random grid gave an axis 11 deg
    off, the end slab 3.8)."""

    tube_room_mm: float = 8.0
    """Air enclosed by the body within this radius (mm; a closing of both twins'
    tissue) is not the room: the airway's, mouth's and nose's walls are not the neck's
    outer skin and are left out of the tube."""

    neck_widen_ratio: float = 2.0
    """Where a cut does not run along the head's cues, the body is followed from the
    head along them for its neck: the narrowest section (area across the skull-base
    estimate) between the cavity's lowest point and the body's end is a neck when some
    section beyond it is at least this many times larger (the shoulders and trunk: an
    infant's or adult's chest section is 4-8 times its neck's; a scan ending in the
    neck or at the skull base shows no such widening). The walls around it, a tube
    (``tube_length_mm``, ``tube_min_cover``) whose axis points back at the brain
    centre, are the neck; a cut whose direction lies more than ``cut_agree_deg`` from
    them crosses some other part of the body (a trunk leaving the array through a side
    of a field of view cropped to the heads) and is not a cue."""

    exit_distinct_deg: float = 10.0
    """The cavity-exit cue is evidence of its own (to tell a scan cut oblique to a straight
    neck from a neck drawn toward a cut jaw, ``neck_cut_min_mm2``) only when it lies at
    least this far (deg) from the first down estimate: on a round cavity without an
    exit it repeats that estimate (hand-made test heads 0.0-0.3 deg), on heads with a
    foramen magnum and spinal canal it does not (phantoms 20-30 deg)."""

    open_cover_mm: float = 6.0
    """Cavity voxels with background (or the array's edge) closer than this (mm) are
    uncovered: the scan's cut face. Scalp + skull over the vault measure >= 6 mm in
    infants (scalp 3-4 mm + bone 2 mm; less only over a fontanelle, a small patch) and
    12-16 mm in adults; Colin27's cavity ends 4-6 mm from its field's edge, the real
    Cranium CT's at the background next to it."""

    open_min_mm2: float = 400.0
    """Largest connected piece of the uncovered cavity (mm^2, voxels times the mean
    voxel face) from which it is a cut face: the real Cranium CT shows 660 mm^2 at 2 mm,
    Colin27 1650 mm^2; an anterior fontanelle under thin scalp is a smaller patch
    (phantoms: at most 40 mm^2)."""

    open_flatness: float = 0.4
    """The cut face is used when the smallest spread of its points (SVD) is at most this
    fraction of the middle one: a scan cuts along a plane (real CT 0.0, Colin27 0.25);
    its normal, away from the brain centre, is the down cue."""

    min_axis_strength: float = 0.9
    """Agreement (length of the mean of the unit cue directions, 1 = identical) below
    which the long axis is reported as uncertain (0.9: cues spread over about 25 deg)."""

    min_extracranial_ml: float = 5.0
    """Extracranial tissue (mL) below which the head cannot be oriented reliably (an
    infant face alone is over 50 mL)."""

    min_orient_ml: float = 1.0
    """Extracranial tissue (mL) below which, with no scan cut either, the head is not
    oriented from its anatomy at all: its long axis is assumed to point at the junction
    (a head that shows no face, skull base or neck). Plain layered heads leave 0 mL; a
    neck stub of 4 mL left beside a junction under the chin still orients its head
    correctly (an out-of-scope fusion must be seen as one), and 1 mL (a few dozen
    voxels at 2-3 mm) is far below any face or neck."""

    junction_check_deg: float = 120.0
    """Consistency check: a junction (boundary with the other twin) farther than this
    angle (deg) from the vertex direction makes the orientation doubtful (craniopagus
    joins the calvaria; the out-of-scope rule is applied by the analysis)."""

    mirror_tilt_deg: float = 15.0
    """The face measured from the protrusions is checked against the head's bilateral
    symmetry: mirror planes holding the long axis, turned about it over a full half-turn
    from a reference fixed by the axis alone and tilted out of it by up to this angle
    (deg; the long axis found leans up to 5-10 deg out of the true midline plane), are
    tried, and the face is taken in the plane whose mirror image of the skin fits the
    skin best (on the measured face's side). The protrusions' mean turns by about 1.3
    deg per degree the long axis leans sideways (they lie 30-60 deg from it) and follows
    any one-sided error of the labels under the skull base (Colin27 real-angular
    segmented: faces 15-18 deg off, the mirror plane 1-3 deg); an arm lying over the
    head pulls it 57-81 deg (the blind bodies cases). The search does not start from the
    measured face (it reached 85 deg from it before, and the same head's planes scored
    differently from different starts)."""

    mirror_contrast: float = 1.5
    """The mirror plane is used only when the skin's mismatch (mean difference, mm, of
    the body's signed distance between the skin and its mirror image) at every plane
    turned ``mirror_distinct_deg`` or more from the best is at least this multiple of
    the best one's: a head that is round about its axis, or asymmetric, has no distinct
    plane (Colin27, truth and segmented labels: 0.8-2.0 mm at the best plane, 3.3-4.0
    mm 15 deg away)."""

    mirror_distinct_deg: float = 15.0
    """Angle (deg) about the long axis beyond which another mirror plane must fit
    ``mirror_contrast`` times worse than the best."""

    mirror_low_agree_deg: float = 2.0
    """...and the skin below the brain centre (face, jaw, skull base, neck) searched
    alone has its best plane within this angle (deg) of the whole skin's."""

    mirror_min_excess_vx: float = 0.2
    """...and worse by at least this many voxels (mean spacing): a voxelized ball, round
    in every plane, fits the grid's own planes 0.075 voxel better than the others."""


@dataclass(frozen=True)
class FusionParams:
    """Thresholds of the fusion classification and shared-structure inventory.

    Every field: what it is, its unit, why this value, where it comes from.
    """

    angular_below_deg: float = 140.0
    """Long-axis angle (deg) below which the fusion is angular, else vertical.
    Source: Stone & Goodrich, Brain 2006;129:1084."""

    oconnell_type_i_below_deg: float = 40.0
    """Axial face rotation (deg) below which a total vertical fusion is O'Connell type I.
    Source: O'Connell 1976, as restated by Stone & Goodrich 2006."""

    oconnell_type_ii_from_deg: float = 140.0
    """Axial face rotation (deg) from which a total vertical fusion is O'Connell type II
    (between the two limits: type III). Source: as above."""

    scalp_skull_mm: float = 12.0
    """Distance (mm) from a twin's brain/CSF beyond which its tissue counts as
    extracranial (face, neck, ears). Infant skull 2-5 mm + scalp 3-6 mm + margin; a
    larger value misses a small face, a smaller one takes thick scalp for face."""

    bridge_exclusion_mm: float = 15.0
    """Tissue closer (mm) than this to the other twin is bridge, not face or neck."""

    face_band_deg: tuple[float, float] = (35.0, 120.0)
    """Angles (deg) from the neck direction, seen from the brain centre, within which
    extracranial tissue is searched for the face (the face lies in front, between the
    neck and the equator; ears are symmetric and cancel)."""

    axes: AxisParams = AxisParams()
    """How each twin's long axis and face are found (:mod:`twinsep.fusion.axes`)."""

    vertex_site_deg: float = 35.0
    """Bridge direction within this angle (deg) of a twin's vertex direction: vertex site."""

    frontal_site_deg: float = 55.0
    """Bridge azimuth within this angle (deg) of the face direction: frontal site; within
    it of the back of the head: occipital; otherwise parietal."""

    out_of_scope_deg: float = 115.0
    """Bridge direction more than this angle (deg) from a twin's vertex direction reaches
    the face or skull base: not craniopagus (Stone & Goodrich: calvarial union only)."""

    out_of_scope_doubt_deg: float = 6.5
    """The long axis' own error (deg) in the scope rule (:mod:`twinsep.fusion.scope`):
    the fusion is refused only when its elevation, read as segmented and with one voxel
    layer of skin added and taken off, lies more than this beyond ``out_of_scope_deg``
    every time; within this of the limit (either side) the plan is made with a warning
    naming the readings. 6.5 deg is the larger per-twin axis error on the real CT
    twins (bench_turned_frames at cf9ebb3: A 6.49, B 5.61 deg); the outside probe's
    ``pa100-p30-lps-noneck`` lies 115.8 deg from twin B's vertex by construction
    (twinsep's bridge centroid from the true brain centroid along the true axis), so
    a hard 115 flips on any error of its axis."""

    out_of_scope_check_deg: float = 25.0
    """A twin's elevation within this angle (deg) of ``out_of_scope_deg``, or beyond
    it, or from an assumed axis, is read again with one voxel layer of skin added and
    taken off on the frames' grid (two more frames per twin; below, the one reading
    stands). When one voxel layer then leaves the axis without anatomy (the axis
    assumed toward the junction), a reading within this angle of the limit is
    borderline: the hand-made heads with a face but no neck, whose axes one layer
    leaves without anatomy, read their fusions 25 deg under to 30 deg over their
    construction at 100-150 deg (tests/fusion/handmade_pairs.py)."""

    out_of_scope: OutOfScopeMode = "error"
    """``"error"``: a face/skull-base fusion raises AnatomyError (exit 2, no plan);
    ``"warn"``: the plan is made with a loud warning (for research use)."""

    sinus_min_side_ml: float = 0.02
    """A vessel component is a shared sinus when at least this volume (mL) lies in each
    twin (20 mm^3: a 5 mm sinus over 1 mm; excludes a vessel that only grazes the
    boundary)."""

    sinus_min_cross_mm2: float = 7.0
    """...and it crosses the twin boundary with at least this area (mm^2): a 3 mm
    diameter vessel. Dural sinuses of infants are 4-8 mm across; scalp and cortical
    veins crossing the bridge are smaller and do not make a fusion total."""

    sinus_min_cross_faces: int = 6
    """...and its section on the twin boundary holds at least this many voxel faces
    between its twin A and twin B voxels. A sub-voxel link between two separate sinuses
    (a suture or a thin dura between them, brightened by partial volume) shows as a chain
    about one voxel across: 0-4 faces on the 2.6-3.7 mm grids of the partial
    ``twinsep.phantom`` kinds; shared sinuses crossed with 1-20 faces on those grids (a
    7 x 3 mm lumen), >= 34 on the blind phantoms and >= 20 at 1.2 mm (docs/separation.md,
    "Shared sinus or two sinuses touching"). A crossing under this or under
    ``sinus_min_cross_mm2``, with ``sinus_min_side_ml`` on both sides, is decided by the
    cranial cavities (``fusion.shared._judge_narrow``): shared where the brains touch over
    ``inferred_total_contact_min`` of the bridge, two sinuses touching where the cavities
    are apart by the partial limits, unresolved in between. So is a crossing of 0 faces,
    where the component's twin A and B voxels touch only along an edge or a corner (the
    26-connected component still passes from one twin into the other)."""

    crossing_merge_mm: float = 10.0
    """Places where a shared sinus crosses the boundary closer than this (mm) are one
    crossing (a sinus 4-8 mm wide, cut by a voxel grid, touches in several patches)."""

    circular_coverage_deg: float = 270.0
    """A shared sinus component that, within a quarter of the bridge radius of the
    junction, surrounds the bridge axis over at least this azimuth (deg) is called
    circular (circumferential); otherwise shared sagittal, possibly helical (Kobets
    2025). Two helical sinuses may cover all azimuths together but not one alone."""

    brain_contact_gap_mm: float = 2.0
    """The brains of the two twins are in contact where the layer between them, across
    the twin boundary, is at most this thick (mm): infant dura about 1 mm plus a thin CSF
    film. Thickness = distance from the boundary to twin A's brain + to twin B's brain
    (voxel centres) minus one voxel (the largest spacing). A label map cannot show a
    layer thinner than one voxel, so a one-voxel layer always counts (see
    ``brain_contact_layer_vx``). No bone may lie in the layer (bone between the brains
    means separate skulls: a partial form)."""

    brain_contact_layer_vx: float = 2.5
    """The thickness limit is at least this many voxels (largest spacing): a dural layer
    thinner than a voxel shows as one voxel, or as two when it straddles a voxel
    boundary (measured 2 voxels between the centres), and up to about 2.5 when crossed
    obliquely. Measured on the 12 phantom kinds (3 mm voxels, axis-aligned and random
    orientations): 1.0 found 40 % of the contact, 1.5 missed an axis-aligned two-voxel
    layer (0 of 4471 mm^2), 2.5 gives -3..+7 %; partial forms stay 0 because of the
    bone rule, not the thickness."""

    brain_contact_min_mm2: float = 30.0
    """Contact patches (connected pieces of the boundary) smaller than this (mm^2, a disc
    of about 6 mm) are dropped: a few voxels where two partial-volume rims come close
    are not brain contact."""

    brain_shared_min_mm2: float = 30.0
    """Brain-to-brain contact area (mm^2) from which brain tissue is reported as shared."""

    venous_evidence_min_ml: float = 0.5
    """Labelled vessels (mL, whole scan) below which the scan holds no evidence on the
    venous sinuses (a non-contrast CT): completeness cannot be told and a warning says
    so. An infant superior sagittal sinus alone is several mL."""

    inferred_total_contact_min: float = 0.25
    """Without visible sinuses (a CT without contrast): total is inferred when the brains
    are in contact (``SharedInventory.brain_contact_area_mm2``) over at least this share
    of the bridge area (one cranial cavity, where the sinuses are shared). Plain-CT copies
    of the generated families (docs/separation.md): total forms 0.37-0.58, partial forms
    0-0.10 (each twin's largest brain piece only); 0.25 sits 1.5x under the lowest
    total."""

    inferred_partial_contact_max: float = 0.10
    """Without visible sinuses: partial is inferred only below this brain-contact share
    of the bridge (and below ``inferred_partial_open_max``). Partial forms read 0-0.06,
    vertical-partial 0.09-0.10 (one run of four falls between the two limits, where the
    safer reading, total and staged, is taken)."""

    inferred_partial_open_max: float = 0.25
    """Without visible sinuses: partial is inferred only when the share of the bridge
    with brain, CSF or vessel on both sides (cavities communicating without bone) is
    below this. Measured: partial forms 0.01-0.21; total forms 0.41-0.67."""

    bridge_waist_factor: float = 1.5
    """The bridge spans the cross-sections (along the shared axis) whose area is at most
    this factor times the narrowest one; its length is that span (mm)."""

    bone_band_mm: float = 20.0
    """Shared bone is looked for only within this distance (mm) of the twin boundary:
    the bridge's waist of fusions up to 40 mm long; the face and skull base, farther
    away, are never shared bone (docs/separation.md, shared bone)."""

    bone_span_min_share: float = 0.1
    """A piece of bone near the twin boundary (face-connected, within ``bone_band_mm``)
    is bone the separation must cut, and may hold shared bone, only when each twin owns
    at least this share of it. Measured (truth and segmented labels): every crossing
    piece of the 12 phantom kinds (96) and the 24 blind plans 0.29-0.50; Colin27
    real-vertical, whose two skulls face each other across scalp, 0 (truth) and 0.002
    (segmented: 0.1 of 59.6 mL, twin B's vault touching a few voxels given to A)."""

    head_fit_min_points: int = 200
    """Fewer usable scalp points than this: no head fit, the shared bone is reported as
    0 with a note (too little intact vault to tell what is shared)."""

    smooth_sigma_vx: float = 1.0
    """Gaussian smoothing (voxels) of the side indicator before marching cubes, for
    surface areas (keeps planes within 1 %, see fusion/surface.py)."""
