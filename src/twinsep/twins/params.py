"""Tunable numbers of twin assignment."""

from __future__ import annotations

from dataclasses import dataclass, field

from twinsep.segment.implants import ImplantParams


@dataclass(frozen=True)
class BodyParams:
    """Numbers of :func:`twinsep.twins.body.split_head_body` (a twin's head and neck vs its
    body below the shoulders, when the scan holds the chest)."""

    far_brain_radii: float = 1.6
    """Tissue farther from the twin's brain centroid than this many brain radii (the
    radius of a ball of the brain's volume, ~50 mm at 6 months) is the neck or beyond:
    its centroid gives the direction the neck leaves the head."""

    min_far_ml: float = 20.0
    """Less tissue than this (mL) that far from the brain: no neck in the scan, the
    whole twin is head."""

    bin_mm: float = 5.0
    """Thickness (mm) of the slabs across the neck direction whose tissue
    cross-section is profiled."""

    shoulder_ratio: float = 1.5
    """The shoulders are where the cross-section, walking from the head down the neck,
    first reaches this multiple of the narrowest one above it (the neck): a 6-month
    neck is ~60-70 mm across, the shoulders 150-200 mm wide; a jaw or a scan cut
    through the neck never widens again."""

    shoulder_top_ratio: float = 1.25
    """A scan that ends at the shoulders (the twin's tissue meets the scan's edge below
    the neck): a slab cut by the edge that reaches this multiple of the narrowest whole
    slab (the neck) is the start of the shoulders (a cut neck never widens so much)."""

    knee_ratio: float = 1.1
    """Once the shoulders are found, their top is where the cross-section, profiled in
    a window of ``bin_mm`` slid along the neck by ``knee_step_mm``, first reaches this
    multiple of its narrowest value above them, walking down from that narrowest place
    (interpolated between steps): the neck's own cross-section varies by less (the
    airway, voxels), the shoulders' slope passes it within a few mm however slowly the
    trunk widens below."""

    knee_step_mm: float = 0.5
    """Step (mm) at which the sliding cross-section is read for the shoulders' top."""

    grid_mm: float = 2.0
    """The profile is read on voxels at least this far apart (mm): strided, for speed
    on fine grids."""

    limb_cover_mm: float = 15.0
    """Tissue within this distance (mm) of a twin's cranial cavity (brain, CSF) is its
    head's own covering (scalp and skull of an infant: 5-10 mm)."""

    limb_neck_margin_mm: float = 5.0
    """The neck's column reaches this far (mm) beyond the widest point of the neck's
    piece of its narrowest slab, from the neck's axis."""

    limb_min_ml: float = 50.0
    """Smallest part (mL) of a twin's tissue above the shoulder level, outside its
    head's covering and its neck's column and joined to the body below the level, that
    is a limb (a raised arm: 70-300 mL above the level); smaller parts (the tops of the
    shoulders, 5-25 mL) stay with the head. 0 turns the limb rule off."""


@dataclass(frozen=True)
class TwinParams:
    """Parameters of :func:`twinsep.twins.assign_twins`."""

    coarse_mm: float = 2.5
    """Voxel size (mm) of the grid on which the two heads are found and grown; the
    boundary is later refined by the separation surface, and ownership is scored
    outside a 15 mm band, so 2-3 mm is ample."""

    max_coarse_voxels: int = 1_500_000
    """The coarse voxel is enlarged until the grid has at most this many voxels (keeps
    the geodesic growth near a second on 2 cores)."""

    core_fractions: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    """Fractions of the deepest intracranial depth at which the cranial cavity is cut to
    look for two separate cores (one per head), from shallow to deep."""

    second_head_min_depth: float = 0.55
    """The second core must reach this fraction of the first core's depth: a smaller
    co-twin still has a cavity more than half as deep; a lobe of one brain does not
    survive the cut as a separate deep core."""

    min_head_separation: float = 0.6
    """Centres of the two cores must be at least this many cavity radii apart; widely
    merged total vertical unions put the two deepest points only ~0.8 radii apart."""

    max_waist_ratio: float = 0.98
    """Between the two cores the cavity must narrow: smallest cross-section / largest
    below this. Two joined heads narrow at the union; two depth maxima inside one
    convex cavity have the widest section between them (ratio 1)."""

    min_saddle_dip_mm: float = 1.0
    """A second depth peak of the cranial cavity counts as a second head when the two
    peaks are joined only through depths at least this much (mm) below the lower peak.
    The depth map of a convex cavity is concave, so one head has no such saddle; on
    single phantom heads the discretised map gave dips of at most 0.14 mm, while the most
    overlapped total vertical unions (cavity 1.37x longer than wide) dip 2.25-3.6 mm.
    The depth-threshold split uses it too: a piece is a second head only when its peak
    rises this much above the split level (a one-voxel staircase bump 0.04 mm above it
    passed as head B on a 5 mm slice grid, ``tests/twins/test_heads_thick.py``)."""

    core_rise: float = 0.5
    """Where each head core is cut, as a fraction of the way from the level at which
    the cavity first splits (or the saddle) up to the lower of the two depth peaks.
    At the split level both pieces reach into the union and noise decides which
    reaches farther (on a 3.25 mm angular phantom one core ended 13 mm past the true
    boundary and took the other twin's face); halfway up, each core is a compact region
    around its own head's deepest point and the fronts meet at the union. 0 keeps
    the pieces at the split level, 1 shrinks them to the peak voxels."""

    fine_depth_mm: float = 2.5
    """When the coarse voxel is larger than this (mm; a scan coarser than ``coarse_mm``),
    the heads are found on a twice finer copy of the cavity smoothed by half a voxel.
    The staircase of a 3.1-3.2 mm grid hides the saddle between two merged heads: the
    vertical-III phantom at 3.07-3.19 mm showed dips of 0.92-2.31 mm between its two
    depth peaks (two of four seeds under ``min_saddle_dip_mm``, refused as one head),
    1.9-2.2 mm on the finer copy, and 0.0 mm for one of its heads alone. Skipped when
    the finer copy of the cavity's box would exceed ``max_coarse_voxels``."""

    max_speck_ml: float = 1.0
    """Largest hole inside the cranial cavity (mL) filled before the head cores are found
    (:func:`twinsep.twins.heads.fill_specks`): calcifications and deep vessels labelled
    bone are far smaller; an enclosed skull base (tens of mL) is not filled."""

    min_head_ml: float = 60.0
    """Smallest cranial cavity (mL) counted as a head; a 24-week fetus has ~60 mL."""

    outline_min_cavity: float = 0.15
    """The one-head rule (:func:`twinsep.twins.heads_outline.check_two_outlines`) looks
    only at two cores between which the cavity's cross-section dips by at least this
    fraction (below it the cavity gives no evidence either way)."""

    outline_min_share: float = 0.1
    """Two cores are one head when the head's outline narrows between them by less than
    this share of the cavity's narrowing. Two joined heads: (R / (R + s))^2 of it in
    theory (0.7 for an infant, cavity radius R, coverings s); measured 0.43-0.98 on the
    phantom kinds, merged balls, the Colin27 and real-CT twins and the blind MR phantom,
    but 0.198 / 0.200 (truth / planned labels) on the blind shapes layer's partial
    vertical union of a hydrocephalic head with a head of 0.75 its length
    (vp-c15-small75-hydroA, refused at 0.2, the first value). A skull-stripped adult T1
    whose hemispheres were parted (Colin27 ch2better): 0.04-0.05; a brain atlas
    (jhu189): 0.00-0.03. 0.1 lies a factor 2 from either side."""

    outline_cover_mm: float = 20.0
    """The head's outline is the tissue within this distance (mm) of the cavity: the
    coverings (scalp and skull 5-15 mm), not a neck or a body beside the head."""

    outline_close_mm: float = 5.0
    """The outline is closed by a ball of this radius (mm) before its cross-sections are
    taken: a fissure or sulcus open to the air (a brain without its scalp) is not the
    notch where two skulls meet."""

    cost_by_label: dict[int, float] = field(
        default_factory=lambda: {1: 1.0, 2: 1.0, 3: 1.0, 4: 2.5, 5: 4.0}
    )
    """Travel cost per mm through each tissue (label -> cost, background impassable).
    Brain, bone and scalp are fast so each twin's front fills its own head; CSF/dura
    (2.5) and blood (4) are slow, so where the fronts meet inside the bridge the
    boundary settles in the CSF/dural plane or the shared sinus, as surgeons divide."""

    wide_csf_mm: float = 5.0
    """CSF in a body that holds a ball of this radius (mm) on the work grid - a
    ventricle enlarged by hydrocephalus, a cyst - is crossed at the brain's travel cost
    (:func:`twinsep.twins.assign.wide_csf_blocks`): it lies inside one twin's brain, and
    belongs to the brain around it. CSF's slow cost is meant for the thin layers where
    the boundary between two brains should settle (the subarachnoid space and the sheet
    between the brains, 1-4 mm; an infant's slit-like ventricles are 5-9 mm across), so
    thinner CSF keeps it. With the slow cost in 20-40 mm of its own ventricles, a
    hydrocephalic twin's front lost its 10 mm brain mantle to the other twin's front,
    which ran round the ventricles through the mantle (blind shapes ``vt-c15-hydroB*``:
    123-257 mL given to the other twin). 0 turns the rule off."""

    limb_shells_mm: tuple[float, ...] = (10.0, 15.0, 20.0)
    """Tissue farther than a shell width (mm) from both cranial cavities lies outside
    both heads' coverings (an infant's scalp and skull together are 5-10 mm): a neck,
    a body, a limb (:func:`twinsep.twins.assign.limbs_to_trunks`). The narrowest width
    is tried first; where the two bodies' pieces join through tissue just outside it
    (vt-c15-overhead-1.5mm: at 10 mm, not at 15), the next."""

    limb_open_mm: float = 3.0
    """Tissue outside the shell is opened by a box of this half-width (mm, whole coarse
    blocks; none on blocks coarser than it) before its connected pieces are taken, so
    that a layer one block thick (the outer scalp of a head just beyond the shell) does
    not join a limb lying on that head to the head's own neck."""

    trunk_mm: float = 60.0
    """Tissue farther than this (mm) from both cranial cavities is a trunk, whose twin
    owns the limbs hanging on it. The heads of the blind bodies phantoms hold no
    tissue farther than 57 mm from their cavity (the neck down to the shoulders); a
    scan without tissue this far is left as the heads' growth gave it."""

    trunk_min_ml: float = 50.0
    """A connected part of that far tissue smaller than this (mL) is not a trunk: the
    end of a long neck (the angular-frontal phantom kind holds 0.14 mL beyond 60 mm)
    or a hand. The bodies phantoms' trunks hold 1170-1240 mL on 1.5-2.5 mm scans cut
    110 mm below the shoulders, 9-12 mL cut 20 mm below (left as grown)."""

    limb_max_share: float = 0.25
    """A piece outside the heads that holds one twin's trunk is given wholly to that
    twin only when at most this share of it belonged to the other twin: an arm over
    the other head was 2 % of its piece (40 of ~2000 mL); the other twin's neck or face
    joined to it would be far more."""

    twin_a_search_mm: float = 10.0
    """A ``--twin-a`` point outside tissue is moved to the nearest tissue voxel when
    one lies within this distance (mm); farther, the point is refused."""

    body: BodyParams = field(default_factory=lambda: BodyParams())
    """Numbers of the head / body split of each twin (:mod:`twinsep.twins.body`)."""

    implants: ImplantParams = field(default_factory=ImplantParams)
    """Numbers of the existing-expander rule the ``twins`` stage runs on a CT
    (:func:`twinsep.segment.implants.find_expanders`); recorded with the stage's
    parameters in ``plan.json``."""
