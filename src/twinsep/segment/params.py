"""Tunable numbers of tissue segmentation, each with its unit, reason and source.

Most thresholds are *offsets* from peaks found in the image's own histogram (air and
soft tissue), so a CT whose HU calibration is off by tens of HU is handled the same way;
the absolute numbers below only bound what the histogram may say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class KernelParams:
    """Sharp (bone) reconstruction kernel: its detection and compensation
    (``segment.kernel``)."""

    profile_mm: tuple[float, float] = (-3.0, 12.0)
    """Depths (mm) along the inner-table normal over which the edge profile is sampled,
    from inside the bone (negative) into the cavity: the table's peak (1-3 mm plates)
    and a kernel's undershoot (1-3 mm wide) lie well within, and the brain plateau
    beyond (``plateau_mm``)."""

    profile_step_mm: float = 0.25
    """Sampling step (mm) along the normal: a fraction of the finest CT voxels (0.5 mm),
    so the sub-voxel shape of the profile is kept."""

    plateau_mm: tuple[float, float] = (7.0, 12.0)
    """Depths (mm) whose mean median-profile value is the brain plateau: beyond the reach of a
    kernel's undershoot (its blur width, 1-3 mm, times ~2) and of the subarachnoid layer
    of an infant or adult (1-5 mm), nearer than the ventricles of most heads."""

    sharp_margin_hu: float = 25.0
    """A kernel is called when the in-plane undershoot exceeds ``csf_max_contrast_hu``
    (water under grey matter, 40 HU) by this (HU): the median over thousands of edges can
    dip that deep only where most edges had pure CSF under them, so a dip of 65 HU is no
    anatomy. Bone kernels undershoot 100-300 HU beside bone (H70, FC30). Measured
    (docs/segmentation.md): every soft-kernel benchmark CT and the real InVesalius CT
    -0.9..15.4 HU; sharp-kernel Colin27 250-339 HU, size-256 phantoms 87-98 HU; the
    size-128 sharp rows stay below (there the grid blurs the edge and the kernel cost
    only 0.002-0.008 CSF)."""

    in_plane_max_cos: float = 0.5
    """An edge is pooled for the kernel when its normal's component along the slice
    axis is at most this (dimensionless, |cos|; at least 60 degrees from that axis):
    the kernel acts in the slice plane, so an edge shows its full response only when
    its normal lies near the plane."""

    across_min_cos: float = 0.85
    """Edges whose normal lies within ~32 degrees of an array axis are pooled for that
    axis; the slice axis is the third unless another axis's pool dips less by
    ``sharp_margin_hu`` (measured on the sharp heads of tests/segment/test_kernel.py:
    0.17-0.20 of the in-plane dip along the slice axis)."""

    min_edges: int = 200
    """Fewest edges (cavity voxels beside bone) a pooled profile needs: its median then
    brings the noise (tens of HU) down to a few HU."""

    max_gain: float = 3.0
    """Largest unsharp-mask gain ``a`` the fit may return (dimensionless): the kernel's
    gain at high frequencies is ``1 + a``, and bone kernels carry 2-4 x the noise of a
    soft kernel at the same dose (NOTES.md), so ``1 + a`` <= 4. Bounds the fit's
    trade of a high gain against a narrow Gaussian (``a s^2`` is what a blurred edge
    pins down)."""

    noise_lag_mm: float = 2.0
    """The noise of the softened CT is measured on differences of voxels this far apart
    (mm, at least one voxel, along the first axis): softening correlates the noise of
    neighbours, whose differences then under-read it; the noise the brain/CSF
    smoothing averages is what remains at a few mm."""

    max_edges: int = 4000
    """At most this many edges (evenly spaced in scan order) are sampled per pool: the
    median of 4000 profiles has a standard error of ~0.02 noise sigmas, and the
    interpolation (61 samples an edge) then costs ~0.1 s."""

    max_scanned_vx: float = 5.0e5
    """The cavity is scanned for edges on a sub-grid of about this many voxels (every
    n-th voxel on each axis): measured 1.7-8.2 thousand edges on the benchmark CTs
    (phantoms 96-256, analytic twins, Colin27, independent phantom, the real CT), in a
    few tens of ms."""


@dataclass(frozen=True)
class VesselParams:
    """Distances, sizes and HU offsets of the sinus/vessel rule (``segment.vessels``)."""

    max_offset_hu: float = 440.0
    """Upper edge of enhanced blood = soft peak + this (HU): venous-phase iodinated blood
    is 250-400 HU (NOTES.md, clinical facts) plus a few noise sigmas; anything brighter
    connected to dense bone is bone."""

    rim_mm: float = 1.5
    """Partial-volume rim (mm) around the bone core that is never evidence of contrast:
    scanner blur (FWHM ~1 mm) plus half a voxel; at least one voxel is always used."""

    blur_rim_noise_k: float = 3.0
    """A vessel voxel whose axis line from the nearest bone voxel to one voxel beyond it
    fits a step of bone blurred by that axis's edge spread within this many noise sigmas
    (root of the misfit's sum of squares; 3 is the 99 % level of a fit with two free
    parameters on three samples) lies on the bone's blurred tail, not blood
    (``segment.vessels.rim.blurred_rim``; the spread measured per axis on the CT's inner
    table, ``segment.vessels.blur``), and the fitted tail alone lifts the voxel to the
    vessels' edge. 0 turns the rule off. Probe union at 2.5 mm, PSF 0.65 voxel: vessel
    0.471 -> 0.629 (4793 -> 3097 voxels for 1961, no true sinus voxel dropped), PSF 0.5
    0.810 -> 0.821; k = 2 / 4 on the rule's input: 0.599 / 0.649 (0 / 4 sinus voxels
    dropped), 0.633 at 3."""

    blur_rim_inside: bool = True
    """The blurred-rim rule (``blur_rim_noise_k``) also drops a vessel voxel whose line
    fits the blurred step with its edge inside the voxel, up to its centre (a thin
    plate's partial volume split across the voxel face, the tissue's share the larger),
    when no layer of blood at the lumen filling half the voxel or more on the bone fits
    within the same misfit; only along axes where such a layer would show in the next
    voxel above that misfit (``segment.vessels.rim._bone_inside``, ``_layer_spill``): on
    a grid sharp for its voxel the two read alike and the voxel stays. Measured (session
    31, 94caf67): probe union at 2.5 mm, PSF 0.65 voxel, vessel 0.629 -> 0.638 (3097 ->
    3025 voxels, no true one lost), PSF 0.5 unchanged; bench_segment phantoms at 2.3-3.6
    mm identical (48 rows: the gate is closed), at 1.17 mm / 10 HU +0.0002 and +0.0014
    (two rows measured); blind phantom3 vt0-c5-ras +0.0041, vt90-c15-1.2mm +0.0002, 12
    contrast cases identical; independent phantom noise-5 +0.0028, 16 rows identical
    (docs/segmentation.md, session 31). False turns it off."""

    blur_rim_reach_w: float = 2.0
    """Bone is looked for along each axis within this many of that axis's edge spreads
    ``w`` (at least the face neighbour): a blurred step's tail ``Phi(-d / w)`` is 2 % at
    2 ``w``, within the noise beside bone of 1000 HU or less."""

    dural_margin_mm: float = 4.0
    """Evidence must lie within this distance (mm) of the cranial cavity: sinuses sit in
    the dura against the inner table and are 3-5 mm deep in infants. Extracranial (neck)
    vessels must lie farther than this and at least one voxel along every axis
    (``segment.vessels.dilate_per_axis_mm``): a 4 mm ball does not reach the next 5 mm
    slice, and a layer of bone partial volume just above the cavity in axial 5 mm
    slices counted 7-9 mL of "neck vessel" (bench_grids, vertical-partial)."""

    outside_gap_mm: float = 2.0
    """Evidence must be farther than this (mm, and more than one voxel) from the outside
    of the skull (scalp, air): a sinus lies under the whole thickness of the bone
    (infant vault >= 1.5-2 mm) plus the dura, while a plate of weak bone without a dense
    core lies within its own thickness of the scalp."""

    min_component_mm3: float = 60.0
    """Smallest evidence component (mm^3): a 5 mm sinus over 3 mm is ~60 mm^3; calcified
    pineal/choroid plexus (2-4 mm blobs, < 35 mm^3) and noise specks stay below."""

    grow_mm: float = 2.5
    """The vessel takes contrast-band voxels this close (mm) to the evidence (at least
    one voxel): the sinus wall against the inner table lies inside the bone rim. Inside
    the rim only one face step is taken (from evidence or grown voxels outside the
    rim): on grids finer than this the ball's second step reached CSF lifted to the
    lumen value by bone spill along the inner table (fine-spacing findings, issue 4:
    2462 of 2958 CSF voxels taken as vessel at 1.17 mm were such rim voxels, while
    3545 of the 3574 true sinus voxels in the rim are face neighbours of sinus outside
    it). Measured: vessel Dice +0.007..+0.024 on 12 phantom rows at 1.17-1.77 mm (CSF
    +0.001..+0.008), analytic twins at 1.5 mm within +-0.002, unchanged at 1.0 mm and on
    every row of 2.3 mm or coarser (one face step is all the ball holds there).
    On thick-slice grids (``slice_axis_ratio``) the zone is an ellipsoid of
    ``max(grow_mm, 1.01 x spacing)`` per axis (``segment.vessels.dilate_per_axis_mm``),
    not a ball of the largest spacing, which reached six voxels in-plane on
    0.83 x 0.83 x 5 mm voxels."""

    ext_tube_fraction_min: float = 0.3
    """An extracranial contrast component (carotid, jugular) is a vessel only if at
    least this fraction of its voxels passes the Hessian tube test; a patient table or
    a sheet of partial volume is a plate."""

    ext_bone_side_max: float = 0.5
    """An extracranial contrast component is partial volume of bone, not a vessel, when
    at least this share (0-1) of its voxels are face neighbours of the bone mask (outside
    the piece) and it does not touch the cranial cavity: a contrast-range layer beside a
    thin plate (the mandible at ~3 mm voxels) lies on the bone, a carotid or jugular in
    soft tissue, and a piece touching the cavity continues a sinus whose bright blood is
    in the bone mask (independent phantom, 3.2 mm: two such pieces, 10 vessel voxels, at
    1.0). Measured (issue 4, phantoms at 3.1 mm): mandible and facial-bone pieces of 2-16
    voxels at 0.5-1.0, the neck vessels (150-200 voxels) at 0.0. It decides the labels
    and the neck cue of contrast detection (``extracranial_ml`` counts the pieces that
    pass): on 5 mm slices bone partial volume lying on the skull base and mandible
    alone held 12.8 mL of tube-shaped "contrast" without contrast (bench_grids, plain
    vertical-partial along x; 10.5 mL off bone), above ``neck_alone_ml``, while the
    contrast rows lost 0-2.3 mL of their 19-31 mL. 1 turns the test off."""

    ext_gas_below_soft_hu: float = 350.0
    """A voxel more than this (HU) under the soft-tissue peak holds gas (at least a third
    of air: fat lies about 100-130 HU under the peak), for the pneumatised-bone test of
    extracranial pieces (``segment.vessels.gas_walled``, ``ext_gas_share``)."""

    ext_gas_share: float = 0.5
    """An extracranial contrast-band piece at least this share (0-1) of whose voxels have
    gas beside them (26-neighbourhood, ``ext_gas_below_soft_hu``) is partial volume of
    pneumatised bone (ethmoid cells, turbinates, nasal septum, mastoid cells), not a neck
    vessel, and goes with its share of the neck cue (``segment.vessels.gas_walled``).
    Measured: the plain real CT (Cranium.inv3) fused at 3 mm held 13.6 / 13.9 mL of
    tube-shaped band pieces off bone (above ``neck_alone_ml``: called contrast), 9.8 /
    9.4 mL of them in such pieces (shares mostly 0.8-1.0); the true neck-vessel pieces of
    the probe phantoms and the blind phantom3 and clinical cases (1.2-3.6 mm) at most
    0.07. Above 1 turns the test off."""

    ext_shell_fraction: float = 0.2
    """Margin (share of a piece's enhancement over soft tissue, and at least 3 noise
    sigmas) above its interior median that a border voxel of a contrast-band piece in
    soft tissue must exceed to count as cortex (``segment.vessels.bone_encased``):
    blood is brightest inside and falls at its edge, a cortex thinner than a voxel
    lifts part of the edge. 0 turns the test off."""

    ext_shell_share: float = 0.02
    """Share (0-1) of a piece's border above the ``ext_shell_fraction`` margin that makes
    it cancellous bone inside a cortex, not a vessel (``segment.vessels.bone_encased``).
    Measured: vertebral bodies of the blind phantom3 infant CTs (2.9 mm, 300 HU inside
    a 700 HU cortex, plain and contrast, noise 5-30 HU) 0.049-0.21 of their border;
    the neck vessels of our phantoms (2.3-3.6 mm, noise 30 HU) at most 0.008, of the
    blind ones 0.000, at 1.17-1.35 mm 0.000. Noise alone puts 0.13 % of a vessel's
    border there."""

    ext_encased_wall_fraction: float = 0.8
    """A contrast-band piece in soft tissue whose outside face neighbours are at least
    this share bone (the bone core, its partial-volume rim or brighter than blood) is
    cancellous bone inside a resolved cortex (``segment.vessels.bone_encased``); the
    share ``find_marrow`` asks of the diploe's wall (``marrow_wall_fraction``). Above 1
    turns the test off."""

    edge_fraction: float = 0.5
    """A vessel voxel must exceed background + this x (lumen - background), with the
    lumen the median of the vessels' interior voxels and the background the median of
    the tissue around them (CSF/brain for sinuses, soft tissue for neck vessels): a
    voxel whose centre lies inside a vessel wider than the blur holds more than half
    of it, so the edge lies at half height (partial volume)."""

    edge_prior_nat: float = 0.5
    """Cost (nats) of two face-neighbouring vessel candidates taking different labels when
    the edge is decided jointly (``segment.vessel_edge``; 0 decides voxel by voxel). A
    voxel's own evidence is ``-log Phi(+-(v - edge) / noise)``: 0.5 nat is what a voxel
    1.2 noise sigmas from the edge pays for the less likely side (log Phi(1.2) -
    log Phi(-1.2) = 1.9 nats, i.e. about four disagreeing neighbours), so one voxel's
    noise is overruled only by most of its neighbours and a clear voxel never is.
    Measured on the 12 size-128 phantom kinds (2.3-2.7 mm): vessel Dice at noise 30 HU
    mean 0.835 -> 0.847 (every row up, +0.002..+0.021), at noise 10 HU 0.880 -> 0.882
    (-0.002..+0.006); 0.35 and 0.75 gave less (0.840, 0.843 at noise 30)."""

    edge_prior_outside_fraction: float = 0.5
    """Fraction of ``edge_prior_nat`` a vessel voxel pays per face neighbour outside the
    candidates (dimensionless). Such a neighbour's label was set by the band and side
    rules, not observed like a candidate's, and along a vessel's wall every labelling
    has such faces: the full cost shrinks thin vessels (measured mean Dice 0.840 at
    noise 30 HU), none lets noise flips at the wall stand (0.834), half 0.847."""

    edge_prior_max_voxel_mm: float = 3.0
    """The neighbour prior is used on grids whose largest voxel side is at most this
    (mm): it assumes a vessel is at least two voxels across, so that a voxel's face
    neighbours mostly share its label; the newborn jugular vein (~6 mm wide, radius ~3
    mm, see ``extracranial_min_ml``) holds the largest share of extracranial vessel
    voxels. On the 3.1-3.6 mm phantoms it measured -0.016..+0.022 (mixed) and is off."""

    wall_fraction: float = 0.75
    """A contrast-band voxel touching the grown sinus (inside the bone rim, beyond
    ``grow_mm``) joins it when it exceeds background + this x (lumen - background) and
    stays below the lumen value (dimensionless; 0 turns it off). There, bone partial
    volume can lift a CSF voxel over the half-height edge (measured: such voxels next to
    the sinus had median 203-206 HU against 230-237 HU for true wall voxels, lumen
    ~257 HU), while blood mixed with CSF never exceeds the lumen. Three quarters is
    midway between the half-height edge and the lumen; chosen over 0.65 and over no
    wall step on six 128-phantom rows at 2.3-2.7 mm (issue 4), where missed sinus-wall
    voxels inside the bone rim were 60-85 % of the vessel false negatives. Applied
    only when the rule runs on the CT grid itself and its voxels are wider than
    ``grow_mm`` (segment.vessels): there +0.006 to +0.021 Dice at 2.6-2.7 mm and
    -0.004 to +0.019 at 3.1-3.6 mm; on finer grids it measured -0.007 to +0.009.
    Partial volume does not fix this number: a rim voxel with blood fraction f < 1/2 and
    bone fraction b passes once b lifts it over the threshold, and the window of b that
    does so narrows with (1 - wall_fraction) for true and false voxels alike; the best
    value depends on what lies beside the sinus inside the rim. Re-measured with the
    joint edge (issue 4): our phantoms (triangular sinus on the inner table) mean Dice
    0.837 / 0.825 with / without the step (partial kinds, 2.6-2.7 mm), 0.5 gives 0.840;
    the independent phantom (round sinus 0.5 mm under the table, 2.8 mm) 0.759-0.798
    with it, 0.788-0.815 without. Kept at 3/4, flagged until real data decide."""

    core_seed_noise_k: float = 3.0
    """The bone core is seeded by voxels this many noise sigmas (of the smoothed CT)
    above the top of the blood range (``max_offset_hu``), capped by the dense-bone
    level (``SegmentParams.dense_bone_offset_hu``): blood never exceeds that top by
    3 sigma (one-sided 0.13 %), while bone of 500-650 HU (a poorly mineralised infant
    calvaria) never reaches the fixed dense level and its partial-volume rim then
    passed as sinus (issue 4, independent phantom at 600 HU)."""

    evidence_clear_vx: int = 1
    """Evidence counted toward contrast detection lies more than this many voxels (26-
    neighbourhood) from the bone core: with the scanner blur, partial volume of a core
    voxel reaches its edge and corner neighbours, not only the face neighbours of the
    rim, and on 3.2 mm grids without contrast those held 2.9-4.0 mL of "evidence"
    (issue 4). The sinus itself still grows from all evidence."""

    thin_layer_vx: float = 2.0
    """Evidence in a contrast-band layer at most this many voxels thick that spans the
    skull from its outside (scalp, air) to the dark cavity (brain, CSF) is not counted
    toward contrast detection (``segment.vessels._thin_layer``; 0 turns it off). A plate
    of thickness t on voxels of size d puts a voxel in the band where it covers at least
    the fraction f = band floor / bone contrast of it: at most ceil(t/d + 1 - 2f)
    voxels across, two when t <= d(1 + 2f). There a weak plate may leave no voxel above
    the core seed (``core_seed_noise_k``): a 2.5 mm plate of 600 HU at 2.4 mm splits
    into voxels of 237 and 416 HU where it straddles two (seed 509 HU), and without a
    core its inner voxel passed as sinus evidence (issue 4: 2.65 mL at 2.4 mm and 9.8
    mL at 3.2 mm on a generated 600 HU head without contrast, 13.8 mL on the
    independent phantom's 600 HU sweep row; contrast "found" on all three, 0-1.5 mL
    left now). A sinus under the bone lies deeper (the bone's layer adds to its
    depth) and still counts (independent phantom contrast rows: 5.2-18.3 mL counted,
    about 10 % less than before; contrast still found on every contrast row). The layer is not taken out of the vessel label: at
    2.3-3.6 mm our phantoms' sinuses, flat on a 2 mm plate of 1100 HU, form exactly
    such a layer with the plate where the grid split its peak (outside | 386 HU |
    173 HU sinus | brain), and removing it cost 0.01-0.035 vessel Dice on 10 partial
    and angular rows; the two are not told apart voxel by voxel at that spacing.
    Counted in voxels along each axis, not in mm: how many voxels a plate's band layer
    spans depends on how the grid samples its profile along the axis crossing it (the
    formula above with d that axis's voxel size), so a layer one or two 5 mm slices
    thick is thin like one of two 0.8 mm voxels (bench_grids, plain vertical-partial in
    5 mm slices: evidence 13.9 -> 0.0 mL along x, 10.8 -> 2.7 mL along z; isotropic
    grids unchanged by construction). The same bound applies to a layer with the dark
    cavity on both sides along an axis (``segment.vessels.between_dark``): a bone
    partition between the two brains of a partial union, or a plate parallel to 5 mm
    axial slices, reads ``B t / s + soft (1 - t / s)`` in its slice (a 2 mm plate of
    1100 HU: ~460 HU, in the band and below the core seed) and spans one or two slices;
    plain vertical-partial in 5 mm axial slices held 2.7 mL of such evidence, called
    enhanced (bench_grids)."""

    slice_axis_ratio: float = 2.0
    """The two-sided thin layer (``segment.vessels.between_dark``) is looked for only
    along slice axes: axes whose voxel is at least this many times the finest one. A
    slab averages a plate lying along the slices to ``B t / s`` while the thin in-plane
    voxels still find the core where plates cross the slices; on an isotropic grid no
    orientation is averaged more, and a layer one or two voxels thick between the two
    brains there is as likely a sinus (independent phantom, isotropic 3.2 mm, three
    contrast rows: their sinus evidence lies in such layers; searched along every axis
    they lost the contrast call). Clinical thick reconstructions are 2.5-5 mm slices
    over 0.4-0.9 mm pixels (ratio 3-12); 2 leaves grids of at most 2:1 alone (the
    512 CT's 1.42-1.55 mm work grid, the independent 2.4 x 3.6 mm row)."""

    bone_side_noise_k: float = 3.0
    """A grown or tube voxel of the sinus is dropped when the brightest voxel of its
    3x3x3 block exceeds the sinus lumen (median of the sinus interior; without one, of
    the vessels' interior, ``lumen_min_samples``) by more than this many noise sigmas
    of the smoothed CT and the voxel lies at least half-way from the lumen to that
    voxel (0 turns it off; only where the noise was measured). Blood exceeds its lumen
    by 3 sigma in 0.13 % of voxels (one-sided), so such a neighbour holds bone, and a
    blood/bone mixture at least half-way to it is mostly bone (partial volume). The
    neighbour's value is a lower bound of the bone's, so next to dense bone the
    half-way level lies above the blood range and drops nothing
    (measured: no change on any of our 48 phantom rows, 8 analytic rows, Colin27);
    next to a weak plate it drops the plate's partial volume that the growth into the
    bone rim took: generated 600 HU head with contrast vessel Dice +0.03..+0.07 and
    bone +0.005..+0.09 at 2.0-3.2 mm, independent phantom 600 HU row +0.055 vessel,
    +0.028 bone (+0.058 / +0.17 at 3.2 mm); independent rows with denser bone within
    -0.004..+0.010."""

    rim_piece_noise_k: float = 3.0
    """A vessel piece (26-connected) lying wholly in the bone's partial-volume rim is
    bone partial volume when one of its voxels exceeds the vessel lumen by more than this
    many noise sigmas of the smoothed CT (``segment.vessels.rim_pieces``; 0 turns it
    off; only on the grid where the noise was measured). In the rim every value between
    the cavity's and the bone's is a mixture of the two, so such a piece shows no blood
    of its own, and blood exceeds its lumen by 3 sigma in 0.13 % of voxels (one-sided).
    These pieces came from the Hessian tube test: a ridge of bone partial volume along
    the inner table, above a thin CSF layer, is tube-like at some scale (independent
    phantom, issue 4: 28-183 false voxels per contrast row at 2.4 mm, none of them
    vessel). Measured: independent phantom +0.004..+0.091 vessel Dice on all 10
    structural contrast rows (2.4 and 3.2 mm) and +0.001..+0.040 on the contrast sweep
    rows; our phantoms, whose true sinus fragments in the rim are no brighter than the
    lumen (at most +27 HU, one sigma at 30 HU noise), unchanged (40 rows at 2.3-3.6 mm
    and 1.2-2.1 mm), analytic twins unchanged. Dropping every rim-only piece whatever
    its value took 4-13 true sinus voxels on five of our partial rows (-0.001..-0.004)."""

    bone_profile_noise_k: float = 3.0
    """A vessel voxel outside the cranial cavity mask, in the bone's partial-volume rim,
    is bone partial volume when it exceeds the vessel lumen by more than this many noise
    sigmas of the smoothed CT and the voxel on the far side from its brightest
    neighbour holds no blood (below the vessel's half-height edge;
    ``segment.vessels.bone_profile``; 0 turns it off; only on the grid where the noise
    was measured). Blood exceeds its lumen by 3 sigma in 0.13 % of voxels (one-sided),
    so such a voxel holds something denser; across it the profile runs bone -> voxel ->
    tissue without blood, the profile of a bone surface, while blood lifted by bone
    fills a tube that continues on the far side. Inside the cavity mask a sinus one
    voxel thick lies flat on the inner table with CSF beyond it (the same profile), so
    the rule stays out of the cavity: there it took 62 true sinus voxels for 38 false
    ones (vertical-I, 3.13 mm), outside it 0 for 23. Measured (issue 4, vessel step
    re-run on the 24 size-96 rows of our phantoms, 3.1-3.6 mm): +0.003..+0.038 vessel
    Dice on every row (mean +0.013); the dropped voxels are bone, facial and neck
    soft-tissue partial volume (0-3 true vessel voxels a row). With
    ``lumen_min_samples`` through ``segment_ct``: sizes 128 and 256 -0.0003..+0.023,
    independent phantom -0.002..+0.019 (docs/segmentation.md)."""

    suture_gap: bool = True
    """Drop vessel voxels in a gap through a bone plate between the scalp and a vessel
    voxel (``segment.vessels.suture_gaps``): a voxel whose two face neighbours along one
    axis are brighter than blood can be (``VesselLevels.vessel_max_hu``) and which, along
    another axis, has the outside of the skull (scalp, air) on one face and a vessel
    voxel on the opposite face. Such a voxel lies in a suture, a fontanelle's edge or the
    seam between two skulls, across the plate from the sinus beneath its inner table:
    the blood is in the next voxel inward, and the voxel's 200-470 HU is the gap's soft
    tissue averaged with the bone on both sides. A gap voxel with no vessel beyond it is
    kept (on a 3.5 mm grid a thin sinus may show in that voxel only). Measured (issue 4,
    ``segment_ct``, our phantoms at 2.3-3.6 mm, 96 rows over seeds 0-2): false vessel
    voxels of suture soft tissue 962 -> 652, true ones lost 19 of 133367, vessel Dice
    -0.0024..+0.0098 (the one loss beyond 0.001: vertical-II 3.5 mm, 4 sinus voxels
    through a gap up to the scalp); 1.2-1.35 mm rows unchanged (docs/segmentation.md,
    "Suture gaps labelled vessel"). False turns it off."""

    lumen_min_samples: int = 7
    """Fewest interior voxels (deeper than ``rim_mm`` and one voxel per axis) of all
    vessels pooled that the lumen is measured on (their median) when neither the sinuses
    nor the vessels in soft tissue hold the usual 20 (``segment.vessels.lumen._MIN_SAMPLES``);
    with fewer, the lumen falls back to the median of all contrast evidence. The median
    of n samples has a standard error of 1.25 sigma / sqrt(n): 0.47 noise sigmas at 7,
    which moves the half-height edge by a quarter sigma, while partial volume pulls the
    evidence median down by 30-50 HU (3.5 mm grids: 203-226 HU against a 256 HU lumen;
    the 1-2 voxel sinuses have no interior there, and the neck vessels hold 8-19
    interior voxels with a median of 245-265 HU). That lumen also feeds the bone-side
    test (``bone_side_noise_k``). Only a fallback: a sinus with 7 interior voxels at
    2.6 mm read 350 HU against the neck's 370 HU from 330 voxels (size 128, seed 3;
    used first, it cost 0.01 Dice). Measured (issue 4, size 96, 3.1-3.6 mm): the four
    rows that fell back +0.021..+0.046 vessel Dice; the other 20 -0.0016..+0.016, from
    the bone-side test now run with the neck vessels' lumen."""

    rim_plateau_noise_k: float = 2.0
    """A contrast-band voxel in the bone's partial-volume rim on the cavity side joins the
    sinus when its value lies within this many noise sigmas (of the smoothed CT) of the
    vessel lumen, at least ``rim_plateau_min_faces`` of its face neighbours are sinus or
    such voxels, and a chain of them reaches the sinus in ``rim_plateau_steps`` face
    steps (``segment.vessels.rim_plateau``; 0 turns it off; only on the grid where the
    noise was measured and whose voxels are at least ``rim_plateau_min_voxel_mm``).
    Blood reads its lumen whatever part of a rim voxel it fills, so a sinus lying flat
    on the inner table, whose whole layer lies in the one-voxel rim of a 2.3-3.6 mm grid,
    stays at the lumen there; a CSF or brain voxel lifted by bone reads the lumen only
    for one narrow range of bone fractions, and then alone. Two sigmas keep 95 % of
    blood voxels (two-sided). Measured (issue 4, ``segment_ct``, seed 0): our phantoms
    at 2.3-2.7 mm vessel +0.002..+0.012 on all 24 rows, at 3.1-3.6 mm
    -0.0001..+0.010; independent phantom (round sinus 0.5 mm under the table) within
    -0.0024..+0.007 on its 2.4 / 3.2 mm contrast rows (docs/segmentation.md, "Sinus
    layers in the bone rim"). 1.5 sigmas gave 0.002 less on our rows."""

    rim_plateau_steps: int = 2
    """Face steps the rim plateau growth (``rim_plateau_noise_k``) takes from the sinus:
    a sinus is 3-5 mm deep on the inner table, two voxels of 2 mm or more (three steps
    measured the same within 0.0005)."""

    rim_plateau_min_voxel_mm: float = 2.0
    """Smallest voxel side (mm) on which the rim plateau growth (``rim_plateau_noise_k``)
    runs. On finer grids the one face step of the sinus growth into the rim already
    holds the sinus's wall, and the lumen-valued rim voxels beyond it are CSF lifted by
    bone: measured with 1.5 sigmas and one face, at 1.17-1.35 mm (24 phantom rows) the
    growth took 0-14 true voxels against 16-230 false ones (-0.0005..-0.0046), at
    1.56-1.8 mm (8 rows) 1-54 against 22-100 (-0.0043..+0.0015); at 2.3-2.7 mm it gained
    on every row."""

    rim_plateau_min_faces: int = 3
    """Fewest of its six face neighbours that a voxel joining the sinus by the rim
    plateau (``rim_plateau_noise_k``) must have in the sinus or at the lumen value in
    the rim: it lies inside a patch of blood (a layer along the table has two or more
    such neighbours in the layer and the sinus beside it), not alone at the sinus's
    edge, where a CSF voxel that bone lifted to the lumen by chance lies. Without it
    (one face, 1.5 sigmas) the independent phantom lost up to 0.017 vessel Dice at noise
    30 HU (angular-partial 2.4 mm: 24 brain and 9 CSF voxels, no vessel) while our rows
    gained 0.0088 on average at 2.3-2.7 mm; with three faces and 2 sigmas ours gain
    0.0076 and the independent rows lose at most 0.0024."""

    faint_edge_steps: int = 1
    """Face steps (voxels) the vessels grow into voxels between their half-height edge and
    the floor of the contrast band (``SegmentParams.contrast_offset_hu``) before the edge
    is decided, when the edge lies below that floor (0 turns it off). The floor is where
    contrast is *detected*; the vessel's own extent is its half-height edge (see
    ``edge_fraction``), which lies below the floor when the lumen is faint (150-200 HU
    over CSF/brain of 0-40 HU: edge 90-120 HU, floor soft peak + 90 HU), and then the
    outer partial-volume voxels of every vessel were never candidates. One step: the
    partial-volume edge of a vessel is about one voxel wide (blur <= a voxel). Only where
    the lumen was measured on the vessels' own interior, not on the partial-volume
    evidence a coarse grid leaves (there it reads low: 210 vs 256 HU at 3.5 mm, and the
    edge fell 4 HU under the floor). Measured (issue 4): independent phantom contrast-150
    sweep row 0.709 -> 0.847, contrast-200 0.846 -> 0.857; every other row unchanged
    (normal contrast puts the edge above the floor)."""

    system_min_ml: float = 1.0
    """Only evidence in pieces of at least this volume (mL, measured after growth into
    the sinus wall) counts toward contrast detection: the superior sagittal sinus alone
    is ~5 mm x 3 mm x 100 mm = 1.5 mL in a newborn, while partial volume of thin bone
    that passes the other tests breaks into small pieces."""

    contrast_min_ml: float = 2.5
    """Contrast is declared when the evidence reaches this volume (mL) and the fraction
    below. The dural sinuses of a newborn hold several mL; the part of them clear of the
    bone core (``evidence_clear_vx``) measured 5.5-6.9 mL on the analytic twins (1.0-1.5
    mm) and 5.2-20 mL on the independent phantom (2.4-3.2 mm), while thin-bone partial
    volume without contrast left at most 0.82 mL (152 rows, issue 4). A sinus flat on
    the inner table leaves less on coarse grids (our phantoms: 0-2.1 mL at 2.3-3.6 mm),
    where the neck cues decide."""

    contrast_support_ml: float = 1.0
    """Smaller sinus evidence (mL) that is enough when contrast-filled neck vessels
    confirm it (``extracranial_min_ml``): on 3.1-3.3 mm grids a contrast sinus system
    left only 1.3-1.6 mL outside the bone rim."""

    extracranial_min_ml: float = 6.0
    """Tube-shaped contrast in soft tissue (mL) that confirms contrast: the jugular veins
    and carotid arteries of a newborn (radii ~3 and ~2 mm) over 5 cm of neck hold
    ~2-3 mL per head side pair; measured 19-27 mL on two-head contrast phantoms and at
    most 2.9 mL (thin-bone partial volume) without contrast."""

    neck_alone_ml: float = 12.0
    """Tube-shaped contrast in soft tissue (mL) that proves contrast by itself: four
    times the most that thin-bone partial volume imitated without contrast (2.9 mL, 96
    no-contrast phantom runs at 2.3-3.6 mm), about half of what the neck vessels of the
    contrast phantoms held (14.9-31 mL). A neck in iodinated contrast means the venous
    sinuses carry it too (one circulation). The septa of pneumatised bone (ethmoid,
    nasal cavity) took 13.6 / 13.9 mL of the plain real CT at 3 mm for neck vessels
    until ``ext_gas_share``; 3.0-4.5 mL remain there at 2-4 mm."""

    textured_branch_min_mm: float = 10.0
    """A textured vessel piece (no lumen plateau, ``lumen_spread_noise_k``) loses its
    part thick enough to show an interior and every thin remainder within this distance
    (mm) of it; thin branches reaching farther are judged as pieces without an interior
    (``segment.vessels.plateau._thick_part``). Measured: the partial-volume plates around a
    cancellous skull-base block (1.3 mm, tests/segment/test_vessels_plateau) reach
    6.6 mm; on the blind at130-occ-c15-fov (3.04 mm) with a vertebral body in the
    cavity, the sinus branches joined to it reach 13.9-23.2 mm and its rim spurs
    3.0-4.3 mm. Before, the whole piece went with its evidence (vessel Dice 0.0)."""

    lumen_spread_noise_k: float = 3.0
    """A vessel piece is blood only if its interior (voxels deeper than ``rim_mm`` and
    one voxel per axis, on the CT grid) is a plateau: robust SD (IQR / 1.349) at most
    this many noise sigmas of the smoothed CT, or ``lumen_spread_fraction`` of its
    enhancement, whichever is larger (``segment.vessels.lumen_is_plateau``); a textured
    piece is dropped with its share of the contrast evidence. Blood is one mixed fluid:
    its interior scatters by the noise, robust SD 0.55-2.7 noise sigmas (7-38 HU) on the
    76 contrast rows with an interior (phantoms 96/128/256 at 10 and 30 HU, analytic
    twins, stressors; issue 4); 3 sigmas keep the largest at 0.54 of the limit.
    Cancellous and thin skull-base bone in the contrast band scatters by its structure:
    the InVesalius "Cranium" adult plain CT (0.96 x 0.96 x 1.5 mm), 76 HU against 4.3
    HU noise (median 280 HU, 23 mL of false vessel, 1.99 x the limit). 0 turns the
    rule off."""

    lumen_voxel_max_mm: float = 6.0
    """The lumen plateau rule reads only grids whose voxels are at most this long (mm)
    along every axis: 6 mm, the thickest slices the segmentation plans on
    (``SegmentParams.cavity_max_slice_mm``), so every planned grid is read. Its interior
    lies one voxel deep along every axis, so on thick slices it samples only a lumen
    three slices long, and that reads one fluid: robust SD 9.6-40.5 HU on the contrast
    rows in 5-6 mm slices measured (bench_grids' 5 mm rows, the independent phantom and
    the probe at 1-2.2 mm in-plane), while the skull base of the plain real CT averaged
    into 4.5-6 mm slices reads 68-80 HU at 4.4-4.8 HU noise (limit 37-43 HU). Until
    2026-11-29 the bound was 4 mm (a contrast lumen on 0.83 x 0.83 x 5 mm slices along
    x read 84 HU at 1803e6a; that row has no interior now), and the plain real-CT twins
    in 5-6 mm slices kept 6.3-7.6 mL of that bone as sinus evidence and were called
    contrast with 72-80 mL of vessel (docs/segmentation.md, "The contrast call on thick
    slices"). Clinical thin-slice CT (0.3-0.5 mm pixels, 0.6-1.5 mm slices) is read as
    before."""

    lumen_spread_fraction: float = 0.15
    """Floor of the plateau limit as a fraction of (lumen median - soft tissue peak):
    inflow, incomplete mixing and scanner texture vary a real lumen by ~10 % (a lumen of
    250 HU over soft tissue at 30 HU: 33 HU), which the noise term of a quiet scan (4
    HU) would not allow. Measured: contrast rows 0.03-0.18 of the enhancement (the
    highest at 30 HU noise, where the noise term decides), the plain adult skull base
    0.30."""

    lumen_ceiling_sd: float = 1.75
    """A plateau shows blood only when its median lies at least this many of its robust
    SDs below the top of the blood range (``VesselLevels.vessel_max_hu``;
    ``segment.vessels.lumen_below_ceiling``). The band's ceiling cuts what lies above
    it, so a broad partial-volume spread of thin bone piles up under it with a small
    robust SD: the plain CT of the blind MR phantom on 2 mm (a 2-3 mm infant vault
    without a core) pooled 28 interior voxels of 240-471 HU, median 437 HU, robust SD
    40 HU (a "plateau"), 0.88 SDs under the 472 HU ceiling, and was called contrast.
    For a normal lumen cut at the ceiling this distance is 1.09 SDs when its level lies
    at the ceiling, 1.42 one sigma below it, 1.71 1.5 sigmas below it, 2.08 two sigmas
    below it (0.85 in the limit of a level far above it). Measured (fb0908d): the bone
    plateaus of the plain blind MR-phantom CTs 0.46-1.49 (pools and quiet pieces of 20-46
    voxels), lumens of 420 HU at 30 HU noise 2.02-2.65 (2.5 mm) and 3.15-4.29 (1.2 mm),
    the contrast rows of every benchmark set 3.69 and more; 1.75 lies midway (x 1.17
    from 1.49 and from 2.02). Applied to the verdicts that show blood (the pooled
    interior, a piece within the noise term), not to the dropping of textured pieces.
    0 turns it off."""

    ceiling_doubt_sd: float = 1.09
    """A plateau refused by ``lumen_ceiling_sd`` but at least this many of its robust SDs
    under the top of the blood range is what a lumen at the top of the blood range
    leaves too: when the refusal alone turns the call to plain, the plan says the call
    is in doubt (``segment.vessels.contrast_doubt``), it does not change the call. 1.09
    is the distance of a normal lumen whose level lies at the ceiling itself (analytic,
    quartiles of the cut normal): a plateau nearer the ceiling has its level above the
    top of the blood range, bone (the plain 2 mm blind MR-phantom CT's skull plate,
    0.88). Above it lumen and bone overlap: a 450 HU lumen at 30 HU noise on 1.5 mm
    lies at 1.44 (1.34 mL taken, in doubt); the plain MR-phantom CTs' bone plateaus
    reach 0.46-1.49 (the highest per CT), and one of them with 1 mL or more is in doubt
    too (``mr-angular``, 1.31 mL at 1.34; ``ctmr-angular-thick``'s 1.27 mL at 1.02).
    Measured 2026-11-27 (docs/segmentation.md, "Contrast CTs called plain")."""

    contrast_min_fraction: float = 0.0005
    """Contrast also needs the evidence to fill this fraction of the cranial cavity
    (sinuses are ~0.5-1 % of it), so a large adult cavity needs more than 0.5 mL."""

    scalp_min_mm: float = 3.0
    """Non-bone voxels this close (mm) to the skin are scalp, outside the skull, even
    when the cavity mask includes them: infant scalp is 3-5 mm thick (HeadParams
    sources) and a sinus lies under it and the bone, >= 5 mm deep. 0 turns it off."""

    tube_margin_mm: float = 2.5
    """Tube-test candidates lie within this distance (mm) of the cranial cavity: the
    dura and the sinus wall against the inner table (cortical veins and sinuses lie
    inside it or in the dura, 0.5-2.5 mm thick in infants)."""

    min_vessel_mm3: float = 8.0
    """Smallest vessel component (mm^3, and at least ``min_vessel_vx`` voxels): a 2 mm
    vessel over 2.5 mm holds ~8 mm^3; smaller specks are noise above the edge."""

    min_vessel_vx: int = 4
    """Smallest vessel component (voxels) on any grid: fewer voxels cannot show a tube
    (a speck of 1-3 voxels is noise or a calcification)."""

    work_grid_mm: float = 1.5
    """Voxel size (mm) of the grid the sinus rule runs on (block means; a coarser CT is
    used as it is). The rule's distances are 1.5-4 mm and the sinuses 3-7 mm across,
    so a 1.5 mm grid samples each at least once; on a 0.5 mm CT it is 27 times smaller
    (each distance transform ~0.1 s instead of ~3 s on 2 cores, NOTES.md). The vessel
    edge is then drawn on the CT grid itself (half-maximum, see ``edge_fraction``)."""

    join_max_gap_mm: float = 16.0
    """Largest gap (mm, between the nearest voxels) across which two vessel pieces whose
    ends face each other are joined along their course (``segment.sinus_join``; 0 turns
    it off): on 2.4-3.3 mm grids a sinus lying in the bone rim under the inner table
    breaks into pieces 6-36 mm apart (docs/segmentation.md, "Joining the fragmented
    sinus"). Measured (2026-11-27, 97 contrast phantom rows at 96/128, in-process
    ``segment_ct``): 299 voxels added, 86 % of them truth sinus, vessel pieces 1637 ->
    1488, vessel Dice -0.0012..+0.0042. 24 mm with 50 deg (a prototype on the cached
    labels of b6a4af5) joined 244 pairs against 148 at 16 mm and 35 deg, 24 of them
    between different truth vessels against 9."""

    join_max_angle_deg: float = 35.0
    """Largest angle (deg) between a piece's principal axis near its end and the gap to
    the other piece (``join_max_gap_mm``): collinear pieces of one tube, not two
    vessels meeting side by side. 50 deg (prototype, same labels) joined 182 pairs, 18
    between different truth vessels (9 at 35 deg)."""

    join_axis_radius_mm: float = 10.0
    """Radius (mm) around a piece's end within which its principal axis is measured
    (``join_max_gap_mm``): three to four voxels of a 2.4-3.3 mm grid, the straight
    stretch of a sinus next to its end."""

    join_max_detour: float = 1.7
    """Longest joining path, as a multiple of the gap (``join_max_gap_mm``): the path
    through the band's CSF voxels follows the lumen, not a way round. 1.35 refused 13
    joins of one truth sinus, 1.7 two (prototype, 16 mm, 50 deg)."""

    join_min_voxel_mm: float = 2.0
    """Smallest largest-voxel-side (mm) on which pieces are joined (``join_max_gap_mm``):
    at 1.2 mm the sinus is 82-84 % found and its misses are sub-voxel layers, not gaps
    (as for ``rim_plateau_min_voxel_mm``)."""


@dataclass(frozen=True)
class LungParams:
    """Levels and sizes of the aerated-lung rule (``segment.lungs``): a lung is air, as
    the head's own air is (docs/DECISIONS.md, "Air in the lungs and airway")."""

    dark_level: float = 1.0 / 3.0
    """A lung's core is darker than this share (0-1) of the way from the soft-tissue peak
    to the air peak (about -300 HU; fat lies at 0.13, infant lungs at 0.47-0.67: -380 to
    -650 HU, PMC5116406; the bodies phantom's newborn lung reads -445 HU median)."""

    air_band: float = 0.25
    """...and brighter than this share of the way from the air peak up to soft tissue
    (about -740 HU): a region darker than that is air, which the body threshold (midway
    air / soft tissue) already labels, so the head's sinuses and airway keep their
    labels. An adult lung (-860 HU) is left to that rule."""

    min_volume_ml: float = 5.0
    """Smallest core (after a one-voxel erosion) taken for a lung, mL. A newborn's lungs
    hold about 50 mL each (0.10 L both, PMC5116406); a scan ending at the shoulders holds
    only their apices (the bodies phantom's vt-c15-torso20: 7 mL a lung)."""

    enclosed_share: float = 0.9
    """Share of the core that must lie inside the body filled slice by slice across one
    of the axes (a chest seen in its slices; a foam rest under the body is not)."""

    min_cavity_distance_mm: float = 15.0
    """A region within this distance (mm) of the cranial cavity is a head's air (the
    cells and septa of pneumatised mastoid or sinus bone average to part air there); a
    lung's apex lies below the neck, 40 mm or more from the skull base."""

    grow_mm: float = 5.0
    """The core is grown (mm) through voxels darker than midway between its level and
    soft tissue: the partial volume with the chest wall, and the one-voxel erosion."""


@dataclass(frozen=True)
class LeadParams:
    """Sizes of the ECG-lead rule (``segment.leads``): thin dense wires on or outside
    the skin are background, not bone or soft tissue."""

    thin_radius_mm: float = 2.5
    """Body parts that a ball of this radius (mm) does not fit in are thin: an ECG lead
    (a 2 mm cable) with its partial volume; a finger or an ear fits a 5 mm ball."""

    min_length_mm: float = 20.0
    """A thin piece is a lead when it runs at least this far (mm, the longest side of its
    box): a lead runs from its electrode out of the scan, a bump of skin does not."""

    min_bright_share: float = 0.1
    """...and at least this share (0-1) of its voxels is bone-bright (a lead's copper
    core; the bodies phantom's leads 0.18-0.23 of their thin piece)."""

    seed_reach_mm: float = 1.5
    """A lead is sought from its bone-bright voxels that lie this close (mm; at least one
    voxel along each array axis) to the outside air. On grids of 1 mm and coarser a
    lead's core lies beside the air; on finer grids the cable's own partial-volume halo
    (above the body threshold, not bone-bright) wraps it: a 2 mm cable at 2500 HU, PSF
    0.6 mm, on a 0.75 mm grid had no bright voxel beside the air (1.06-1.5 mm from it),
    and the lead stayed bone and soft tissue. Only a start: the piece must still be
    thin, long, bright and a wire."""

    min_elongation: float = 12.0
    """...and it is a wire: its length (``min_length_mm``'s) is at least this many times
    its mean width (the square root of its volume over its length). An infant's finger
    (5-8 mm thick, 20-35 mm long, with phalanges 2-4 mm) is thin for the ball on 1.5-2.5
    mm grids and its bone is bright beside the air there, but its thin piece is 5-8 times
    as long as it is wide (a generated infant hand); a lead's piece, however it bends,
    20-60 times (the bodies phantom's leads 20-31 on 2.5 mm, a cable along the forearm and
    out of the scan 33-62 on 1-2.5 mm)."""


@dataclass(frozen=True)
class MetalParams:
    """Levels and sizes of the metal-streak rule (``segment.metal``)."""

    metal_offset_hu: float = 2460.0
    """Metal is at least this far above the scan's soft-tissue peak (HU; ~2500 HU on a
    calibrated CT). Cortical bone reads up to ~1900-2000 HU, petrous bone and tooth
    enamel up to ~3000 HU; titanium, steel and amalgam read 3000 HU and more (usually
    clipped at 3071 by 12-bit storage). Enamel above this level is told from metal by
    its lack of streaks (step 5), not by its HU (the InVesalius head CT's teeth reach
    2986 HU)."""

    min_piece_mm3: float = 2.0
    """Smallest metal piece (mm^3): a voxel of a sub-millimetre CT; smaller specks are
    noise on dense bone. A clip blade is ~5-20 mm^3, a shunt valve ~300 mm^3."""

    shell_mm: float = 2.0
    """Thickness (mm, at least a voxel) of the shell around a dense piece in which the
    compactness test counts dense voxels: the PSF (FWHM ~1 mm) plus a voxel."""

    rim_share: float = 0.5
    """A bone-mask piece with at least this share of its voxels within the metal's
    shell (``shell_mm``) is the metal's blurred rim, not bone (dimensionless;
    ``segment.foreign_metal``): the skull, joined to a port or not, lies mostly beyond
    the shell."""

    skin_metal_max_mm3: float = 1000.0
    """Largest bone-mask piece (mm^3) at the body's surface taken as metal on the skin
    when it reaches the metal level (``segment.foreign_metal``): an EEG cup electrode is
    0.1 mL, a clip or port under a dressing a few tenths; no skull plate on the surface
    is that small and that dense."""

    shell_depth_hu: float = 1000.0
    """The shell's voxels at or above (metal level - this) count as dense (HU): with the
    default level ~1500 HU, dentin, cortical and petrous bone of 1500-2500 HU, not the
    soft tissue or air an implant lies in (its blurred rim passes through this band in
    a thin layer only)."""

    max_shell_ratio: float = 2.5
    """A piece is compact metal when its shell holds at most this many dense voxels per
    piece voxel (dimensionless). Measured: the shunt-valve stressor 0.0-0.65 (0.42 with
    every stressor), the FBP pieces of the tests 0.0 (2.4 mm) and 0.15 (0.31-0.36 mm), a
    3 mm cube at 0.5 mm voxels under a 1.2 mm PSF 1.86 (small pieces on fine grids run
    highest: the rim grows against the volume); the teeth of the InVesalius head CT
    3.6-12 (enamel up to 2986 HU on dentin), in the fused real-CT cases 5.1-29, the same
    cube on a 2000 HU block 7.1. Excluding the rim (shell from 1 mm) brought the teeth
    down to 1.9 and was not kept. A filling or a piece lying on dense cortical bone
    fails too: its streaks are then left as they are (a miss, never a false
    correction)."""

    reference_mm: float = 9.0
    """Width (mm) of the in-plane median that gives the tissue a streak crosses:
    several times a streak's width (1-3 mm; bands between two pieces up to ~4 mm), so a
    streak is a minority of the window, and narrower than the ventricles and the scalp."""

    tissue_range_hu: float = 160.0
    """A pixel is scored when its reference lies within this many HU of the soft-tissue
    peak: fat (-100 HU), CSF, brain, muscle and enhanced blood; not bone, air or metal,
    whose edges are no streak."""

    streak_max_hu: float = 600.0
    """A pixel is scored only when it lies within this many HU of the soft-tissue peak
    (the dense-bone level, ``SegmentParams.dense_bone_offset_hu``): streaks reach
    +-100-500 HU near metal; a brighter pixel is bone or metal, a darker one air."""

    edge_mm: float = 2.0
    """Pixels within this distance (mm) of bone or air (beyond ``streak_max_hu`` from
    soft tissue) are not scored or replaced: their deviation from the median is the
    edge's partial volume and the kernel's overshoot (PSF FWHM ~1 mm plus a pixel), and
    airways lined up with a dense piece (the nasal cavity above the teeth) pass as
    lines."""

    edge_px: float = 1.5
    """... and within this many pixels of them (at least the 8 neighbours, whatever the
    pixel size): an edge's partial volume fills the pixel beside it, so on a 3 mm grid a
    2 mm margin left the partial-volume skull beside the dense one (300-600 HU above
    soft tissue) scored as tissue, and lines running along it passed as streaks."""

    exclude_mm: float = 4.0
    """Pixels this close (mm) to metal are not scored: the metal's own blur (PSF FWHM
    ~1 mm) and blooming, where every line through the piece meets the same bright rim."""

    line_z: float = 5.0
    """A line is a streak when its mean deviation is this many standard errors from
    zero: with ~10^3-10^4 lines a slice, a Gaussian tail of 5 sigma (3e-7 one-sided)
    keeps the expected number of false lines per scan far below one."""

    min_amplitude_hu: float = 6.0
    """... and when that mean is at least this many HU: a fifth of the brain/CSF
    contrast (~25-30 HU, NOTES.md); a weaker shift moves no voxel across the cut that
    lies midway between them."""

    correlation_mm: float = 1.5
    """Distance (mm) over which the deviation of neighbouring samples is correlated
    (scanner PSF FWHM ~1 mm plus the pixel): the number of independent samples of a
    line is its scored length over this (at least one pixel)."""

    mark_window_mm: float = 10.0
    """Along a streak line, the deviation is averaged over this length (mm) to find
    where the streak is: long enough to average noise (x ~2.5), short against the
    fading of a streak (tens of mm)."""

    mark_z: float = 2.5
    """A pixel of a streak line is a streak pixel when that local average keeps the
    line's sign and is this many of its standard errors from zero (one-sided 0.6 %)."""

    neighbour_slices: int = 1
    """Slices on either side of a slice holding metal that are searched too, along lines
    through the metal's place in the nearest metal slice: a slice whose sensitivity
    profile (FWHM about the slice spacing) takes in the end of a piece streaks, more
    weakly, although partial volume keeps its pixels below the metal level."""

    side_min_mm: float = 20.0
    """A streak line must show its streak on each side of the metal that crosses at
    least this much tissue (mm): filtered back-projection spreads a ray's error along the
    whole ray, while anatomy that happens to line up with a dense piece (the row of
    teeth along the dental arch) lies on one side. A side in air (a valve under the
    scalp) is not asked. Twice ``mark_window_mm``: long enough for a mean of ~13
    independent samples at 1.5 mm correlation."""

    near_mm: float = 30.0
    """Length (mm) of tissue, from the metal outward on each side, over which a line is
    scored (the median deviation of those pixels): a streak radiates from the metal and
    is strongest beside it."""

    side_z: float = 3.0
    """Standard errors (against the pixel noise) by which each such side's mean must be
    from zero with the line's sign: one-sided 0.13 %, the line as a whole having passed
    ``line_z``."""

    min_line_fraction: float = 0.01
    """A dense piece is metal (in a slice) when at least this share of the lines
    through it are streak lines. Measured: the shunt-valve stressor 1.8-3.7 % (size 128,
    all stressors) to 16-21 % (Colin27, 1.5 mm), the FBP-reconstructed metal of
    ``tests/segment/test_metal.py`` well above; the teeth of the InVesalius head CT
    (enamel up to 2986 HU, no streaks) at most 0.24 % (anatomy that happens to line up
    beats the null on a few lines); 1 % lies between with a factor of ~2-4 each way."""

    explained_k: float = 3.0
    """A pixel of a streak line is a streak pixel only when its deviation lies within
    this many robust deviation sigmas of the streak's local level (dimensionless): the
    streak explains it. Thin bone or a vessel crossed by a bright line deviates by
    hundreds of HU more and keeps its value."""

    line_step_mm: float = 1.0
    """Spacing (mm) of the lines (at their far end and across a piece) and of the samples
    along them, at least a pixel: a streak is 1-3 mm wide, so sub-millimetre grids are
    searched on this step (a 0.5 mm slice costs 8x less) and the marks are grown by half
    a step to the pixels between, keeping the sign of their deviation."""

    max_pieces_per_slice: int = 8
    """Largest number of metal pieces per slice whose lines are scored (the largest
    ones); more is a dental arch of fillings, whose lines the largest already cover."""


@dataclass(frozen=True)
class SegmentParams:
    """Parameters of :func:`twinsep.segment.segment_ct` and :func:`segment_mr`."""

    smooth_sigma_mm: float = 0.6
    """Gaussian pre-smoothing (mm) before thresholds: halves voxel noise at 0.5-1 mm
    voxels while blurring a 1.5 mm infant skull by less than its thickness."""

    noise_method: Literal["interior", "window"] = "window"
    """How ``ct_statistics`` reads the CT's noise (``histogram.noise_level``): on the
    whole soft-tissue window (94caf67's estimate) or on its interior, 2 voxels from its
    edges. The interior is within 10 % of the truth on every phantom family, white and
    correlated (the window: up to +57 % on a turned 2.5 mm grid, +15 % at 10 HU on the
    phantoms), but the brain/CSF step was tuned on the window's reading and loses CSF
    with the right noise on some rows (docs/segmentation.md, "The CT noise estimate"),
    so the window stays the default until that step is re-tuned."""

    tissue_noise_hu: float = 4.0
    """Noise (HU) the brain/CSF classifier works at: brain (~33 HU) and CSF (~8 HU) are
    then ~6 sigmas apart. The smoothing that reaches it is computed from the measured
    noise and the voxel size (see ``_tissue_sigma_mm``)."""

    tissue_sigma_bounds_mm: tuple[float, float] = (0.5, 1.5)
    """Bounds (mm) of that smoothing: below 0.5 mm it does nothing useful; above 1.5 mm
    the subarachnoid CSF (1-3 mm in infants) would blur into brain."""

    bright_smooth_vx: float = 0.5
    """Gaussian sigma (voxels) of the image on which cavity voxels brighter than brain
    (partial volume with bone or blood, hence CSF) are found. It cuts voxel noise by
    ~2.3x while a neighbour keeps only ~10 % weight, so the bright bone rim does not
    spread a voxel deep into the brain; in voxels because the rim is a voxel-scale
    effect. Measured (issue 4): raw values (0) gave CSF Dice 0.05-0.45 lower at noise
    30 HU on 2.3 mm phantoms, the tissue smoothing (~1.5 mm) 0.03-0.1 lower."""

    bright_smooth_min_mm: float = 0.64
    """Lower bound (mm) of that smoothing on fine grids: the sigma of the scanner's own
    blur (soft-tissue head kernels, FWHM 1-1.5 mm), which it widens only by sqrt(2)
    while cutting the noise of sub-millimetre voxels. Measured on a generated 0.6 mm
    head wall (tests/segment/test_brain_csf.py): CSF Dice 0.60 -> 0.74; unchanged on
    grids of 1.3 mm or coarser, where half a voxel is already wider."""

    dark_grid_mm: float = 1.0
    """The dark (CSF darker than brain) test runs on blocks of about this size (mm) when
    the CT is finer: subarachnoid CSF 1-3 mm wide (infants) is still sampled, and on a
    0.5 mm CT the two smoothings it needs cost 8x less (a 512x512x400 cavity box
    takes ~2 s per full-grid Gaussian on 2 cores). The block mean counts toward the
    tissue smoothing (a box of width b has the sigma b/sqrt(12))."""

    bright_k_sigma: float = 3.0
    """Cavity voxels more than this many brain sigmas above the brain mean (on the
    lightly smoothed image) are bright partial volume, hence CSF: 0.13 % of a Gaussian
    brain class lies above; 3 sigma is the usual one-sided outlier bound."""

    bright_reach_mm: float = 2.5
    """A bright cavity voxel is partial volume (hence CSF) only within this distance
    (mm, per axis, at least one voxel) of a voxel outside the cavity (bone, vessel):
    three PSF sigmas of a 2 mm FWHM head kernel (sigma 0.85 mm), beyond which even
    2000 HU bone spills < 3 HU. Brighter voxels deeper in are not partial volume but
    the bright lines of metal streaks crossing the brain, labelled brain (tests/realism;
    docs/segmentation.md "Real-CT stressors": one shunt valve took Colin27 CSF Dice
    0.795 -> 0.481)."""

    soft_peak_range_hu: tuple[float, float] = (-150.0, 150.0)
    """Where the soft-tissue/brain histogram peak is searched (HU). Water is 0 HU, brain
    ~35 HU, muscle ~50 HU; a ±150 window tolerates badly calibrated scanners."""

    air_peak_range_hu: tuple[float, float] = (-1100.0, -700.0)
    """Where the air peak is searched (HU); air is -1000 HU."""

    padding_min_share: float = 0.01
    """An exact value in ``air_peak_range_hu`` holding at least this share (0-1) of the
    CT, far above its neighbouring values, while noisy air holds as much, is padding
    (noise-free fill outside a round field of view) and is left out of the air peak
    (``segment.histogram.padding_value``): -1024 HU in 15 % of the real CT twins moved
    the peak -998 -> -1022 HU and the face rotation 31.3 -> 26.4 deg."""

    body_threshold_bounds_hu: tuple[float, float] = (-600.0, -200.0)
    """The body threshold is midway between the air and soft-tissue peaks, clipped to
    these bounds (HU): fat (-100) stays inside, foam head rests (< -600) stay outside."""

    skin_edge_noise_k: float = 0.0
    """A voxel beside the body reading less than this many noise sigmas (of the smoothed
    CT) below the body threshold cannot be told from a half-filled voxel and is tissue
    (``segment.skin_edge``): the edge moves out by at most k sigma / (soft - air) of a
    voxel. 0 (the default) turns it off. At 1, outside probe (8 phantom rows, in
    process): twin acc. 0.9946-0.9971 -> 0.9974-0.9990, soft Dice -0.0012..+0.0029, other
    labels unchanged; but the fusion axes then read the flattened skin of a no-neck head
    as a scan cut (pa100-p30-lps-noneck refused as out of scope, 119 deg from B's vertex),
    so it stays off until they do not (docs/segmentation.md, "The skin's outer voxels")."""

    carve_radius_mm: float = 10.0
    """Radius (mm) of the ball that sweeps the heads (an opening): tables, head holders
    and tubes are thinner than 20 mm where they touch the scalp, infant heads far
    thicker."""

    appendage_mm: float = 15.0
    """Thin body parts the ball misses (ears, nose) are kept when they reach no more
    than this far (mm) out of the swept heads; tables and tubes reach much farther."""

    head_min_depth_mm: float = 25.0
    """A body piece is a head only if some point lies this deep (mm) under its surface;
    a newborn head is ~45 mm in radius, a table or head holder at most ~15 mm thick."""

    support_far_fraction: float = 0.25
    """A rejected piece touching the heads is a support (table, head holder, tube) when
    at least this share of its volume lies farther than ``appendage_mm`` from the swept
    heads; the part of it the sweep took at the contact is then cut back
    (``segment.pressed``). A plate or rod of even section reaching L mm out has the share
    1 - appendage_mm / L (0.25 at L = 20 mm; tables reach the edge of the field of
    view: measured 0.86-0.98, the independent head holder 0.67), while a tapering part whose tip
    alone pokes out has little there (a paraboloid reaching H mm: ((H - 15) / H)^2, 0.25
    at H = 30 mm; the phantoms' jaw pieces 0.003-0.013). A touching piece with less than
    this share beyond is head, however far its tip reaches: the jaws' reach read on the
    ~2.4 mm coarse grid was 12-16 mm, so which rows kept them depended on the grid."""

    support_thin_ratio: float = 2.0
    """A principal direction of a support piece near the heads is a thickness direction
    when its spread is at most this times the smallest (``segment.pressed``): a plate has
    one (its width near the contact, >= 2 x ``carve_radius_mm``, spreads >= 4 times its
    thickness of <= 2 x ``carve_radius_mm``), a rod two of equal spread (ratio 1) and a
    long one; 2 lies between. Measured spreads: tables 2.1-2.9 mm thick vs 25-69 mm
    wide, the independent phantom's holder 3.4 vs 24-26 mm."""

    support_contrast_sigmas: float = 2.0
    """A support is cut back only when its median value (smoothed CT, HU) differs from the
    soft-tissue peak by at least this many spreads of a 3x3x3 block mean (1.4826 x MAD of
    its voxels / sqrt(27)), i.e. when a block of the support can be told from scalp
    with the split one spread from each level (~16 % error). Each voxel is then judged
    alone (support if within half the support/scalp gap of the support's level):
    single noisy voxels of the support are missed and stay body, the behaviour without
    the cut; a block mean instead took scalp beside the support and moved the cavity
    (independent phantom, angular, 10 HU: vessel -0.007). Plastic and carbon supports
    read 100-300 HU against soft tissue at ~40 HU; one of soft-tissue value is left."""

    coarse_mm: float = 3.0
    """Voxel size (mm) of the coarse grid used for the large-scale steps (table removal,
    skull closing, geodesic growth): they concern centimetre structures."""

    bone_low_offset_hu: float = 110.0
    """Hysteresis low threshold = soft peak + max(this, ``bone_low_noise_k`` x noise).
    Infant bone with partial volume peaks at only 300-600 HU; 110 HU above soft tissue
    keeps thin bone while staying above brain, muscle and blood without contrast."""

    bone_low_noise_k: float = 4.0
    """Noise multiple (of the noise of the smoothed image) the low threshold must clear."""

    bone_high_offset_hu: float = 260.0
    """Hysteresis high (seed) threshold = soft peak + this (HU): every voxel of a bone
    piece reaches ~300 HU somewhere even in newborns."""

    bone_halfmax_mm: float = 2.0
    """Half-width (mm) of the neighbourhood whose brightest voxel sets the local
    half-maximum bone edge: about the thickness of infant bone plus the scanner blur.
    Peak and edge are read on the unsmoothed CT (``segment.ct._bone_mask``): the
    ``smooth_sigma_mm`` smoothing lowers the peak of a plate as thin as the blur, which
    put the edge outside the plate (issue 4, tests/segment/test_bone_plate.py). On
    anisotropic grids with voxels thicker than this, the bone label searches the peak
    this plus ``(max(spacing) - spacing) / 2`` along each axis (``segment.ct.
    thick_slice_reach_mm``): a slab lowers a plate lying along it to ``B t / s``, and
    the full value shows where the plate crosses the slab steeply."""

    marrow_inside_mm: float = 1.0
    """Cancellous bone (diploe, 300-700 HU) below the half-maximum edge is added to the
    bone label where no voxel of the smoothed CT below the bone floor lies within this
    distance (mm; ``segment.marrow``; 0 turns it off): such a voxel is inside bone, not
    on its blurred edge. An infant's unilaminar plate (1-2.5 mm) has soft tissue within
    ~1 mm of every voxel, open sutures are 0.8-2.4 mm wide (Mitchell et al., AJNR
    2011;32:1801) and dark in their middle, while the marrow lies under a 1-2 mm
    cortical table plus the blur outside it. Tested on blocks of ``marrow_grid_mm``, so
    the voxel's true clearance is 1-2 block widths."""

    marrow_grid_mm: float = 1.0
    """Block size (mm) of the marrow tests: the diploe is 2-10 mm thick, so 1 mm blocks
    sample it at least twice, and on a 0.3-0.75 mm CT the tests run on ~9x fewer
    voxels (the full-grid version cost 1.9 s on a 512x512x400 CT, docs/segmentation.md
    "Real-CT stressors"); CTs coarser than this are used as they are."""

    marrow_wall_fraction: float = 0.8
    """A piece of inside-bone-range voxels is marrow when at least this share (0-1) of
    the blocks around it (26-neighbours) hold bone: the diploe is enclosed face to face
    by the two tables, while a narrow gap between two bone surfaces opens at its ends,
    a contrast-filled vessel or calcification lying on bone has about half its wall
    there and one in soft tissue none. Measured (issue 4, ``segment.marrow``): the
    Colin27 diploe sheet 0.88-0.9 (all of its 145 k voxels kept up to 0.88); the
    partial-volume gaps between the bones of the infant phantoms (no marrow) up to
    0.70-0.75 at 1.2 mm (vertical-II, angular-occipital-partial, size 256: 300-470
    voxels of soft tissue added at 0.5, bone Dice -0.001; none at 0.75) and up to
    0.80-0.85 on 1 mm blocks of the 512x512x400 CT resampled from one (8069 voxels,
    0.66 mL, at 0.75; 125 at 0.8); on the real adult CT 0.5 / 0.75 / 0.8 add 26.3 /
    21.0 / 18.7 k voxels (the calvarial diploe in all; the difference is cancellous
    bone of the skull base and mandible whose pieces touch foramina and sinuses)."""

    marrow_sheet_ml: float = 5.0
    """A piece of at least this volume (mL, of its ~1 mm blocks) is the diploe sheet and
    needs only ``marrow_sheet_wall_fraction`` of bone in its wall: a sharp (bone) kernel
    and FBP noise put below-floor voxels into the marrow, which breaks the wall of the
    sheet up (Colin27 with every stressor: two sheets of 69 and 78 mL at 0.63-0.64),
    while the gaps between an infant's bones are small (<= 0.14 mL at 1.2 mm, <= 1.3 mL
    on the 512x512x400 CT resampled from a phantom) and a vessel or calcification lying
    on bone is a few mL at most; the real adult CT's largest pieces are 1.5-5.8 mL at
    0.76-0.99 (unchanged by this)."""

    marrow_sheet_wall_fraction: float = 0.5
    """Share (0-1) of bone in the wall of a piece of ``marrow_sheet_ml`` or more for it to
    be marrow: at least half walled by bone (the broken Colin27 sheets: 0.63-0.64)."""

    pool_core_mm: float = 5.0
    """Erosion radius (mm) of the blood-level bright voxels outside the cranial cavity
    whose remaining cores mark a compact pool of blood (``segment.blood_pool``): no
    infant bone is 10 mm thick at blood level (plates 1-2.5 mm, ribs and long-bone
    shafts 5-8 mm, a vertebral body's marrow under its cortex), while a heart chamber
    or the aortic root of a 6-month-old is 15-30 mm across."""

    pool_min_core_ml: float = 2.0
    """Smallest core (mL, after the ``pool_core_mm`` erosion) of a blood pool; 0 turns the
    rule off. A 6-month heart's chamber blood (~40 mL) leaves cores of 5-20 mL; a ball
    of this core volume grown back by 5 mm is ~9 mL."""

    pool_max_elongation: float = 6.0
    """Largest ratio of a pool core's longest to shortest principal standard deviation
    for it to be a pool (``segment.blood_pool``): heart chambers' cores are blobs
    (1.8-2.7 on the blind bodies CTs, 2.5 mm), the core of a vertebral column joined by
    partial volume is a rod along the spine (26.8 there)."""

    pool_band_sd: float = 2.5
    """A pool grows through the blood-level bright voxels joined to it whose CT value
    lies within this many noise SDs of its median (``segment.blood_pool``)."""

    pool_grow_mm: float = 30.0
    """How far (mm) a pool grows that way (0: not at all): the atria and the apex of a
    6-month heart, thinner than the core erosion, lie within ~30 mm of the ventricles'
    cores."""

    pool_shell_mm: float = 3.0
    """Thickness (mm) of the shell around a pool whose values are compared with the
    pool's median (``pool_shell_max_fraction``)."""

    pool_shell_margin_hu: float = 100.0
    """A shell voxel brighter than the pool's median by more than this (HU) counts as
    a cortical shell (cortex 600-1500 HU over marrow 300 HU; myocardium, lung and fat
    around blood are darker than it)."""

    pool_shell_max_fraction: float = 0.2
    """Largest share (0-1) of a pool's shell brighter than it for the pool to be blood:
    marrow under a cortical shell is bone."""

    dense_bone_offset_hu: float = 600.0
    """Voxels brighter than soft peak + this (HU) are bone, never contrast: iodinated
    venous/arterial blood stays below ~500 HU at usual injection protocols."""

    skull_close_mm: tuple[float, ...] = (10.0, 16.0, 24.0)
    """Closing radii (mm) tried in turn to close sutures, fontanelles and the foramen
    magnum so that the intracranial space is enclosed; the closed skull is used only to
    find that space, never written as bone. A newborn's anterior fontanelle is up to
    ~40 x 25 mm, hence the largest radius."""

    cavity_channel_mm: float = 6.0
    """Half-width (mm) of the narrowest channel through which the cranial cavity is
    considered open to the outside air: the infant spinal canal (8-12 mm) below a scan
    cut through the neck, sutures and vascular foramina are narrower, so the cavity is
    still found when the scan ends in air below the neck."""

    cavity_max_slice_mm: float = 6.0
    """Largest voxel size (mm) along any axis (the slice step of a thick-slice series) on
    which the cranial cavity is looked for; a CT with coarser voxels is refused, naming
    its slices (``segment.cavity``). Up to 6 mm the channel ball (``cavity_channel_mm``)
    spans a slice, and the cavity was found on every case measured (docs/segmentation.md
    "Thick-slice head CT", 2026-11-28): intracranial Dice 0.98-0.99 on the independent
    phantom, the probe and twinsep.phantom at 5-6 mm, 0.974 on the real-CT twins
    averaged into 6 mm slabs against their own 1 mm plan. At 7 mm it still planned
    (0.96-0.98) with CSF Dice 0.38-0.57 and bone 0.69-0.92; at 8 mm the independent
    angular twins were planned with one head's cavity missed (intracranial Dice 0.65,
    no error) or refused, and at 10 mm every phantom was refused as "not a head".
    The limit stays 2 mm below that cliff."""

    skin_air_passage_mm: float = 3.0
    """Radius (mm) of the ball that the air around the head must pass for the depth
    under the skin (the scalp layer of ``segment.cavity``) to be measured from it
    (``segment.cavity._skin_air``); 0 measures it from all air connected to the
    outside. Air that reaches the outside only through a narrower passage lies under
    thin bone beside the posterior and anterior fossae: on Colin27 a notch of air under
    the left occipital bone took 37 mL of cerebellum within a scalp's depth (11 mm) of
    it for scalp. Only such air walled by bone (``skin_air_bone_share``) and not in
    pneumatised bone (``skin_air_cells_share``) is left out."""

    skin_air_bone_share: float = 0.25
    """Share (0-1) of the wall of a piece of air beyond a narrow passage (the body voxels
    beside it) that must lie within one voxel of bone for the piece to be in the bone
    and not count as skin (``segment.cavity._skin_air``). The floor of the narrow crease
    between two joined heads' scalps is skin: 0.00 on the analytic vertical twins at
    1.5 mm; Colin27's notches of air under the occipital bone 0.35-0.51."""

    skin_air_cells_level: float = 1.0 / 3.0
    """A body voxel whose (smoothed) CT value lies at least this share (0-1) of the way
    from the soft-tissue peak to the air peak is part air (``segment.ct``): the septa and
    cells of pneumatised bone, which the smoothing averages (fat, at about 0.13, is
    not)."""

    skin_air_cells_share: float = 0.02
    """Largest share (0-1) of part-air voxels (``skin_air_cells_level``) in the non-bone
    body that leaving a bone-walled piece of air out of the skin would take out of the
    scalp layer, for it to be left out (``segment.cavity._skin_air``). More is
    pneumatised bone (mastoid, ethmoid and sphenoid cells around the air), and the air
    stays skin: the cells' septa are no cranium. Measured: Colin27's notches 0.000 /
    0.000 / 0.007; the adult real CT's (Cranium.inv3) mastoid, middle-ear and sinus
    pieces with a scalp-layer zone over 0.5 mL 0.032-0.355 (single CT and both fused
    cases; docs/segmentation.md)."""

    cavity_grid_mm: float = 2.0
    """Voxel size (mm) of the coarse grid on which the cranial cavity is found
    (``segment.cavity``); the full grid is used only for the last step (non-bone
    voxels at the cavity's edge). Blocks count as bone when a quarter of them is bone,
    so a 2 mm infant plate stays closed and one-voxel noise holes do not open it.
    Measured on a 512x512x400 CT (0.31-0.75 mm, issue 4): 2.35 s of CPU at 2 mm, 3.1 s
    at 1.5 mm, cavities agreeing to Dice 0.999; CTs coarser than ~1.4 mm are used as
    they are."""

    suture_gap_mm: float = 3.0
    """Widest gap (mm) between two bone surfaces that the cranial cavity does not follow
    through the skull (``segment.cavity._to_full_grid``): a run of non-bone at most this
    long, bounded by bone at both ends along one of the 13 lines of the grid, is a gap;
    the cavity keeps a gap's voxels only where they are a dead end or nearer the cavity
    than the scalp. Open infant sutures are 0.8-2.4 mm wide after the first month
    (Mitchell et al., AJNR 2011;32:1801); at 1.17 mm a 1.5 mm suture is a one-to-two
    voxel channel that the cavity followed onto the scalp (issue 4). Fontanelles are
    wider and handled by the scalp-depth rule on the coarse grid."""

    cavity_wall_middle_share: float = 1.0 / 3.0
    """Where the cranial cavity is found as separate pockets (two heads in their own
    skulls: a partial union), a non-pocket voxel within the crevice growth's reach of
    two pockets is in the wall between the skulls (two plates and the seam of soft
    tissue between them; ``segment.cavity._between_heads``) when its distance to the
    nearer pocket is at least this share of its distance to the farther, and is then
    no cavity. The middle of a wall of two equal plates is equally far from both (share
    1); a corner of one cavity beside its own inner table is several times nearer its
    pocket and stays a crevice. On the two flat-plated crania of
    tests/segment/test_cavity_interskull.py at 1.2 mm a share of 0 (all that both
    pockets reach) cost 0.011 of one cavity's Dice, 1/3 cost 0.001. Above 1 the rule
    takes nothing."""

    cavity_plate_partial: bool = True
    """Voxels that hold part of a bone plate but lie under its half-maximum edge (above
    the bone floor ``bone_low_offset_hu`` and beside bone;
    ``segment.cavity_wall.plate_partial``) do not carry the cranial cavity through the
    plate at its wall (``segment.cavity.apply_wall_rules``): they are cavity only where
    they touch it. A 1.4 mm infant skull base on 2-2.5 mm slices, or thin bone beside
    the dense petrous ridge, keeps only its core in the bone mask, and the cavity passed
    through the rest into the fat and muscle under it (blind infant phantom, newborn 0.7
    x 0.7 x 2.5 mm: 4.2 k truth-bone voxels in the cavity, 18.4 k of fat and muscle
    beyond). Blood the vessel rule found (its evidence; its vessels on a contrast CT)
    is no plate, and with a sharp kernel the plate is read through its inverse
    (``segment.cavity_wall.wall_image``)."""

    cavity_fat_below_soft_hu: float = 90.0
    """At the cranial cavity's wall (``segment.cavity.apply_wall_rules``), voxels whose
    smoothed CT lies more than this under the soft-tissue peak read as fat (-100..-50 HU
    against a soft peak of ~40 HU; water and CSF 0-15 HU lie 25-40 HU under it) and are
    neither cavity nor a path for it: fat lies outside the dura (scalp, orbit, skull
    base), never in the cranial cavity of a plain or contrast CT. 0 turns the rule off.
    With noise the level is lower still (``cavity_fat_noise_k``). A sharp kernel's
    undershoot beside bone (100-300 HU) reads CSF as fat: where the edge response shows
    one, fat is read through the kernel's inverse (``segment.cavity_wall.wall_image``;
    read on the CT as it is, tests/segment/test_kernel.py lost CSF 0.87 -> 0.57-0.77)."""

    cavity_water_below_soft_hu: float = 40.0
    """Depth (HU) of water, the lowest CSF, under the soft-tissue peak (0 HU against ~40)."""

    cavity_fat_noise_k: float = 3.0
    """The fat level of ``cavity_fat_below_soft_hu`` lies at least this many noise sigmas
    of the smoothed CT under water (``cavity_water_below_soft_hu``): at 30 HU of noise on
    2 mm voxels (the smoothing takes little off) CSF reads under -50 HU often enough to cut
    0.013 of CSF Dice off the bench phantoms at 128."""

    suture_grid_mm: float = 1.2
    """Largest voxel size (mm) of the grid on which gaps through the skull are found
    (``segment.cavity._walled_cavity``): finer CTs are block-averaged to it (blocks that
    divide the ``cavity_grid_mm`` blocks; half a block of bone is bone), coarser ones are
    used as they are. A 0.8-2.4 mm suture is then one to two voxels, and the run test
    stays a few look-ups per voxel: on the full grid of a 512x512x400 CT (0.31-0.75 mm,
    up to 9 steps per side) it took 23 s."""

    min_intracranial_ml: float = 80.0
    """Smallest plausible intracranial volume per head (mL); a 26-week fetus has ~100 mL.
    Below this, the skull is taken as not enclosing a head."""

    cavity_bone_fraction: float = 0.67
    """Share (0-1) of a pocket's wall that must be skull for the pocket to be a cranial
    cavity (``segment.cavity``). The wall is what lies just beyond the free space around
    the pocket's core; it counts as skull where the closed skull covers it *and* real
    bone lies within one coarse voxel (the closing also bridges the wide gaps between
    facial bones, which are not skull). A cranial cavity is walled by bone except at
    fontanelles, the foramen magnum and a bony defect at the union of two heads; a face
    or neck is walled mostly by soft tissue. Measured (issue 4, 62 cases at 1.5-2.6 mm):
    cavities 0.72-1.00 (0.72-0.75 on Colin27, whose skull comes from an MR), faces and
    necks of the phantoms at most 0.62."""

    cavity_min_radius_share: float = 0.6
    """A pocket is a cranial cavity only when its inscribed radius (mm, the deepest point
    of its free space) is at least this share of the deepest pocket's (``segment.cavity``).
    The wall share (``cavity_bone_fraction``) alone does not tell a face from a cranium
    once the mandible is in the body: the oral pocket between maxilla, mandible and skull
    base was walled 0.71 by bone (angular-parietal-partial, 2.7 mm, 30 HU). Its depth
    does: a face is small against an infant's cranium (craniofacial volume ratio ~8:1 at
    birth, ~2:1 in adults, so a face's radius is at most ~0.8 of the cranium's and the
    oral pocket only part of the face), while the two heads of conjoined twins are of
    one age and size. Measured (issue 4): cranial cores 41-48 mm, oral pockets 20-21 mm
    (share 0.43-0.51) on the phantoms."""

    cavity_opening_share: float = 0.5
    """Radius of the ball (share 0-1 of a pocket's inscribed radius) that sweeps each
    pocket core before the part beyond a narrow opening is tested on its own
    (``segment.cavity._soft_walled_appendages``); 0 turns the test off. The foramen
    magnum (20-30 mm across in an infant, 30-35 mm in an adult) is narrower than a ball
    of half the cranium's inscribed radius (28-39 mm on the blind and our phantoms,
    ~60 mm in an adult), so the ball stops at it; the posterior fossa and the temporal
    fossae, swept or walled by bone, stay. Measured (blind phantom3 CTs, 2.9 mm): necks
    beyond the foramen 29-60 mL of core with walls 0.37-0.47 skull on the plain CTs,
    2.7-52 mL at 0.52-0.64 on contrast CTs (where the bright vertebral arteries and
    sinuses narrow it); our phantoms and the independent phantom have none."""

    cavity_opening_min_share: float = 0.002
    """Smallest piece beyond a narrow opening (share 0-1 of its pocket's core) that is
    tested on its own wall (``segment.cavity._soft_walled_appendages``). At the skull
    base of an adult with pneumatised air cells the wall of true cranium is broken too:
    Colin27 with the air-cells stressor had pieces of 1.4-1.5 mL of a 1389 mL core
    (0.10-0.11 %) walled 0.52-0.54 by skull, cut off as neck (brain -0.002). The necks
    of the blind phantom3 CTs are 0.35-7 % of their pocket (2.7-60 mL of 765-939 mL):
    they are still tested and go. 0b8d19c set 1 %, which kept the necks of 0.35-0.75 %
    (2.7-6.2 mL) in the cavity (soft -0.015..-0.025 Dice) and, through a vertebral body
    joined to the sinuses, erased every vessel of at130-occ-c15-fov before the vessel
    fix of ``VesselParams.textured_branch_min_mm`` (reverted in 993ca03)."""

    contrast_offset_hu: float = 90.0
    """Intracranial voxels brighter than soft peak + this (HU), away from bone, are
    contrast candidates (enhanced blood: 150-400 HU; brain: 20-45 HU)."""

    vessel_sigma_mm: tuple[float, ...] = (1.0, 2.0)
    """Scales (mm) of the Hessian tubularity test: cortical veins ~2 mm, sinuses 5-10 mm."""

    tube_ratio_min: float = 0.45
    """Minimum |lambda2|/|lambda3| for a tube: 1 for a round tube, 0 for a plate (the
    edge of a bone plate); 0.45 accepts the triangular cross-section of a sinus."""

    vessel: VesselParams = VesselParams()
    """Sinus/vessel rule (bone core, partial-volume rim, intracranial side, size)."""

    metal: MetalParams = MetalParams()
    """Metal pieces and their streak lines (``segment.metal``)."""

    lungs: LungParams = LungParams()
    """Aerated lungs inside the body are air (``segment.lungs``)."""

    leads: LeadParams = LeadParams()
    """ECG leads on or outside the skin are background (``segment.leads``)."""

    gmm_max_samples: int = 200_000
    """Voxels sampled (seeded) to fit the brain/CSF mixture: enough for 3 parameters a
    class, bounded so the fit costs milliseconds."""

    csf_brain_min_sep_hu: float = 8.0
    """If the fitted CSF and brain means are closer than this (HU), the mixture is
    rejected and CSF is taken as voxels 2.5 noise sigmas below the brain peak."""

    csf_brain_min_sep_noise: float = 2.0
    """The mixture is also rejected (same fallback) when its CSF and brain means are
    closer than this many noise sigmas of the dark test's smoothed image
    (dimensionless). Two Gaussian classes of equal sigma make two modes only when their
    means are more than 2 sigmas apart; closer, the histogram has one mode and the
    "CSF" class EM finds is a split of the brain's own noise and grey/white texture,
    not CSF. This happens on coarse noisy grids (3.1-3.6 mm at 30 HU: smoothed noise
    ~21 HU, the 1.5 mm smoothing bound being under half a voxel): the split put the
    boundary 15-25 HU too high and 17 % of the deep brain became CSF. Measured (issue
    4, seed 0, brain/CSF step on cached cavities): at noise 30 HU brain +0.01..+0.11
    and CSF +0.05..+0.23 on 8 of 12 size-96 rows (all 12 now brain 0.966-0.972, CSF
    0.69-0.74; before 0.856-0.970 / 0.45-0.72), CSF +0.005..+0.028 on 10 of 12
    size-128 rows, +0.013 on the independent phantom at 3.2 mm / 30 HU; analytic twins,
    Colin27 and noise-10 rows unchanged or within -0.002. A generated head at 3.5 mm,
    30 HU (tests/segment/test_brain_csf_coarse.py): brain 0.91-0.95 -> 0.98. 2 is the
    bimodality bound, not a fitted value."""

    csf_three_class_min_bic: float = 10.0
    """Brain is modelled as two tissues (grey and white matter) for the brain/CSF
    boundary when a three-class fit of the smoothed cavity beats the two-class fit by
    more than this difference of the Bayesian information criterion (dimensionless;
    ``segment.brain_csf._two_tissue_boundary``); ``inf`` turns it off. 10 is the
    conventional "very strong evidence" bound (Kass & Raftery, J Am Stat Assoc 1995;
    90:773), not a fitted value. Grey (35-40 HU) and white matter (25-30 HU; infants'
    unmyelinated white matter lower) are resolved once the smoothed noise is below
    their contrast, i.e. on fine grids; there the two-class fit put its CSF class on
    white matter (mean 25.5 HU, weight 0.26 at 1.17 mm) and labelled 79 k of 693 k
    brain voxels CSF. Measured (issue 4, seed 0): dBIC 700-6400 on the 1.2-2.7 mm
    phantoms at noise 10 HU and on Colin27, -36 to -43 on the analytic twins (one brain
    tissue). The three-class cut is used when it is below the two-class boundary (it
    bounds CSF from above: the two-class CSF class can only be pulled up by white
    matter) or when the two-class fit merged CSF with white matter. With infant white
    matter (22 HU in vertical-II) the two-class rule took all white matter for CSF at
    every spacing (brain 0.74-0.79); the three-class rule gives 0.95-0.98
    (tests/segment/test_brain_csf_two_tissue.py)."""

    csf_max_contrast_hu: float = 40.0
    """Largest brain-to-CSF contrast (HU) a cavity can show: the heaviest class of the
    brain/CSF fit (brain: grey matter 35-45 HU, white matter 20-30 HU, their mix) lies at
    most this far above water (CSF, 0-15 HU on a calibrated CT; partial volume with
    brain only lifts it). A lowest fitted class whose mean minus one sigma lies deeper
    below the brain class than this plus ``csf_artefact_noise_k`` smoothed-noise sigmas
    is darker than water can be: an artefact (sharp-kernel undershoot beside the inner
    table, beam-hardening darkness, fat or air partial volume), not CSF, and the class
    above it is CSF (``segment.brain_csf._below_water``) unless it may be white matter
    (``csf_grey_white_max_hu``). Relative to the brain class,
    so a CT calibrated tens of HU off is judged alike. Measured (issue 4, smoothed
    cavity fits): brain class minus (mean - sigma) of the lowest class 18-38 HU on
    every phantom, analytic, independent and Colin27 row (largest: independent phantom
    at 3.2 mm, 38 HU against a bound of 51 HU); 70 HU on the real head CT
    (InVesalius Cranium) and 87-88 HU on Colin27 with the sharp-kernel stressor, where
    the lowest class (-20 / -29 HU, sigma 26-27 HU) had been taken as CSF and the CSF
    below -6 / -10 HU. 40 HU is grey matter (~40 HU) over water (0 HU), not a fitted
    value."""

    csf_artefact_noise_k: float = 2.0
    """Margin of the artefact-class test (``csf_max_contrast_hu``), in smoothed-noise
    sigmas of the dark test (dimensionless): a pure-water CSF class fitted on a noisy
    image has its mean minus sigma about one noise sigma below water; 2 sigmas leave
    the same again for the fit's error. Bound at the smoothed noise of 4 HU: 48 HU."""

    csf_grey_white_max_hu: float = 18.0
    """Largest grey-white matter contrast (HU) on CT. When the brain/CSF fit's lowest
    class is an artefact (``csf_max_contrast_hu``) and the heaviest class is one tissue,
    the class between them is brain's other tissue (white matter), not CSF, if it lies
    at most this far below the heaviest class; then CSF is taken from a four-class fit
    (kept with the artefact, as before the artefact rule) or, when four classes are not
    resolved, the two-class boundary is used (``segment.brain_csf._two_tissue_boundary``).
    Adult grey 35-45 HU over white 25-32 HU (6-12 HU), infant unmyelinated white matter
    20-25 HU under cortex at 35-40 HU (up to ~15 HU; our phantoms 8-14 HU). Without it an
    undershoot class above white and grey matter and no resolved CSF (a mixture test)
    cut at 28-30 HU, all white matter CSF; the two-class boundary is 6-13 HU there; on
    the size-256 sharp-kernel phantoms (white 8-11 HU under grey) taking the class above
    the artefact as CSF lost up to 0.042 CSF. Sharp-kernel Colin27 has its CSF class
    21.5 HU under a one-tissue brain class (CSF, as wanted); all-stressor Colin27 16.4 HU
    (taken as possible white matter: two-class boundary, CSF 0.495 -> 0.590)."""

    csf_min_noise_volumes: float = 1.0
    """A CSF piece that does not reach the cavity wall is kept only when its dark part
    fills at least this many noise volumes (dimensionless; 0 keeps every piece). The
    noise volume ``(4 pi)^(3/2) s^3`` (``s`` the dark-test smoothing, mm) is the volume
    whose mean has the noise of one smoothed value, so a smaller piece rests on about
    one independent noise sample (``segment.brain_csf._resolved_csf``); ventricles,
    cisterns and sulci joined to the subarachnoid space are far larger. One is that
    resolution bound itself, not a fitted value. Measured (issue 4, seed 0): CSF Dice
    +0.004..+0.029 on all 24 size-128 phantom rows (2.3-2.7 mm), +0.001..+0.026 at
    size 96, +0.008..+0.016 on the 8 analytic rows, +0.005/+0.009 on Colin27, brain
    not lower anywhere; 2 noise volumes gave +0.002 more at 2.3-2.7 mm and the same
    elsewhere."""

    csf_deep_sigma_mm: float = 3.0
    """Gaussian sigma (mm) of the second dark test, for CSF bodies much wider than the
    first one's smoothing (``segment.brain_csf._deep_csf``; 0 turns it off): a body
    wider than about four sigmas (12 mm: enlarged lateral ventricles are over 15 mm
    wide, hydrocephalus) keeps its own value at its centre, while 15-30 HU of noise on
    3 mm voxels falls to 3-5 HU (the first test, capped at 1.5 mm, leaves 8-13 HU).
    Measured (blind phantom3 vertical union with 42 mL of ventricles at 8 HU, in-process
    segment_ct): ventricle CSF recall 0.83 / 0.38 / 0.05 -> 0.96 / 0.93 / 0.82 at
    5 / 15 / 30 HU noise (3 mm), 0.88 / 0.76 -> 0.97 / 0.95 at 1.2 mm (15 / 30 HU);
    the same heads without hydrocephalus, the 48 size-96/128 phantom rows and Colin27
    unchanged."""

    csf_deep_min_noise_volumes: float = 2.0
    """The second dark test is used only when its CSF class, and each piece it keeps,
    holds at least this many noise volumes ``(4 pi)^(3/2) s^3`` of its smoothing
    (dimensionless; 2.4 mL at 3 mm): smaller is one or two independent noise samples.
    Measured: the class holds 25-36 mL with hydrocephalus and 0.00 mL on the normal
    blind phantom3 heads (3 and 1.2 mm, 5-30 HU), whose ventricles (about 7 mL) the
    first test already resolves; with the piece rule alone (1 noise volume, no class
    bound) the empty class's cut (21-24 HU) took 23-137 mL of brain."""

    csf_deep_min_sep_sigmas: float = 3.0
    """The second dark test's CSF class must be a mode of its own: its mean at least
    this many mean class sigmas below brain's (dimensionless; two equal Gaussians show
    two modes from 2 sigmas apart, 3 leaves a dip). Measured: hydrocephalic ventricles
    3.7-5.0 (blind phantom3, 3 and 1.2 mm, 5-30 HU), Colin27 2.0, a normal generated
    head at 3.5 mm and 30 HU, whose brain noise the fit split, 0.9-1.8."""

    csf_grow_to_midpoint: bool = True
    """Where the brain/CSF edge is a Bayes crossing (which weighs CSF by its share of the
    whole cavity), CSF grows from the voxels under it through the face-connected voxels
    under the midpoint of the CSF level and the brain class mean, never above a
    three-class cut (``segment.brain_csf._csf_edges``): beside CSF, CSF is not a few per
    cent of the voxels. The growth is gated (``csf_grow_gate_sigmas``) and the CSF level
    of a class wider than the noise is its mean less the excess sigma (partial volume).
    False keeps the Bayes edge alone. History: ungated and to the class mean (189cb55) it
    lifted the infant blind BESS rows (CSF 0.72 -> 0.85) but percolated through the brain
    under strong noise (analytic infant twins, 1.0 mm, 30 HU: CSF Dice 0.891 -> 0.745) and
    was off from bdfdcb7; gated (2026-11-28, helper CSG) those rows keep 0.891 and the BESS
    rows gain less (4 months 0.719 -> 0.781 in process); docs/segmentation.md has every
    row. ``test_brain_csf_default.py`` holds the analytic row."""

    csf_grow_gate_sigmas: float = 6.0
    """The growth to the midpoint (``csf_grow_to_midpoint``) takes a voxel only where a
    smoothing of the non-bright cavity also reads under the midpoint; that smoothing is
    at least the dark test's and ``csf_grow_gate_min_mm``, and wide enough to leave this
    many of its noise sigmas between the midpoint and the brain class mean
    (``segment.brain_csf._grow_gate``). Brain far from CSF then passes with probability
    Phi(-k) (1e-9 at 6) in isolated blobs, far under any percolation threshold, so the
    growth cannot run through it; a layer narrower than about 1.35 times that smoothing
    never reads under the midpoint and does not grow. The width follows the noise: at
    low noise it is narrow and 4-7 mm ventricles grow, at high noise wide. History: 3
    with a 3 mm floor (a09f2a0); 6 without it (2026-11-28, session 29, helper CSG):
    docs/segmentation.md has every row."""

    csf_grow_gate_min_mm: float = 0.0
    """Lower bound (mm) of the growth gate's smoothing (``csf_grow_gate_sigmas``); 0
    leaves the noise rule and the dark test's width. a09f2a0 used the deep-CSF test's
    body scale (3 mm) with 3 sigmas: that floor held the analytic rows but was the width
    used on every row (the noise rule asked 1.0-2.6 mm), so it did not follow the noise
    and kept 4-7 mm ventricles from growing at low noise."""

    csf_fit_min_clean_share: float = 0.25
    """The deep-CSF test (``csf_deep_sigma_mm``) fits and smooths without the acquisition
    slices that hold metal (within ``csf_fit_metal_reach_mm``), whose streaks shift
    whole bands of brain by tens of HU, when the other slices hold at least this share
    of the cavity (dimensionless); otherwise it keeps every slice (a fit on a few slices
    would measure too little of the brain's range). Ports, a valve and EEG electrodes spread
    over a head leave 44 % of the cavity clean (clinical blind 'all' case at 3 mm; the
    first choice, 0.5, left its fits on every slice: ventricle CSF recall 0.55, 0.79
    with the clean 44 %)."""

    csf_fit_metal_reach_mm: float = 6.0
    """Slices within this distance (mm; at least one slice) of a slice holding metal are
    left out of the deep-CSF fit too: a 1 mm metal disc tilted in 3 mm slices reaches
    the metal level in fewer slices than its partial volume and the slice profile carry
    its streaks into (clinical blind 'exp' case at 3 mm: the streaks shift the cavity's
    mean by 8-17 HU in up to two slices beyond the last slice with metal-level voxels,
    none further; at one slice the deep-CSF fit's CSF class still had a 9.0 HU sigma for
    3.4-3.8 without streaks, at two 3.4)."""

    csf_streak_level_sigma_mm: float = 6.0
    """In-plane Gaussian sigma (mm) of the local level from which the streaks' shift in
    the slices with metal is measured (``segment.streak_level``): wider than the dark
    test's smoothing, so that the level is the tissue mix and not its noise (15-19 HU
    noise on 3 mm voxels falls to about 3 HU), narrower than a port's dark band (about
    27 mm across at 70 mm in the clinical blind phantom). Measured (in-process
    ``classify_brain_csf`` on five clinical blind cases with ports): 4 and 10 mm gave
    brain and CSF Dice within 0.003 and ventricle recall within 0.01 of 6 mm."""

    csf_streak_tolerance_hu: float = 15.0
    """Deviation (HU) of a slice with metal from the clean slices around it that the
    streaks' shift leaves alone (``segment.streak_level``; a deviation beyond it is taken
    whole): anatomy changes across a run of slices with metal too (a ventricle bulging
    inside the run). On three clinical blind cases, against their streak-free rendering,
    the line model gave 90 % of the positions without a streak -6.3..+7.2 HU and 90 % of
    the enlarged ventricles' -13.2..+1.3 HU, streaked positions a median of -20.5 to
    -23.8 HU (true -22 to -25).
    10 / 15 / 20 HU on the expander + hydrocephalus case: twin B's CSF 113.7 / 114.0 /
    117.0 mL (truth 98.4; 134.5 without the shift), ventricle recall 0.841 / 0.849 /
    0.857 (0.865); vt0-c15-all recall 0.780 / 0.800 / 0.808 (0.819), brain Dice 0.9286 /
    0.9282 / 0.9279 (0.9187)."""

    csf_shell_depth_mm: float = 3.0
    """Depth (mm) below the cavity wall to which the dark test also smooths within
    shells of equal depth (``segment.shells``, ``segment.brain_csf._shell_values``;
    0 turns it off): the subarachnoid space under the inner table is 1-3 mm thick in
    infants (as for ``tissue_sigma_bounds_mm``), and there a layer parallel to the wall
    was averaged with the brain below it. Measured on cached cavities (issue 4, seed 0):
    3 and 4 mm gave the same CSF Dice to within 0.0015 on six rows (1.0-2.3 mm); deeper
    voxels keep the isotropic smoothing."""

    csf_shell_min_sigma_vx: float = 0.5
    """The shell smoothing is skipped when its Gaussian (``segment.shells.shell_sigma_mm``
    on the dark-test blocks) is narrower than this many blocks: a Gaussian of half a
    voxel gives each neighbour 13 % of the centre's weight, so it averages next to
    nothing (blocks whose noise is under ~7 HU, e.g. the 512x512x400 CT at 2 HU on its
    1 mm blocks, which then pays no extra time)."""

    kernel: KernelParams = KernelParams()
    """Sharp (bone) reconstruction kernel: detected from the inner table's edge
    response, undone for the brain/CSF rule (``segment.kernel``)."""

    seed: int = 0
    """Seed of the subsampling generator (results are deterministic)."""


@dataclass(frozen=True)
class MRParams:
    """Parameters of MR segmentation and CT<->MR registration."""

    registration_min_mi: float = 0.15
    """Smallest acceptable Mattes mutual information (nats, sign flipped to positive) after
    rigid registration; well-aligned head CT/T1 pairs reach 0.3-0.8, unrelated images
    stay below ~0.1."""

    registration_min_coverage: float = 0.9
    """Smallest fraction of the CT's cranial cavity the registered MR must show (inside
    its field of view, above half its air/tissue level). An MR of one head, or of other
    twins, can register above ``registration_min_mi`` (Colin27's single-head T1 on the
    Colin27 twin CT: MI 0.169) and then decided brain and CSF of the other head from
    air; it showed 0.48 of the cavity there, and the twins' own T1 0.998."""

    registration_min_head_dice: float = 0.90
    """Smallest Dice overlap (dimensionless, 0-1) of the registered MR's heads (above half
    its air/tissue level, holes filled) with the CT's heads (any tissue label), both
    inside the MR's field of view. An MR of other twins registers one head at best and
    passes ``registration_min_mi`` and the coverage (blind phantom, the angular case's MR
    on the vertical CT: MI 0.27-0.28, coverage 0.99; used silently before, CSF Dice 0.80
    -> 0.54). Measured: the twins' own MRs 0.958-0.988 (Colin27 real twins lowest), other
    twins 0.820-0.822, Colin27's single head 0.77-0.83, an own MR left 30-35 mm off
    0.56-0.79; 0.90 lies 0.06 below the nearest good pair and 0.07 above the nearest bad
    one (docs/segmentation.md, "An MR of other anatomy")."""

    registration_ct_window_hu: tuple[float, float] = (-200.0, 1500.0)
    """CT values (HU) are clipped to this window before the Mattes metric."""

    registration_iterations: int = 150
    """Maximum optimizer iterations per resolution level."""

    registration_gradient_tolerance: float = 1e-8
    """The optimizer stops when the metric's gradient is smaller than this (SimpleITK's
    default 1e-4 stopped the finest level after 14 iterations with the blind MR phantom
    1-2.4 mm off: the gradient, in units of the physical-shift scales, is that small
    near the optimum); the step size (``minStep`` 1e-3) then ends the search."""

    registration_bins: int = 32
    """Histogram bins of the Mattes metric (SimpleITK examples use 32-50)."""

    registration_sampling: float = 0.2
    """Fraction of voxels sampled by the metric (random, seeded). Measured on the blind
    MR phantom (CT 1.5 mm, MR 2 mm rotated 6/-4/8 deg, shifted 8/-6/5 mm), mean error
    over the cavity against the true transform: 0.05 -> 0.71 / 0.97 mm (venogram / plain
    T1 case), 0.1 -> 0.97 mm (plain), 0.2 -> 0.21 / 0.28 mm; the metric's noise, not
    the optimizer, left the rest."""

    venogram_k: float = 5.0
    """MR voxels brighter than the cavity median + this many robust sigmas are venous
    candidates: on a venogram (TOF/PC/contrast) sinuses are several times brighter than
    brain; on T1 nothing in the cavity is that bright except fat-free noise."""

    venogram_min_fraction: float = 0.001
    """The MR is taken as a venogram when tube-shaped bright voxels fill at least this
    fraction of the cavity (the dural sinuses alone are ~0.5-1 % of it)."""

    venogram_edge_share: float = 0.25
    """Partial-volume edges of the venogram's sinuses: next to a sinus piece already
    taken, a voxel is vessel too when it lies above the cavity median + this share of
    the way to the pieces' plateau (75th percentile of their voxels), connected to
    them (``segment.mr._venogram_edges``). A sinus's section is a few voxels across, so
    most of its voxels are edges, dimmed by the MR's voxel (thick slices) and the
    resampling onto the CT grid: the median + ``venogram_k`` robust sigmas test alone
    kept 31 % of the intracranial sinus voxels on the blind 1.2 x 1.2 x 3 mm venogram,
    61 % on the rotated 1.5 mm one, 79 % on the CT's own grid and pose. Intracranial sinus Dice on
    those three (docs/segmentation.md): 0.15 -> 0.74 / 0.84 / 0.90, 0.2 -> 0.75 / 0.84 /
    0.95, 0.25 -> 0.74 / 0.85 / 0.96, 0.3 -> 0.73 / 0.84 / 0.95, 0.5 -> 0.60 / 0.77 /
    0.90 (the oracle global threshold 0.76 / 0.85 / 0.96): flat over 0.2-0.3. The level
    lies half-way between the plateau and about the CSF mean, the sinus's dark
    neighbours (CSF, inner table). 1 turns the growth off."""

    venogram_edge_mm: float = 5.0
    """How far (mm) from the pieces of :attr:`venogram_edge_share` edge voxels are
    sought: about the depth of a dural sinus's section. A bound against a bright
    brain region (bias-field residue) joined to a sinus; on the blind venograms the
    growth did not reach it (4.5 mm and unbounded within 0.01 Dice)."""

    skull_band_mm: float = 12.0
    """Maximum distance (mm) from the intracranial space within which dark T1 voxels are
    taken as skull; beyond it they are air in the sinuses or background."""

    core_neck_mm: float = 4.5
    """MR alone: when the brain core is found again above the CSF/grey level (an adult
    T1, whose dark class is bone and air), it is opened by this radius (mm) instead of
    3 mm, so a bright piece joined to the brain's core by a neck narrower than about
    twice this is left out (``segment.mr._brain_core``). On the Colin27 twins a core
    piece of 0.6 mL lay in twin B's orbital fat (deeper than the skull band below the
    face), joined to the temporal lobe's core by 32 voxels, and the growth from it
    labelled 10.8 mL of the orbit brain; at 4.5 mm the cavity beyond 4.5 mm of the truth
    cavity is 15.2 -> 3.3 mL (real-vertical) and 6.4 -> 4.4 mL (real-angular), brain
    Dice 0.958 -> 0.960 / 0.959 -> 0.959, CSF 0.617 -> 0.616 / 0.614 -> 0.612; the blind
    mr-vertical row within 0.0002. The growth (``skull_band_mm`` of steps) brings back
    the cortex the wider opening leaves out. Not used when the level is below the dark
    split (the core keeps 3 mm)."""

    csf_level_min_ml: float = 2.0
    """MR alone: the CSF level is read from the dark voxels the grown brain encloses
    (the ventricles, enclosed sulci) only when they hold at least this much (mL);
    fewer, and brain vs CSF stays split at the head's dark/bright boundary
    (``segment.mr._csf_grey_boundary``). The blind MR phantom's enclose 7.6-8.1 mL, the
    Colin27 head 37 mL."""

    csf_layer_mm: float = 3.0
    """MR alone: the subarachnoid CSF layer over the brain is grown (face-neighbour
    steps, through voxels that read as CSF) at most this far (mm) from the closed brain
    (``segment.mr_layer.csf_layer_cavity``); the inner table's dark voxels stop it
    sooner. A bound against a growth through the diploe's marrow where a blurred inner
    table reads as CSF: on the blind MR phantom (CSF layer 1.5-3.5 mm, marrow 330 against
    CSF 140) 3 / 4 mm gave CSF 0.805 / 0.809 and bone 0.705 / 0.682 (mr-vertical, 1.5 mm;
    0.665 / 0.657 with the fixed 1.5 mm dilation), and at 4 mm the 6 % noise row's bone
    fell to 0.619 (0.641 with the dilation); at 2 mm the skull beyond the reach (3-4 mm,
    where the phantom's CSF goes on) read as CSF on every blind row and the dilation
    stayed. 3 mm is set on this phantom (docs/segmentation.md, "MR alone: the cavity's
    wall at the inner edge of the skull's dark band"). 0 keeps the dilation."""

    csf_layer_max_mm: float = 12.0
    """MR alone: the CSF layer is grown farther than ``csf_layer_mm`` where the T1 shows
    its outer edge farther out - the first shell (by distance from the closed brain)
    most of whose voxels are darker than CSF, the inner table, lies beyond it
    (``segment.mr_layer.inner_table_mm``) - up to this distance (mm). An infant's
    extra-axial CSF is 4-10 mm wide in benign enlargement of the subarachnoid spaces;
    12 mm is ``skull_band_mm``, the farthest the skull is looked for."""

    csf_layer_sigmas: float = 2.0
    """MR alone: a voxel of the CSF layer reads at least the enclosed CSF's median less
    this many of its robust sigmas (interquartile range / 1.349): darker is bone (or
    bone's partial volume). Blind MR phantom: CSF 148 +- 14, the level 120; cortical
    bone 30."""

    csf_layer_max_share: float = 0.25
    """MR alone: the CSF layer is used only when its median lies within this share of
    the way from the enclosed CSF's median to the CSF/grey level, i.e. its median voxel
    reads as at least 7/8 CSF by partial volume with grey matter. Otherwise the layer is
    a partial-volume zone of grey, CSF, dura and bone that no level parts (Colin27:
    0.45-0.46, the layer about 43 against its ventricles' 30 and the level 59) and the
    cavity keeps the fixed 1.5 mm dilation over the brain. Blind MR phantom rows
    0.06-0.13. The same share, either side, decides whether the skull beyond the layer's
    reach (1.5-2 times ``csf_layer_mm`` from the brain) reads as CSF: then it is bone the
    T1 cannot tell from CSF and the dilation stays (blind rows 0.45-0.58, Colin27 0.30,
    tests/segment/test_mr_orbit's adult head -0.04)."""

    dark_class_sigmas: float = 2.0
    """MR alone: a mixture of the head's T1 values is used for the dark/bright level
    only when its darkest class's mean plus this many of its sigmas lies below the next
    class's mean (``segment.mr_dark``): the class is one tissue, not dark and bright
    tissues lumped together. Two sigmas hold 95 % of a Gaussian class; not fitted.
    Measured (next mean - darkest mean in darkest sigmas): blind MR phantom rows
    2.26-2.87, Colin27 6.4-6.5; collapsed fits of generated heads (a uniform 2-3 mm
    cortex) 1.35-1.54 (docs/segmentation.md, "MR alone: a dark/bright level that does
    not collapse")."""

    csf_class_sigmas: float = 2.0
    """The three-class mixtures of the cranial cavity's T1 values (CSF; grey and white
    matter) are used only when the lowest class's mean plus this many of its sigmas lies
    below the next class's mean: the class is the CSF, not CSF and grey matter lumped
    (``segment.mr._cavity_csf_grey`` for MR alone, ``segment.mr._confident_csf_brain``
    for CT + MR). The same two sigmas as ``dark_class_sigmas``; not fitted. Measured
    (next mean - lowest mean in lowest sigmas): generated heads' cavities 4.0-17.4, blind
    MR phantom rows 7.2-12.7, a generated cavity with little CSF (1.5 mm layer, small
    ventricles) 1.45, Colin27 1.55-1.84 (its lowest class, 58-64, is partial volume of
    CSF, 30, and grey matter, 89): on Colin27 the CT + MR plan keeps the CT's brain and
    CSF (docs/segmentation.md, "MR alone: wide CSF, checked cavity classes, the skull
    under the scalp")."""

    dark_max_classes: int = 5
    """MR alone: when the three-class mixture of the head fails its checks, mixtures of
    4 up to this many classes are tried for the dark/bright level (``segment.mr_dark``).
    A T1 head holds about six tissue levels (air and bone, CSF, marrow, skin and grey
    matter, white matter, fat)."""

    fusion_gap_share: float = 1 / 3
    """CT+MR brain/CSF: the MR overrides the CT's call in a cavity voxel only where the
    registered MR's value lies within this share of the gap between the CSF and
    grey-matter means (a three-class mixture fitted in the cavity) from the mean of its
    class, and on that class's side of the mixture's CSF/grey boundary
    (``segment.mr.fuse_mr``): with partial volume a voxel of CSF
    fraction f reads grey + f (CSF - grey), so 1/3 asks for at least two thirds of the
    class. Voxels between are partial-volume or misregistered edges on the MR, and the CT
    decides them (a class's fitted sigma is no guide there: the mixture widens the CSF
    class over the edge voxels)."""

    n4_voxel_mm: float = 4.0
    """Voxel size (mm) of the shrunk copy on which N4 estimates the MR's bias field
    (``segment.mr.correct_bias_field``; the field is smooth over centimetres, so a 4 mm
    copy loses nothing while a 256^3 1 mm T1 costs a few seconds instead of minutes).
    0 turns the bias-field correction off."""

    n4_iterations: tuple[int, ...] = (50, 50, 30)
    """N4 iterations per fitting level (the number of levels is the tuple's length)."""

    n4_control_points: int = 4
    """B-spline control points per axis of N4's coarsest level (field spline order 3);
    each further level doubles the resolution of the mesh."""

    mirror_voxel_mm: float = 6.0
    """Voxel size (mm) of the CT copy on which the MR's fit is compared with the fits of
    its three mirror images (``segment.mr_mirror``; CT and MR smoothed by a third of it,
    the MR block-averaged to half of it). The registration's own first level (shrink 4
    of a 1.5 mm CT) works at this size; 9 mm brought the nearest good case (blind
    angular, thick slices) from -0.07 to -0.03."""

    mirror_iterations: int = 60
    """Optimizer iterations of each mirror image's coarse rigid registration."""

    mirror_margin_mi: float = 0.02
    """The MR is refused as mirrored when one of its mirror images fits the CT better
    than the MR as given by more than this Mattes mutual information (nats; a few times
    the metric's sampling noise). Measured margins (best mirror minus the MR as given,
    docs/segmentation.md): MRs as given -0.12..-0.13 (four blind cases at 1.5 mm),
    -0.30 (Colin27 real-vertical), -0.09 (the chiral test head); the same MRs mirrored
    +0.09..+0.30. A mirrored MR that is used puts brain, CSF and sinuses on the wrong
    side; a good MR refused costs a re-run without ``--mr``."""

    mirror_doubt_mi: float = 0.04
    """When the best mirror image fits within this much of the MR as given (but not
    better by ``mirror_margin_mi``) the images cannot tell the MR's sides apart (nearly
    symmetric anatomy, or an MR of other twins: blind phantom -0.008): the MR is used
    and a warning says its orientation was not confirmed."""

    orientation_refine: int = 3
    """When the MR's first fit fails, the 48 signed permutations of its voxel axes are
    ranked by the Mattes mutual information at their start (``segment.mr_orient``); this
    many of the turns and as many of the mirror images, best first, and the MR as given,
    are then registered coarsely (as the mirror screen) and compared. The right start
    ranked first at its start in every case measured (docs/segmentation.md, "A turned
    MR header")."""

    orientation_margin_mi: float = 0.05
    """A turn of the MR's voxel axes is used (with a warning) only when its coarse fit
    beats every other start, the MR as given and the mirror images included, by more
    than this Mattes mutual information (nats); a mirror image that beats the MR as given
    and every turn by as much is refused as a mirror. Measured (docs/segmentation.md,
    "A turned MR header"): the right start leads the runner-up by 0.11-0.13 on the blind
    2 mm venogram turned 90 / 180 deg about each axis or mirrored."""

    seed: int = 0
    """Seed of the metric sampling."""
