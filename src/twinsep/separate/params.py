"""Tunable numbers of the separation surface and the staged plan."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CutCosts:
    """Cost of cutting one mm^2 of each tissue (relative units; soft tissue = 1).

    The min-cut minimises the sum of cost x area, so a ratio says how much extra area of
    the cheaper tissue the cut accepts to avoid one mm^2 of the dearer one. Clinical
    order (issue 5, Stone & Goodrich 2006): vessels/sinuses very high, brain high, then
    bone, CSF/dura, soft tissue.

    A voxel face between two tissues costs the *cheaper* of the two: the surgical plane
    then runs along the tissue boundary (the pial surface, a sinus wall) and enters
    neither tissue. (A mean of the two would charge a cut along a one-voxel dural layer
    between two brains half the brain cost, and steer the cut into the brain.)
    """

    soft_tissue: float = 1.0
    """Scalp, fat, muscle, dura-like bridge tissue: the reference cost."""

    csf: float = 2.0
    """CSF spaces: opening them is routine but needs dural repair."""

    bone: float = 4.0
    """Bone: craniotomy cuts are routine but slower and bleed."""

    brain: float = 60.0
    """Brain: a cut through parenchyma is accepted only to spare 60x its area of soft
    tissue, i.e. almost never when a dural plane exists."""

    vessel: float = 2000.0
    """Contrast-filled vessels and sinuses: dividing a sinus risks haemorrhage and venous
    infarction; worth a detour of 2000x its section in soft tissue (a 5 mm sinus, 20 mm^2,
    against up to 4 x 10^4 mm^2, more than any bridge)."""

    brain_interface: float = 3.0
    """Cutting *along* the contact between the two twins' brains (a face between a brain
    voxel of twin A and a brain voxel of twin B in the ``twins`` stage's assignment):
    the surgeon separates the two pial surfaces along the arachnoid plane, which bleeds
    more than opening CSF (2) but injures no parenchyma, unlike cutting *through* one
    twin's brain (``brain``, 60). Where the labels show brain touching brain (total
    vertical forms: the dura between them is thinner than a voxel) the cut therefore
    follows the twin assignment's boundary instead of entering either brain."""

    def by_label(self) -> list[float]:
        """Cost per label value 0..5 (background 0: no edge through air)."""
        return [0.0, self.soft_tissue, self.bone, self.brain, self.csf, self.vessel]


@dataclass(frozen=True)
class CutParams:
    """Where the min-cut may go and how big its graph may be."""

    costs: CutCosts = field(default_factory=CutCosts)
    """Tissue costs (relative units per mm^2)."""

    band_mm: float = 15.0
    """Half-width (mm) of the band around the twins' boundary in which the cut may move:
    wide enough to pass around a 10 mm sinus with a margin; the twins' assignment is
    kept beyond it."""

    min_band_mm: float = 3.0
    """The band is narrowed down to this half-width (mm) when it holds more than
    ``max_nodes`` voxels; below it the plan stops with a SeparationError."""

    max_nodes: int = 2_500_000
    """Cap on graph nodes (voxels in the band). PyMaxflow uses about 280 bytes per node
    with 6 neighbours (NOTES.md): 2.5 M nodes is about 0.7 GB on a shared laptop."""

    max_fine_nodes: int = 300_000
    """Above this many band voxels the cut is solved first on a grid coarsened by the
    smallest integer factor that brings the band under it (block cost = dearest voxel),
    then refined at full resolution near the coarse cut. Max-flow time on 3D grids grows
    much faster than the node count (590 s for 1.8 M nodes, benchmarks/bench_separate.py)."""

    refine_voxels: float = 1.5
    """Half-width of the full-resolution refinement band, in coarse voxels."""

    stay_near: float = 0.02
    """Edge costs rise linearly by this fraction from the current boundary to the band's
    edge: among cuts of equal tissue cost the one nearest the twins stage's boundary wins
    (2 % never outweighs a change of tissue, whose costs differ by >= 2x)."""


@dataclass(frozen=True)
class StagingParams:
    """Rules that propose the stages (all heuristics, stated in docs/separation.md)."""

    max_separation_stages: int = 4
    """Upper bound on proposed venous-division stages (Montefiore 2016: four stages)."""

    expander_min_bridge_mm2: float = 1000.0
    """Propose scalp tissue expansion when the bridge area is at least this (mm^2):
    the scalp cannot close a defect of about 3.5 cm diameter primarily (UC Davis 2020,
    CHOP 2017 used expanders)."""

    distraction_max_bridge_length_mm: float = 10.0
    """Propose cranial distraction (about 1 mm/day, CHOP) for a vertical fusion whose
    bridge is shorter than this (mm), or when the brains touch over a large area
    (``distraction_contact_share_min``)."""

    distraction_contact_share_min: float = 0.15
    """The brains touch over a large area (cranial distraction for a vertical fusion)
    when ``shared.brain_contact_area_mm2`` is at least this share of the bridge area.
    Measured (2026-11-27, docs/separation.md "Brain contact on plain CT"), segmented
    plans in-process: total forms 0.24-0.57 of the bridge (41 blind and clinical phantom3
    cases at 1.2-3.6 mm, 20 twinsep.phantom total kinds at 96/128, plain and contrast);
    partial forms 0-0.06, where membrane and sinus in the vault gaps between the two
    skulls read as brain connected to each twin's brain (a segmentation matter). The
    former absolute 20 mm^2 gave every vertical-partial phantom (plain and contrast, 96
    and 128) a distraction stage. 0.15 lies 1.6x under the lowest total and 2.5x over
    the highest partial."""

    venous_cuff_mm: float = 5.0
    """A venous-division stage divides its named venous segment(s) and the cut surface
    within this distance (mm, 3D, from the segment's voxels on the cut): the dural cuff
    a surgeon opens to expose, ligate and divide an infant sinus (4-8 mm wide, so about
    one sinus width around it). Scalp and bone over it are opened as a flap and closed
    at the end of that stage, not divided. The rest of the bridge is divided in the
    final stage (or, by sector, in a staged division that names no vessel)."""

    endovascular_max_diameter_mm: float = 4.0
    """Propose endovascular occlusion of a non-dominant shared venous segment no wider
    than this (mm): small enough to coil, and occluding it first tests the collateral
    drainage before open division."""

    sinus_edge_max_share: float = 0.05
    """The cut divides the shared sinus only at its edge (one twin keeps the sinus; the
    texts say so, not "the sinus is divided") when the smaller twin's part of the sinus
    components it divides is at most this share of the sinus ...  (docs/separation.md,
    "A shared sinus divided only at its edge": the slivers seen on the blind rows were
    0.7-3 % of the sinus, a few voxels at 3 mm)."""

    sinus_edge_max_ml: float = 0.25
    """... and at most this volume (mL): a tributary's, a vein 4 mm across (the widest
    ``endovascular_max_diameter_mm`` occludes) and 20 mm long holds 0.25 mL. A larger
    part of a large sinus (2 mL of 30 mL, 7 cm of a 6 mm sinus) is a real division."""


@dataclass(frozen=True)
class RiskParams:
    """Weights of the relative risk score (formula in docs/separation.md)."""

    per_cm2: dict[str, float] = field(
        default_factory=lambda: {
            "soft_tissue": 0.05,
            "bone": 0.1,
            "csf": 0.2,
            "brain": 2.0,
            "vessel": 5.0,
        }
    )
    """Points per cm^2 of cut, by tissue."""

    venous_per_segment: float = 1.0
    """Points for dividing one venous segment of ``reference_diameter_mm``."""

    reference_diameter_mm: float = 5.0
    """Diameter (mm) of a typical infant dural sinus; the venous term scales with
    (diameter / reference)^2, i.e. with the drained flow section."""


@dataclass(frozen=True)
class SeparateParams:
    """All parameters of the ``separate`` stage."""

    cut: CutParams = field(default_factory=CutParams)
    staging: StagingParams = field(default_factory=StagingParams)
    risk: RiskParams = field(default_factory=RiskParams)
