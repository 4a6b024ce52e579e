"""Tunable numbers of the ``models`` stage (recorded in ``plan.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Extractor = Literal["vtk", "skimage"]
EXTRACTORS: tuple[str, ...] = ("vtk", "skimage")
CoordSystem = Literal["RAS", "LPS"]
COORD_SYSTEMS: tuple[str, ...] = ("RAS", "LPS")


def _default_budgets() -> dict[str, int]:
    return {
        "skin": 50_000,
        "bone": 60_000,
        "brain": 40_000,
        "vessel": 25_000,
        "csf": 15_000,
    }


@dataclass(frozen=True)
class MeshParams:
    """How one label mask becomes a triangle mesh.

    Parameters
    ----------
    extractor : {"vtk", "skimage"}
        Iso-surface library. ``"vtk"`` (``vtkFlyingEdges3D``) was fastest in
        ``benchmarks/bench_models.py`` (and in NOTES.md: 0.46 s vs 2.15 s for scikit-image
        on 400x512x512); both give the same surface.
    smoothing_iterations : int
        Windowed-sinc iterations (``vtkWindowedSincPolyDataFilter``). The windowed sinc
        filter is a low-pass filter that does not shrink the surface (Taubin 1995); 20
        iterations remove the voxel staircase of marching cubes.
    smoothing_passband : float
        Pass band of the windowed sinc filter (0..2, lower = smoother). 0.05 keeps the
        mean distance to the label boundary of a sphere below 0.2 voxel
        (``tests/models/test_surface.py``).
    faces_per_budget : float
        The extraction grid is coarsened (block averaging, integer factor per axis) until
        marching cubes gives at most this many times the face budget; the decimator then
        reaches the budget. 3 keeps enough detail for quadric decimation (the sphere
        tests hold the surface within a quarter voxel) and halves the smoothing and
        decimation time of a 512x512x400 case against 6 (``benchmarks/bench_models.py``).
    thin_smoothing_iterations, thin_smoothing_passband : int, float
        Lighter smoothing for sheets one or two voxels thin (``ModelParams.thin_structures``:
        infant bone, CSF, vessels). The full setting thins such sheets where they run
        diagonally to the grid and moved the centre of mass of phantom bone by 1.1-1.5
        voxels; 10 iterations at 0.1 moved it by 0.6-0.7 and halved the mean distance to
        the label boundary (0.14 -> 0.07 voxel; ``tests/models/test_phantoms.py``).
    preserve_volume : bool
        Offset the final surface along its normals so that it encloses the mask's voxel
        volume (:func:`twinsep.models.surface.match_volume`). Marching cubes on a binary
        mask loses 10-30 % of thin structures (infant bone, vessels, CSF at 2 mm voxels;
        ``tests/models/test_phantoms.py``); issue 7 asks for 3 %.
    max_offset_vx : float
        Largest offset of that correction, in voxels (of the smallest spacing): half a
        voxel keeps the surface within the accuracy target of issue 7.
    max_decimation_volume_change : float
        A decimation that pinched sheets together and was repaired
        (:func:`twinsep.models.surface.unzip_edges`) is kept only when it changed the
        enclosed volume by at most this fraction; otherwise it is retried at the face
        count that the 1/faces fall of that error predicts (times 1.5). 0.03 is issue
        7's volume target: the 512 x 512 x 400 case of issue 10 had brains repaired at
        0.03-0.08 % and a CSF decimated to 2 % of its faces at -18 % (-2 % at 22 %).
    """

    extractor: Extractor = "vtk"
    smoothing_iterations: int = 20
    smoothing_passband: float = 0.05
    faces_per_budget: float = 3.0
    thin_smoothing_iterations: int = 10
    thin_smoothing_passband: float = 0.1
    preserve_volume: bool = True
    max_offset_vx: float = 0.5
    max_decimation_volume_change: float = 0.03


@dataclass(frozen=True)
class PrintParams:
    """Print preparation of parts.

    Parameters
    ----------
    min_wall_mm : float
        Minimum wall thickness of a printed part, mm. 1.2 mm is a common minimum for
        unsupported walls in FDM and material-jetting printers (vendor design guides
        give 0.8-1.5 mm); thinner parts (infant skull, small vessels) are thickened.
    scale : float
        Print scale (1.0 = life size). Applied to print parts only, never to screen models.
    bump_tolerance_vx : float
        Voxels not covered by a ``min_wall_mm`` ball but within this many voxel sizes
        (the largest) of the covered part are edges, corners and one-voxel steps of the
        label grid, not thin walls; they are reported as bumps and not thickened. One
        voxel is the resolution of the check itself (``twinsep.models.thickness``).
    min_piece_ml : float
        A piece of a part (a vertex-connected shell) enclosing at least this much is
        printed, mL; 0 keeps every piece. Segmentation leaves islands beside a structure
        that a print turns into loose beads (real-ct-angular: 31 pieces of 2-350 mm^3
        beside twin A's brain, 0.7 mL in all); a piece of 0.5 mL, about an 8 mm cube, is
        as small as a separate bone or fluid space worth printing gets (an infant's
        vertebra or skull plate holds about 1 mL or more). Pieces under a cube of the
        minimum wall are dropped in any case (no printer makes them).
    min_piece_fraction : float
        A piece enclosing at least this fraction of the part's largest piece is printed
        whatever its volume: the pieces of a part that is small as a whole (vessel
        segments of a few mL) stay. Dropped pieces are counted in the print report.
    """

    min_wall_mm: float = 1.2
    scale: float = 1.0
    bump_tolerance_vx: float = 1.0
    min_piece_ml: float = 0.5
    min_piece_fraction: float = 0.01


@dataclass(frozen=True)
class DollParams:
    """The split conjoined doll for mock surgery.

    Parameters
    ----------
    n_pins : int
        Alignment pins across the separation surface (3 fix position and rotation).
    pin_radius_mm : float
        Pin radius, mm. 3 mm pins survive handling in PLA/resin at head scale.
    pin_length_mm : float
        Total pin length, mm (half in each part).
    clearance_mm : float
        Radial and axial play between pin and hole, mm; 0.2 mm is the usual snug fit
        for FDM prints.
    min_depth_mm : float
        A pin is placed only where the separation surface is at least this deep under
        the skin, mm, so that the hole does not break through the scalp.
    smoothing_sigma_vx : float
        Gaussian smoothing (voxels) of the twin indicator fields before the two parts are
        extracted as complementary level sets (they then share the cut surface exactly).
    strip_width_mm : float
        Width of the cutting-guide strip on the scalp, mm (centred on the skin line of the
        separation).
    strip_thickness_mm : float
        Thickness of the cutting-guide strip above the skin, mm.
    face_budget : int
        Faces per doll part and for the guide strip.
    min_piece_ml : float
        Doll pieces enclosing less are dropped, mL: coarsening and smoothing cut the
        tips of ears and thin flaps off as loose crumbs (real-ct-angular: 0.06 mL and
        smaller, six on twin B's part), which a print turns into loose bits; a twin's
        part is its whole head, hundreds of mL. Closed slots of a stage model (a stage
        that divides only deep structures) are voids and stay.
    kerf_mm : float
        Width added to the divided voxels to make the open slot that shows a divided
        stage in the per-stage doll models, mm (one voxel of the doll's grid more on each
        side, so that the slot survives the smoothing); 2 mm is about an oscillating
        saw's kerf. A stage that divides only deep structures leaves a closed cavity.
    """

    n_pins: int = 3
    pin_radius_mm: float = 3.0
    pin_length_mm: float = 16.0
    clearance_mm: float = 0.2
    min_depth_mm: float = 12.0
    smoothing_sigma_vx: float = 1.0
    strip_width_mm: float = 10.0
    strip_thickness_mm: float = 2.0
    face_budget: int = 80_000
    kerf_mm: float = 2.0
    min_piece_ml: float = 1.0


@dataclass(frozen=True)
class ModelParams:
    """Parameters of the ``models`` stage.

    Parameters
    ----------
    mesh : MeshParams
        Surface extraction, smoothing, decimation.
    print : PrintParams
        Wall thickness and scale of print parts.
    doll : DollParams
        The split doll and cutting guide.
    face_budgets : dict of str to int
        Faces per twin for each structure (``skin``, ``bone``, ``brain``, ``vessel``,
        ``csf``). The totals keep ``scene.glb`` under 400 k triangles (issue 7).
    separation_face_budget : int
        Faces per separation-stage mesh.
    scene_face_budget : int
        Upper bound on the triangles in ``scene.glb``; budgets are scaled down to fit.
    include_csf : bool
        Also model CSF spaces (optional in issue 7; small and often fragmented).
    thin_structures : tuple of str
        Structures smoothed with the lighter ``MeshParams.thin_*`` setting.
    coords : {"RAS", "LPS"}
        World convention of exported files. RAS is the plan's convention (NIfTI, 3D Slicer
        since 4.11 reads either when told); LPS for tools that expect DICOM coordinates.
    threads : int
        Threads for the distance transforms (``edt``) and the number of twin x structure
        parts meshed at the same time (issue 10: their work is in C code that releases
        the GIL). 2 matches the laptop target of issue 7 (2 cores); results do not
        depend on it.
    """

    mesh: MeshParams = field(default_factory=MeshParams)
    print: PrintParams = field(default_factory=PrintParams)
    doll: DollParams = field(default_factory=DollParams)
    face_budgets: dict[str, int] = field(default_factory=_default_budgets)
    separation_face_budget: int = 8_000
    scene_face_budget: int = 400_000
    include_csf: bool = True
    thin_structures: tuple[str, ...] = ("bone", "vessel", "csf")
    coords: CoordSystem = "RAS"
    threads: int = 2
