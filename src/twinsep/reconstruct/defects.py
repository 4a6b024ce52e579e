"""Per-twin scalp and bone defects after separation, and the scalp left for expansion.

Everything is measured on surfaces in world millimetres (through the affine):

1. the label maps are reduced to a *working grid* of about ``work_voxel_mm`` (block
   means of each twin's occupancy, so partial voxels stay partial; block maxima of the
   twin's bone, so a thin infant skull is not lost);
2. each twin's envelope is the 0.5 iso-surface of its Gaussian-smoothed occupancy
   (marching cubes in index space, vertices mapped to world mm by the working affine);
3. every envelope vertex is classified by probing one working voxel outward along its
   normal: the other twin -> *interface* (the separation wound), background -> *skin*
   (areas are summed over faces; the samples handed on are the vertices, which a mirror
   between the twins maps onto each other, :class:`SurfaceSample`).
   What the cut crosses is read from the full-resolution labels at the wound's
   vertices: the twin's own voxels (the other twin's ignored) read twice along the
   inward normal and extrapolated to the cut, where a tissue's edge lies half a voxel
   from the layer next to it (:mod:`twinsep.reconstruct.cut_tissue`), the same rule
   for both twins whatever the working stride;
4. scalp defect = the part of the interface where both twins' bodies meet it (the
   opening in the twin's envelope: each twin's own voxels and the air on its side read
   and extrapolated to the cut the same way, faces clipped at the skin's edge); bone
   defect = the part of that over bone, brain, CSF or vessel (the opening inside the
   bone rim; faces clipped at the tissue's edge, the rim is that edge); exposed
   dura/brain = the part over brain, CSF or vessel; where the cut is nearly tangent to
   a tissue's boundary its area is extrapolated in depth
   (:func:`twinsep.reconstruct.cut_tissue.area_in_depth`);
5. available scalp = the hair-bearing scalp over the cranial vault: skin points at least
   ``bridge_margin_mm`` from the interface, not on the face, the ears or the neck, and
   over the twin's brain. The face, ears and neck are found in the twin's anatomical
   frame (:class:`HeadFrame`: brain centre, long axis neck -> vertex, facial direction;
   from the ``fusion`` stage), never from array axes. Seen from the brain centre, a skin
   point has an *elevation* above the plane perpendicular to the long axis and an
   *azimuth* from the facial direction; the rules (numbers in :class:`DefectParams`):

   - face: azimuth within ``face_half_width_deg`` of the face and elevation below
     ``brow_elevation_deg`` (the forehead above the brows stays);
   - ears: within ``ear_radius_deg`` of the two ear directions (azimuth
     ``+-ear_azimuth_deg``, elevation ``ear_elevation_deg``);
   - neck: elevation below ``neck_elevation_deg`` (below the skull base and occiput);
   - off the vault: skin farther than ``max_brain_depth_mm`` from the twin's brain
     (protruding nose, lips, chin, pinnae, neck, whatever the angles miss).

   Without a trusted facial direction the face and ear rules cannot be placed; then all
   skin below ``brow_elevation_deg`` is excluded (conservative) and the result says so.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from twinsep.errors import AnatomyError, InputError
from twinsep.labels import BONE, BRAIN, CSF, SOFT_TISSUE, TWIN_A, TWIN_B, TWIN_NAMES, VESSEL
from twinsep.reconstruct.cut_tissue import (
    EdgeDistances,
    area_in_depth,
    clipped_area_fraction,
    cut_readings,
    edge_distances,
    level_loop,
)
from twinsep.volume import Volume, apply_affine

logger = logging.getLogger(__name__)

#: Tissues whose cut lies inside the bone rim (the bone defect), and under the dura.
_INSIDE_BONE_RIM = (BONE, BRAIN, CSF, VESSEL)
_UNDER_DURA = (BRAIN, CSF, VESSEL)
_ANY_LABEL = (0, SOFT_TISSUE, BONE, BRAIN, CSF, VESSEL)


@dataclass(frozen=True)
class DefectParams:
    """Tunable numbers of the defect measurement.

    Attributes
    ----------
    work_voxel_mm : float
        Edge of the working grid, mm (1.5). Scalp defects of infants are several cm
        wide; 1.5 mm keeps area errors of marching cubes around 1-2 % and a
        512x512x400 case below a second per twin.
    smooth_sigma_mm : float
        Gaussian sigma applied to the occupancy before the iso-surface, mm (1.5):
        removes the voxel staircase, which otherwise inflates an oblique cut by up to
        ~7 % on a 2 mm grid (measured: 1.0 mm leaves +7 %, 1.5 mm +2 %), while the
        rounding of a 60 mm-radius head and of the wound edge stays near 2 %.
    min_sigma_vx : float
        Least Gaussian sigma in working voxels (0.75): on coarse scans (3-5 mm voxels)
        1.5 mm is too little to remove the staircase of an oblique cut (measured
        +11 % on a 3.5 x 3.5 x 4.2 mm rotated phantom, +2 % with 0.75 voxel).
    bridge_margin_mm : float
        Scalp within this distance of the separation wound is not offered for
        expansion, mm (15.0): the flap edges, incisions and the scarred, thinned
        scalp over the bridge need a cuff of undisturbed tissue (planning
        assumption; adjust per team).
    brow_elevation_deg : float
        Elevation (seen from the brain centre, above the plane perpendicular to the
        long axis) below which the front of the head is face, deg (-5.0). In infants
        the large neurocranium puts the supraorbital rims about 10-25 deg below the
        brain centroid (the phantom head model: -11 deg); -5 deg keeps a cuff of
        about 5 deg (6 mm on a 65 mm head) above the brows, so expanding the
        forehead does not pull on the brows or lids. Planning assumption (infant
        head proportions); check on the images.
    face_half_width_deg : float
        Half-width of the face sector around the facial direction, deg (80.0): the
        face reaches back to the front of the ears (cheeks, preauricular skin; the
        external ear lies about 90-110 deg from the facial direction), so the
        hairless lateral face below the brow level is excluded too.
    ear_azimuth_deg : float
        Azimuth of each ear from the facial direction, deg (95.0): the external
        auditory meatus lies at or a little behind the coronal plane through the
        brain centre (90-100 deg).
    ear_elevation_deg : float
        Elevation of the ear centre, deg (-20.0): the pinna is centred a little below
        the brain centroid, around the level of the skull base.
    ear_radius_deg : float
        Angular radius of each excluded ear region, deg (25.0): an infant pinna is
        about 35-40 mm tall (about +-17 deg on a 65 mm head) plus about 8 deg
        (9 mm) for the helix root, the postauricular sulcus and the uncertainty of
        the ear position (which is not detected, only placed from the frame).
    neck_elevation_deg : float
        Skin below this elevation all around the head is neck (below the skull base
        and the occiput), deg (-35.0): the foramen magnum and the nape hairline lie
        about 35-45 deg below the brain centroid; the occipital scalp above it stays.
    max_brain_depth_mm : float
        Skin farther than this from the twin's brain is not over the cranial vault,
        mm (25.0): over the vault the skin-to-brain distance is scalp 3-6 mm + bone
        1.5-6 mm + CSF 2-10 mm (wide subarachnoid spaces of infants) + a thin
        temporalis, under 25 mm; the nose, lips, chin, pinnae and neck lie farther.
        Applied only when the twin has labelled brain.
    min_face_strength : float
        Least facial-evidence strength (``TwinFrame.face_strength`` of the fusion
        stage) at which the facial direction is trusted (0.05, the fusion stage's own
        threshold for "a guess").
    min_skin_faces : int
        Fewer skin points than this means the twin has no usable envelope (20).
    """

    work_voxel_mm: float = 1.5
    smooth_sigma_mm: float = 1.5
    min_sigma_vx: float = 0.75
    bridge_margin_mm: float = 15.0
    brow_elevation_deg: float = -5.0
    face_half_width_deg: float = 80.0
    ear_azimuth_deg: float = 95.0
    ear_elevation_deg: float = -20.0
    ear_radius_deg: float = 25.0
    neck_elevation_deg: float = -35.0
    max_brain_depth_mm: float = 25.0
    min_face_strength: float = 0.05
    min_skin_faces: int = 20

    def __post_init__(self) -> None:
        for name in ("work_voxel_mm", "smooth_sigma_mm"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"defects.{name}", f"{v} must be a positive number of mm")
        for name in ("bridge_margin_mm", "max_brain_depth_mm"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f"defects.{name}", f"{v} must be a number of mm >= 0")
        for name in ("brow_elevation_deg", "ear_elevation_deg", "neck_elevation_deg"):
            v = getattr(self, name)
            if not (math.isfinite(v) and -90.0 <= v <= 90.0):
                raise InputError(f"defects.{name}", f"{v} is not an elevation in -90..90 deg")
        for name in ("face_half_width_deg", "ear_azimuth_deg", "ear_radius_deg"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0.0 <= v <= 180.0):
                raise InputError(f"defects.{name}", f"{v} is not an angle in 0..180 deg")
        if self.neck_elevation_deg > self.brow_elevation_deg:
            raise InputError(
                "defects.neck_elevation_deg",
                f"{self.neck_elevation_deg} deg is above the brow level "
                f"({self.brow_elevation_deg} deg); the neck lies below the face",
            )


#: Why a skin point is not offered for expansion (``TwinDefects.region``).
AVAILABLE, NEAR_WOUND, FACE, EARS, NECK, OFF_VAULT = 0, 1, 2, 3, 4, 5
REGION_NAMES: dict[int, str] = {
    AVAILABLE: "available",
    NEAR_WOUND: "near_wound",
    FACE: "face",
    EARS: "ears",
    NECK: "neck",
    OFF_VAULT: "off_vault",
}


@dataclass(frozen=True)
class HeadFrame:
    """A twin's anatomical frame, world mm and unit vectors (from the ``fusion`` stage).

    Attributes
    ----------
    axis : (3,) float64
        Unit long axis, neck -> vertex.
    face_dir : (3,) float64 or None
        Unit facial direction (perpendicular to ``axis`` after projection); None when
        unknown.
    face_strength : float
        Strength of the facial evidence (0..1; 1 when given by hand).
    """

    axis: np.ndarray
    face_dir: np.ndarray | None = None
    face_strength: float = 1.0


@dataclass(frozen=True)
class SurfaceSample:
    """A surface summarised as points (world mm).

    The skin and the wound are sampled at the marching-cubes vertices (where the surface
    crosses a grid edge), which do not depend on how the cells were split into
    triangles: the two halves of an exactly mirrored union give mirror-image samples
    (face centroids were 0.4-0.6 mm apart); the outer skull at the face centroids.

    Attributes
    ----------
    points_mm : (N, 3) float64
        Vertices (or face centroids), world mm.
    normals : (N, 3) float64
        Unit outward normals (world): the field's gradient at a vertex, a face's own.
    areas_mm2 : (N,) float64
        Area each point stands for, mm^2 (a vertex: the grid's crossing estimate scaled
        to the triangles' total, :func:`_crossing_areas`; a face: its area).
    """

    points_mm: np.ndarray
    normals: np.ndarray
    areas_mm2: np.ndarray

    @property
    def area_mm2(self) -> float:
        """Total area, mm^2."""
        return float(self.areas_mm2.sum())

    def subset(self, keep: np.ndarray) -> SurfaceSample:
        """The faces where ``keep`` is true."""
        return SurfaceSample(self.points_mm[keep], self.normals[keep], self.areas_mm2[keep])


@dataclass(frozen=True)
class TwinDefects:
    """Defects of one twin after separation (world mm).

    Attributes
    ----------
    twin : str
        ``"A"`` or ``"B"``.
    scalp_defect_area_mm2 : float
        Area of the opening in the twin's envelope left by the separation, mm^2.
    bone_defect_area_mm2 : float
        Part of that opening inside the bone rim, mm^2.
    dura_exposed_area_mm2 : float
        Part over brain, CSF or sinus (dura/brain surface exposed), mm^2.
    scalp_outline_mm : (K, 3) float64
        Ordered closed outline of the scalp defect (world mm).
    bone_rim_mm : (K, 3) float64
        Ordered closed outline of the bone defect (world mm; empty if no bone cut).
    defect_centroid_mm : (3,) float64
        Area-weighted centroid of the wound, world mm.
    defect_normal : (3,) float64
        Unit mean outward normal of the wound (points toward the other twin).
    wound : SurfaceSample
        The wound, at the interface's vertices inside the skin's edge
        (``scalp_defect_area_mm2`` sums the faces' parts inside it).
    skin : SurfaceSample
        The twin's skin (outer envelope not on the wound), at its vertices.
    available : (N,) bool
        Which skin points are healthy scalp available for expansion.
    region : (N,) uint8
        Why each skin point is (not) available: :data:`AVAILABLE`, :data:`NEAR_WOUND`,
        :data:`FACE`, :data:`EARS`, :data:`NECK` or :data:`OFF_VAULT` (first rule
        that applies, in that order).
    face_dir : (3,) float64 or None
        Unit facial direction used for the face and ear rules (None: unknown, all
        skin below the brow level was excluded).
    bone_outer : SurfaceSample
        Outer surface of the twin's skull: the outer boundary of its cranium (bone and
        what lies inside it) where it faces soft tissue or air over bone (gaps such as
        fontanelles left out); right for plates thinner than the smoothing.
    skull_thickness_mm : float
        Median skull thickness (area-weighted over ``bone_outer``), measured across the
        plate: the run of bone along each face's inward normal, mm.
    brain_centre_mm : (3,) float64
        World centroid of the twin's brain (its tissue when no brain is labelled).
    head_axis : (3,) float64
        Unit long axis, neck -> vertex (given, or estimated as described in the module).
    """

    twin: str
    scalp_defect_area_mm2: float
    bone_defect_area_mm2: float
    dura_exposed_area_mm2: float
    scalp_outline_mm: np.ndarray
    bone_rim_mm: np.ndarray
    defect_centroid_mm: np.ndarray
    defect_normal: np.ndarray
    wound: SurfaceSample
    skin: SurfaceSample
    available: np.ndarray
    bone_outer: SurfaceSample
    skull_thickness_mm: float
    brain_centre_mm: np.ndarray
    head_axis: np.ndarray
    region: np.ndarray
    face_dir: np.ndarray | None = None

    @property
    def available_scalp_area_mm2(self) -> float:
        """Healthy scalp available for expansion, mm^2."""
        return float(self.skin.areas_mm2[self.available].sum())

    def region_areas_mm2(self) -> dict[str, float]:
        """Skin area per region (available, near_wound, face, ears, neck, off_vault), mm^2."""
        return {
            name: float(self.skin.areas_mm2[self.region == code].sum())
            for code, name in REGION_NAMES.items()
        }

    @property
    def scalp_outline_length_mm(self) -> float:
        """Perimeter of the scalp defect, mm."""
        return _loop_length(self.scalp_outline_mm)

    @property
    def bone_rim_length_mm(self) -> float:
        """Perimeter of the bone defect, mm."""
        return _loop_length(self.bone_rim_mm)


def _loop_length(loop: np.ndarray) -> float:
    if len(loop) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(np.vstack([loop, loop[:1]]), axis=0), axis=1).sum())


# ----------------------------------------------------------------------------
# working grid
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Grid:
    occ: dict[int, np.ndarray]  # twin -> occupancy fraction (float32) per working voxel
    bone: dict[int, np.ndarray]  # twin -> any bone of that twin in the block (bool)
    cranium: dict[int, np.ndarray]  # twin -> fraction of bone, brain, CSF or vessel (float32)
    brain: dict[int, np.ndarray]  # twin -> fraction of its brain per working voxel (float32)
    labels: np.ndarray  # tissue label at each block centre (uint8)
    affine: np.ndarray  # working index -> world mm
    stride: tuple[int, int, int]
    border_mm: dict[int, np.ndarray]  # twin -> world points where it touches the scan edge
    src_twins: np.ndarray  # the twins cropped to their box, full resolution (a view)
    src_labels: np.ndarray  # the labels on the same crop (a view)


def _block_sum(mask: np.ndarray, s: tuple[int, int, int]) -> np.ndarray:
    """Number of true voxels in each ``s``-block (array padded to whole blocks).

    Sums strided views axis by axis: a handful of cheap passes instead of one reduce
    over non-contiguous axes (4x faster on a 512x512x400 mask).
    """
    pad = [(0, (-n) % b) for n, b in zip(mask.shape, s, strict=True)]
    m = np.pad(mask, pad) if any(p[1] for p in pad) else mask
    dtype = np.uint8 if s[0] * s[1] * s[2] < 256 else np.uint16
    out = m.view(np.uint8) if m.dtype == np.bool_ else m.astype(dtype)
    for ax in range(3):
        if s[ax] == 1:
            continue
        parts = [out[(slice(None),) * ax + (slice(j, None, s[ax]),)] for j in range(s[ax])]
        acc = parts[0].astype(dtype)
        for q in parts[1:]:
            np.add(acc, q, out=acc, casting="unsafe")
        out = acc
    return out


def _centre_sample(arr: np.ndarray, s: tuple[int, int, int], shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=arr.dtype)
    sub = arr[s[0] // 2 :: s[0], s[1] // 2 :: s[1], s[2] // 2 :: s[2]]
    out[: sub.shape[0], : sub.shape[1], : sub.shape[2]] = sub
    return out


def _working_grid(labels: Volume, twins: Volume, params: DefectParams) -> _Grid:
    tw = twins.array
    # bounding box of the twins from two projections (two passes over the volume)
    p01 = tw.max(axis=2) > 0
    p2 = tw.max(axis=(0, 1)) > 0
    projs = (np.flatnonzero(p01.any(axis=1)), np.flatnonzero(p01.any(axis=0)), np.flatnonzero(p2))
    lo = np.array([p[0] for p in projs], dtype=np.int64)
    hi = np.array([p[-1] + 1 for p in projs], dtype=np.int64)
    sp = np.asarray(twins.spacing_mm)
    s = tuple(int(v) for v in np.maximum(1, np.round(params.work_voxel_mm / sp)))
    stride = (s[0], s[1], s[2])
    crop = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    tw_c = tw[crop]
    lab_c = labels.array[crop]
    occ: dict[int, np.ndarray] = {}
    bone: dict[int, np.ndarray] = {}
    cranium: dict[int, np.ndarray] = {}
    is_bone = lab_c == BONE
    is_cranium = np.isin(lab_c, _INSIDE_BONE_RIM)
    is_brain = lab_c == BRAIN
    brain: dict[int, np.ndarray] = {}
    n_block = float(stride[0] * stride[1] * stride[2])
    for t in (TWIN_A, TWIN_B):
        m = tw_c == t
        occ[t] = np.pad(_block_sum(m, stride).astype(np.float32) / n_block, 1)
        cr = _block_sum(m & is_cranium, stride).astype(np.float32) / n_block
        cranium[t] = np.pad(cr, 1)
        # a fraction, not the block's middle voxel: an even stride has none (index s // 2
        # lies half a voxel past the block centre the affine names; the brain centres of
        # the benchmark's mirror-symmetric pair read -50.39 / +49.84 mm)
        brain[t] = np.pad(_block_sum(m & is_brain, stride).astype(np.float32) / n_block, 1)
        m &= is_bone
        bone[t] = np.pad(_block_sum(m, stride) > 0, 1)
    shape = occ[TWIN_A].shape
    inner = tuple(n - 2 for n in shape)
    lab_w = np.pad(_centre_sample(lab_c, stride, inner), 1)
    # working index p -> original index lo + s*(p-1) + (s-1)/2 (block centre)
    scale = np.diag([*stride, 1.0]).astype(np.float64)
    scale[:3, 3] = lo - np.asarray(stride) + (np.asarray(stride) - 1) / 2.0
    affine = twins.affine @ scale
    border: dict[int, np.ndarray] = {}
    for t in (TWIN_A, TWIN_B):
        pts = []
        for ax in range(3):
            for end in (0, tw.shape[ax] - 1):
                sl = [slice(None)] * 3
                sl[ax] = slice(end, end + 1)
                face = np.argwhere(tw[tuple(sl)] == t)
                if len(face):
                    face[:, ax] = end
                    pts.append(face[:: max(1, len(face) // 2000)])
        border[t] = twins.world_coords(np.vstack(pts)) if pts else np.zeros((0, 3))
    return _Grid(occ, bone, cranium, brain, lab_w, affine, stride, border, tw_c, lab_c)


# ----------------------------------------------------------------------------
# surfaces
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class IsoFaces:
    """A triangulated iso-surface: vertices (world mm), outward faces, and per face its
    centroid and unit normal in index space and in world space, and its area (mm^2).

    With ``vertices=True`` (:func:`iso_faces`) also per vertex: its index position, its
    unit outward normal from the field's gradient (index space and world) and the area
    it stands for (:func:`_crossing_areas`); otherwise those arrays are empty.
    """

    verts_w: np.ndarray  # (V, 3) world mm
    faces: np.ndarray  # (F, 3) int, oriented outward
    c_i: np.ndarray  # face centroids, index space
    n_i: np.ndarray  # unit outward normals, index space
    c_w: np.ndarray  # face centroids, world mm
    n_w: np.ndarray  # unit outward normals, world
    area: np.ndarray  # face areas, mm^2
    v_i: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 3)))  # vertices, index
    vn_i: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, 3))
    )  # vertex normals, index
    vn_w: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, 3))
    )  # vertex normals, world
    v_area: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0)
    )  # vertex areas, mm^2


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice, slice]:
    """Bounding box of ``mask`` grown by ``margin`` voxels (whole array when empty)."""
    lo = np.zeros(3, dtype=np.int64)
    hi = np.array(mask.shape, dtype=np.int64)
    for ax in range(3):
        proj = np.flatnonzero(np.any(mask, axis=tuple(a for a in range(3) if a != ax)))
        if len(proj):
            lo[ax] = max(0, proj[0] - margin)
            hi[ax] = min(mask.shape[ax], proj[-1] + 1 + margin)
    return (
        slice(int(lo[0]), int(hi[0])),
        slice(int(lo[1]), int(hi[1])),
        slice(int(lo[2]), int(hi[2])),
    )


def _margin_vx(sigma_vx: np.ndarray) -> int:
    return int(np.ceil(4.0 * float(np.max(sigma_vx)))) + 2


def iso_faces(
    field: np.ndarray, affine: np.ndarray, sigma_vx: np.ndarray, *, vertices: bool = False
) -> IsoFaces:
    """0.5 iso-surface of a smoothed field, faces oriented outward (toward low values).

    Only the bounding box of the field's support (plus the smoothing reach) is processed.

    Parameters
    ----------
    field : ndarray, shape (I, J, K)
        Occupancy (0..1) on the grid of ``affine``.
    affine : (4, 4) ndarray
        Index -> world (mm).
    sigma_vx : (3,) ndarray
        Gaussian smoothing per axis, in voxels.
    vertices : bool
        Also the per-vertex normals and areas (``IsoFaces.v_i``, ``vn_i``, ``vn_w``,
        ``v_area``).

    Returns
    -------
    IsoFaces
    """
    box = _box(field > 0, _margin_vx(sigma_vx))
    sm = ndimage.gaussian_filter(field[box].astype(np.float32), sigma=sigma_vx, mode="constant")
    return _mesh_faces(
        sm,
        affine,
        0.5,
        offset=np.array([b.start for b in box], dtype=np.float64),
        vertices=vertices,
    )


def _crossing_areas(v_i: np.ndarray, vn_w: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Surface area (mm^2) each marching-cubes vertex stands for, from the grid alone.

    A vertex is where the surface crosses a grid edge (the axis ``k`` along which its
    index is fractional). A surface of unit normal ``n`` meets the edges along axis
    ``k`` (world vectors ``a_k``, voxel volume ``V``) ``|n . a_k| / V`` times per unit
    area, so a crossing weighted ``V |n . a_k| / sum_m (n . a_m)^2`` makes the weights
    of all three axes sum to the area. Unlike a share of the triangles' areas, this
    does not depend on how the marching-cubes table split the cells into triangles
    (its cases are not mirror images of each other: the two halves of an exactly
    mirrored union got the same vertices but other triangles).
    """
    a = np.asarray(affine, dtype=np.float64)[:3, :3]
    proj = np.abs(vn_w @ a)  # |n . a_k| per axis
    frac = np.abs(v_i - np.rint(v_i))
    k = np.argmax(frac, axis=1)
    on_node = frac.max(axis=1) < 1e-9  # exactly on a grid node: the most crossed axis
    k[on_node] = np.argmax(proj[on_node], axis=1)
    own = proj[np.arange(len(k)), k]
    return abs(float(np.linalg.det(a))) * own / np.maximum((proj**2).sum(axis=1), 1e-12)


def _vertex_normals(
    sm: np.ndarray, verts: np.ndarray, affine: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals toward low values at ``verts`` (index space of ``sm``, and world).

    Central differences of the trilinear interpolant one voxel either side (half a
    voxel read a sphere's normals 5.8 deg off, median, one voxel 4.8 on a binary 2 mm
    sphere, 2.4 on a partial-volume one): the same numbers for a mirrored field at the
    mirrored vertex, whatever the triangles.
    """
    g = np.zeros_like(verts)
    for ax in range(3):
        step = np.zeros(3)
        step[ax] = 1.0
        hi = ndimage.map_coordinates(sm, (verts + step).T, order=1, mode="nearest")
        lo = ndimage.map_coordinates(sm, (verts - step).T, order=1, mode="nearest")
        g[:, ax] = hi - lo
    n_i = -g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    # world gradient = A^-T (index gradient)
    g_w = np.linalg.solve(np.asarray(affine, dtype=np.float64)[:3, :3].T, g.T).T
    n_w = -g_w / np.maximum(np.linalg.norm(g_w, axis=1, keepdims=True), 1e-12)
    return n_i, n_w


def _mesh_faces(
    sm: np.ndarray,
    affine: np.ndarray,
    level: float,
    *,
    offset: np.ndarray | None = None,
    vertices: bool = False,
) -> IsoFaces:
    """Iso-surface of an already smoothed field, faces oriented toward low values.

    ``offset`` is the index of ``sm[0, 0, 0]`` in the full working grid; the returned
    index-space coordinates are in the full grid. ``vertices``: also the per-vertex
    normals (from the field's gradient) and areas (:func:`_crossing_areas`).
    """
    from skimage.measure import marching_cubes

    if sm.max() <= level or sm.min() >= level:
        z = np.zeros((0, 3))
        return IsoFaces(z, np.zeros((0, 3), dtype=np.int64), z, z, z, z, np.zeros(0))
    verts, faces, _, _ = marching_cubes(sm, level=level, allow_degenerate=False)
    verts = verts.astype(np.float64)
    tri_i = verts[faces]
    c_i = tri_i.mean(axis=1)
    n_i = np.cross(tri_i[:, 1] - tri_i[:, 0], tri_i[:, 2] - tri_i[:, 0])
    n_i /= np.maximum(np.linalg.norm(n_i, axis=1, keepdims=True), 1e-12)
    # orient each face toward decreasing field (outward of the mask)
    up = ndimage.map_coordinates(sm, (c_i + 0.5 * n_i).T, order=1, mode="nearest")
    dn = ndimage.map_coordinates(sm, (c_i - 0.5 * n_i).T, order=1, mode="nearest")
    flip = up > dn
    n_i[flip] *= -1.0
    faces = faces.astype(np.int64)
    faces[flip] = faces[flip][:, ::-1]
    vn = _vertex_normals(sm, verts, affine) if vertices else None
    if offset is not None:
        verts += offset
        c_i += offset
    verts_w = apply_affine(affine, verts)
    tri_w = verts_w[faces]
    c_w = tri_w.mean(axis=1)
    n_w = np.cross(tri_w[:, 1] - tri_w[:, 0], tri_w[:, 2] - tri_w[:, 0])
    area = 0.5 * np.linalg.norm(n_w, axis=1)
    n_w /= np.maximum(2.0 * area[:, None], 1e-12)
    # world normal sign follows the index-space orientation (the affine may mirror)
    n_w_from_i = (affine[:3, :3] @ n_i.T).T
    wrong = np.einsum("ij,ij->i", n_w, n_w_from_i) < 0
    n_w[wrong] *= -1.0
    if vn is None:
        return IsoFaces(verts_w, faces, c_i, n_i, c_w, n_w, area)
    # the grid's estimate of each vertex's share, scaled to the triangles' total area
    v_area = _crossing_areas(verts, vn[1], affine)
    v_area *= area.sum() / max(float(v_area.sum()), 1e-12)
    return IsoFaces(verts_w, faces, c_i, n_i, c_w, n_w, area, verts, vn[0], vn[1], v_area)


#: Least smoothed body occupancy at which the surface between the twins is traced
#: (about 3 sigma of the smoothing beyond the skin): the readings that place the
#: wound's edge (:func:`_cut_edges`) are spread along the cut by a Gaussian of one
#: working voxel, which needs the cut to go on about 2.5 of them past that edge (cut
#: short at 0.05, 1.6 sigma, the missing points of the air would push the edge out).
_CUT_REACH = 1e-3


def _interface(grid: _Grid, sigma_vx: np.ndarray) -> tuple[IsoFaces, np.ndarray]:
    """Surface between the twins, oriented from A toward B, and the faces on the cut.

    The zero level of ``smooth(occ_A) - smooth(occ_B)`` is the twin boundary. Its faces
    truly between the twins (each twin's smoothed occupancy at least a quarter of the
    body's, which drops the sentinel step at a skin) are returned as far as the smoothed
    body reaches (:data:`_CUT_REACH`, into the air beyond the skin): where the wound ends
    on them is read from the labels (:func:`_cut_edges`), not from this surface.
    Returns the surface (with its vertex normals and areas) and the face mask.
    """
    # only where the two twins' boxes (grown by the smoothing reach) overlap
    m = _margin_vx(sigma_vx)
    box_a = _box(grid.occ[TWIN_A] > 0, 2 * m)
    box_b = _box(grid.occ[TWIN_B] > 0, 2 * m)
    box = tuple(
        slice(max(a.start, b.start), min(a.stop, b.stop)) for a, b in zip(box_a, box_b, strict=True)
    )
    if any(b.stop - b.start < 2 for b in box):
        z = np.zeros((0, 3))
        return IsoFaces(z, np.zeros((0, 3), dtype=np.int64), z, z, z, z, np.zeros(0)), np.zeros(
            0, dtype=bool
        )
    offset = np.array([b.start for b in box], dtype=np.float64)
    ga = ndimage.gaussian_filter(grid.occ[TWIN_A][box], sigma=sigma_vx, mode="constant")
    gb = ndimage.gaussian_filter(grid.occ[TWIN_B][box], sigma=sigma_vx, mode="constant")
    body = ga + gb
    # far from the body the difference is 0; push it to +1 so no surface forms there
    field = np.where(body < _CUT_REACH, 1.0, ga - gb).astype(np.float32)
    itf = _mesh_faces(field, grid.affine, 0.0, offset=offset, vertices=True)
    if len(itf.area) == 0:
        return itf, np.zeros(0, dtype=bool)
    local = (itf.c_i - offset).T
    at_a = ndimage.map_coordinates(ga, local, order=1, mode="nearest")
    at_b = ndimage.map_coordinates(gb, local, order=1, mode="nearest")
    return itf, np.asarray(np.minimum(at_a, at_b) >= 0.25 * (at_a + at_b))


def _flip(iso: IsoFaces) -> IsoFaces:
    """The same surface with the opposite orientation."""
    return dataclasses.replace(
        iso, faces=iso.faces[:, ::-1], n_i=-iso.n_i, n_w=-iso.n_w, vn_i=-iso.vn_i, vn_w=-iso.vn_w
    )


@dataclass(frozen=True)
class _CutEdges:
    """Per interface vertex, where a twin's tissues and skin meet the cut (signed
    distances in units of the smoothing, >= 0 inside; -inf where not read)."""

    rim: EdgeDistances  # the edge of bone, brain, CSF, vessel (the bone opening)
    dura: EdgeDistances  # brain, CSF, vessel (the exposed dura)
    body: EdgeDistances  # the twin's own voxels against the air (the skin at the cut)


def _full(d: EdgeDistances, used: np.ndarray, n_v: int) -> EdgeDistances:
    """``d`` (at the vertices ``used``) on all ``n_v`` vertices, -inf elsewhere."""
    arrays = []
    for v, fill in (
        (d.near, -np.inf),
        (d.far, -np.inf),
        (d.near_depth_mm, 0.0),
        (d.far_depth_mm, 0.0),
        (d.at_cut, -np.inf),
        (d.near_share, 0.0),
        (d.far_share, 0.0),
    ):
        out = np.full(n_v, fill)
        out[used] = v
        arrays.append(out)
    return EdgeDistances(*arrays)


def _cut_edges(grid: _Grid, t: int, itf: IsoFaces, used: np.ndarray) -> _CutEdges:
    """Where the twin's tissues and its skin meet the cut, at the vertices ``used``.

    Read on the full-resolution labels along each vertex's inward normal and
    extrapolated to the cut (:mod:`twinsep.reconstruct.cut_tissue`), the readings spread
    along the cut by one working voxel: the tissue inside the bone rim and under the
    dura among the twin's own voxels, and the twin's body among its own voxels and the
    air on its side of the cut (the scalp defect's edge, where the twin's skin meets
    the cut; the body occupancy of the working grid, read half a working voxel into both
    twins, where a head cut off its pole is wider, put it 0.5-1.6 mm outside).
    """
    n_v = len(itf.verts_w)
    none = np.zeros(0, dtype=np.int64)
    if len(used) == 0:
        empty = EdgeDistances(*(np.zeros(0) for _ in range(7)))
        return _CutEdges(_full(empty, none, n_v), _full(empty, none, n_v), _full(empty, none, n_v))
    s = np.asarray(grid.stride, dtype=np.float64)
    # working index p -> crop index s*(p-1) + (s-1)/2 (block centre, see _working_grid)
    q = s * (itf.v_i[used] - 1.0) + (s - 1.0) / 2.0
    a_full = grid.affine[:3, :3] / s  # crop voxel -> world mm
    inward_q = np.linalg.solve(a_full, -itf.vn_w[used].T).T  # crop voxels per world mm
    max_depth = (float(s.max()) + 1.0) * float(np.linalg.norm(a_full, axis=0).max())
    sigma_mm = float(np.linalg.norm(grid.affine[:3, :3], axis=0).max())
    pts = itf.verts_w[used]
    src = (grid.src_twins, grid.src_labels, a_full, t)
    tissue = cut_readings(
        q, inward_q, *src, (_INSIDE_BONE_RIM, _UNDER_DURA), max_depth_mm=max_depth
    )
    # the body read at 3 x 3 places over a working voxel: on a scan finer than the
    # working grid one place per vertex samples the skin's voxel staircase at the
    # working pitch (the edge 0.4 mm inward on a 0.5 mm scan, 1.5 mm working grid)
    body = cut_readings(
        q,
        inward_q,
        *src,
        (_ANY_LABEL,),
        max_depth_mm=max_depth,
        with_background=True,
        spread_mm=sigma_mm,
    )
    rim, dura = edge_distances(tissue, pts, sigma_mm)
    body_d = edge_distances(body, pts, sigma_mm)[0]
    return _CutEdges(_full(rim, used, n_v), _full(dura, used, n_v), _full(body_d, used, n_v))


def _lookup(arr: np.ndarray, pts_i: np.ndarray) -> np.ndarray:
    ijk = np.rint(pts_i).astype(np.int64)
    for ax in range(3):
        np.clip(ijk[:, ax], 0, arr.shape[ax] - 1, out=ijk[:, ax])
    return arr[ijk[:, 0], ijk[:, 1], ijk[:, 2]]


def _smooth_loop(loop: np.ndarray, n_iter: int = 10) -> np.ndarray:
    """Laplacian smoothing of a closed polyline (removes the voxel staircase)."""
    if len(loop) < 5:
        return loop
    p = loop.copy()
    for _ in range(n_iter):
        p = 0.5 * p + 0.25 * (np.roll(p, 1, axis=0) + np.roll(p, -1, axis=0))
    return p


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _angles_deg(
    points_mm: np.ndarray, centre_mm: np.ndarray, axis: np.ndarray, face: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Elevation above the plane perpendicular to ``axis`` and |azimuth| from ``face``, deg.

    Both seen from ``centre_mm``; the azimuth is 0 toward the face, 180 at the back
    (its sign, left or right, is dropped: the rules are bilateral). Without a face
    direction the azimuth is NaN.
    """
    rel = points_mm - centre_mm
    r = np.maximum(np.linalg.norm(rel, axis=1), 1e-9)
    elev = np.degrees(np.arcsin(np.clip(rel @ axis / r, -1.0, 1.0)))
    if face is None:
        return elev, np.full(len(rel), np.nan)
    side = np.cross(axis, face)
    az = np.degrees(np.arctan2(np.abs(rel @ side), rel @ face))
    return elev, az


def scalp_regions(
    points_mm: np.ndarray,
    *,
    centre_mm: np.ndarray,
    axis: np.ndarray,
    face_dir: np.ndarray | None,
    wound_distance_mm: np.ndarray,
    brain_distance_mm: np.ndarray | None,
    params: DefectParams = DefectParams(),
) -> np.ndarray:
    """Region code of each skin point (:data:`AVAILABLE`, :data:`NEAR_WOUND`, ...).

    Parameters
    ----------
    points_mm : (N, 3) float
        Skin points, world mm.
    centre_mm : (3,) float
        The twin's brain centre, world mm.
    axis : (3,) float
        Unit long axis, neck -> vertex.
    face_dir : (3,) float or None
        Unit facial direction (made perpendicular to ``axis`` here); None: unknown.
    wound_distance_mm : (N,) float
        Distance of each point from the separation wound, mm (only compared with
        ``params.bridge_margin_mm``: larger distances may be given as inf).
    brain_distance_mm : (N,) float or None
        Distance of each point from the twin's brain, mm (None: rule not applied).
    params : DefectParams

    Returns
    -------
    (N,) uint8
        The first rule that applies, in the order near wound, face, ears, neck,
        off the vault; :data:`AVAILABLE` when none does.
    """
    axis = _unit(np.asarray(axis, dtype=np.float64))
    face = None
    if face_dir is not None:
        f = np.asarray(face_dir, dtype=np.float64)
        f = f - (f @ axis) * axis
        face = _unit(f) if np.linalg.norm(f) > 1e-6 else None
    elev, az = _angles_deg(points_mm, np.asarray(centre_mm, dtype=np.float64), axis, face)
    region = np.full(len(points_mm), AVAILABLE, dtype=np.uint8)
    off_vault = (
        brain_distance_mm > params.max_brain_depth_mm
        if brain_distance_mm is not None
        else np.zeros(len(points_mm), dtype=bool)
    )
    if face is None:
        face_m = elev < params.brow_elevation_deg
        ears_m = np.zeros(len(points_mm), dtype=bool)
    else:
        face_m = (elev < params.brow_elevation_deg) & (az <= params.face_half_width_deg)
        # angle between each point's direction and the ear direction (same side)
        e0, a0 = np.radians(params.ear_elevation_deg), np.radians(params.ear_azimuth_deg)
        el, azr = np.radians(elev), np.radians(az)
        cos_sep = np.sin(el) * np.sin(e0) + np.cos(el) * np.cos(e0) * np.cos(azr - a0)
        ears_m = np.degrees(np.arccos(np.clip(cos_sep, -1.0, 1.0))) <= params.ear_radius_deg
    neck_m = elev < params.neck_elevation_deg
    # later rules first, so the first applicable rule wins
    for code, m in (
        (OFF_VAULT, off_vault),
        (NECK, neck_m),
        (EARS, ears_m),
        (FACE, face_m),
        (NEAR_WOUND, wound_distance_mm < params.bridge_margin_mm),
    ):
        region[m] = code
    return region


#: Deepest bone run counted as skull thickness along an outer face's inward normal, mm:
#: the adult vault is 5-10 mm; the skull base and petrous bone, cut obliquely, are
#: thicker and would only lengthen the tail of the (median) thickness.
_MAX_SKULL_MM = 15.0


def _skull_outer(grid: _Grid, t: int, sigma_vx: np.ndarray) -> tuple[SurfaceSample, float]:
    """Outer surface of a twin's skull and its median thickness (mm).

    The surface is the 0.5 iso-surface of the smoothed cranium (the twin's bone, brain,
    CSF and vessel fraction per working voxel, its enclosed holes filled), not of the
    bone alone: a Gaussian of sigma ``s`` brings a plate thinner than about ``2.5 s``
    below one half and the bone's own iso-surface loses it (an infant's 1.5-3 mm skull
    at 1.2-3 mm working voxels), while the cranium is thick and its outer boundary is
    the bone's wherever bone covers it. Faces are kept where they face soft tissue or
    air (one working voxel outward) and have bone of the twin within one and a half
    working voxels inward, bone being taken one working voxel wide (fontanelles, sutures
    wider than two working voxels and the wound are not skull).

    The thickness is measured across the plate, independently of the area: along each
    kept face's inward normal, the length of the first run of the twin's bone on the
    full-resolution labels (quarter-voxel steps, at most :data:`_MAX_SKULL_MM`); the
    area-weighted median over the faces.
    """
    empty = SurfaceSample(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
    if not grid.bone[t].any():
        return empty, 0.0
    # bone within one working voxel: a plate thinner than the voxel leaves a sieve of
    # bone labels (partial volume), whose holes are skull; a gap's rim grows by a voxel
    bone = ndimage.binary_dilation(grid.bone[t], structure=np.ones((3, 3, 3), dtype=bool))
    solid = grid.cranium[t] >= 0.5
    field = np.where(ndimage.binary_fill_holes(solid) & ~solid, 1.0, grid.cranium[t])
    iso = iso_faces(field.astype(np.float32), grid.affine, sigma_vx)
    if len(iso.area) == 0:
        return empty, 0.0
    out_lab = _lookup(grid.labels, iso.c_i + iso.n_i)
    keep = np.isin(out_lab, (0, SOFT_TISSUE))
    over_bone = np.zeros(len(iso.area), dtype=bool)
    for depth in (0.25, 0.75, 1.25, 1.5):
        over_bone |= _lookup(bone, iso.c_i - depth * iso.n_i).astype(bool)
    keep &= over_bone
    sample = SurfaceSample(iso.c_w[keep], iso.n_w[keep], iso.area[keep])
    if not keep.any():
        return sample, 0.0
    run_mm = _bone_run_mm(grid, t, iso.c_i[keep], iso.n_w[keep])
    has = run_mm > 0
    if not has.any():
        return sample, 0.0
    order = np.argsort(run_mm[has])
    w = np.cumsum(sample.areas_mm2[has][order])
    median = float(run_mm[has][order][np.searchsorted(w, 0.5 * w[-1])])
    return sample, median


def _bone_run_mm(grid: _Grid, t: int, c_i: np.ndarray, n_w: np.ndarray) -> np.ndarray:
    """Length (mm) of the first run of the twin's bone inward from working-grid points.

    Walks in world mm along ``-n_w`` (the surface's world normal, across the plate: on
    an anisotropic grid the index-space normal maps to an oblique world direction, and
    a walk along it read a plate tilted 45 deg on a 1 x 1 x 3 mm grid 28 % thick), from
    one working voxel outside each point, on the full-resolution crop (nearest voxel,
    steps of a quarter of the smallest scan voxel), and counts the samples of the first
    contiguous run of bone of twin ``t``; 0 where none is met.
    """
    s = np.asarray(grid.stride, dtype=np.float64)
    # working index p -> crop index s*(p-1) + (s-1)/2
    q0 = s * (c_i - 1.0) + (s - 1.0) / 2.0
    a_full = grid.affine[:3, :3] / s  # crop voxel -> world mm
    dq = np.linalg.solve(a_full, -np.asarray(n_w, dtype=np.float64).T).T  # crop voxels per mm
    step_mm = 0.25 * float(np.linalg.norm(a_full, axis=0).min())
    start_mm = float(np.linalg.norm(grid.affine[:3, :3], axis=0).max())  # a working voxel out
    n_steps = int(np.ceil((_MAX_SKULL_MM + start_mm) / step_mm)) + 1
    shape = np.asarray(grid.src_labels.shape)
    started = np.zeros(len(c_i), dtype=bool)
    count = np.zeros(len(c_i), dtype=np.int64)
    # the points still walking: each step samples these only (most runs end within a
    # few mm, the walk goes on to _MAX_SKULL_MM for the few that have not)
    live = np.arange(len(c_i))
    for k in range(n_steps):
        pos = -start_mm + k * step_mm  # mm along the inward normal
        q = np.rint(q0[live] + pos * dq[live]).astype(np.int64)
        inside = np.all((q >= 0) & (q < shape), axis=1)
        b = np.zeros(len(live), dtype=bool)
        qi = q[inside]
        sel = (qi[:, 0], qi[:, 1], qi[:, 2])
        b[inside] = (grid.src_labels[sel] == BONE) & (grid.src_twins[sel] == t)
        count[live[b]] += 1
        started[live[b]] = True
        done = (started[live] & ~b) | (pos >= _MAX_SKULL_MM)
        live = live[~done]
        if not len(live):
            break
    return np.asarray(count * step_mm, dtype=np.float64)


def _brain_distance_mm(grid: _Grid, t: int, pts_i: np.ndarray) -> np.ndarray | None:
    """Distance (mm) from working-grid points to the twin's brain; None without brain."""
    import edt

    brain = grid.brain[t] >= 0.5
    if brain.sum() < 10:
        return None
    box = _box(grid.occ[t] > 0, 2)
    sp = np.linalg.norm(grid.affine[:3, :3], axis=0)
    dist = edt.edt(
        np.ascontiguousarray(~brain[box]),
        anisotropy=tuple(float(v) for v in sp),
        black_border=False,
    )
    offset = np.array([b.start for b in box], dtype=np.float64)
    # interpolated, not the nearest voxel's: a skin vertex halfway along a grid edge
    # rounds to one voxel or the other by the last bit of its position (the two halves
    # of a mirrored union then disagreed at the off-vault limit)
    return np.asarray(
        ndimage.map_coordinates(dist, (pts_i - offset).T, order=1, mode="nearest"),
        dtype=np.float64,
    )


def measure_defects(
    labels: Volume,
    twins: Volume,
    *,
    frames: Mapping[str, HeadFrame] | None = None,
    params: DefectParams = DefectParams(),
) -> dict[str, TwinDefects]:
    """Scalp and bone defects and available scalp of both twins after separation.

    Parameters
    ----------
    labels : Volume
        Tissue labels (uint8 0..5, DESIGN.md).
    twins : Volume
        Twin ownership after separation (0 background, 1 A, 2 B), same grid; the
        boundary between 1 and 2 is the separation surface.
    frames : mapping "A"/"B" -> HeadFrame, optional
        Each twin's long axis (neck -> vertex) and facial direction, world, e.g. from
        the fusion stage. The axis is estimated when missing: from the neck (where the
        twin leaves the scan, or its tissue farthest from the wound) through the brain
        centre; without a facial direction all skin below the brow level is excluded.
    params : DefectParams

    Returns
    -------
    dict "A"/"B" -> TwinDefects

    Raises
    ------
    InputError
        Grids differ or label values are out of range.
    AnatomyError
        A twin is missing, or the twins share no boundary (nothing to reconstruct).
    """
    if not labels.same_grid(twins):
        raise InputError("twins", f"grid {twins.shape} differs from the labels grid {labels.shape}")
    if twins.array.max(initial=0) > TWIN_B:
        raise InputError("twins", f"value {int(twins.array.max())} is not 0, 1 or 2")
    if labels.array.max(initial=0) > VESSEL:
        raise InputError("labels", f"value {int(labels.array.max())} is not a tissue label 0..5")
    for t in (TWIN_A, TWIN_B):
        if not np.any(twins.array == t):
            raise AnatomyError("twins", f"twin {TWIN_NAMES[t]} has no voxels; two twins are needed")
    grid = _working_grid(labels, twins, params)
    work_sp = np.linalg.norm(grid.affine[:3, :3], axis=0)
    sigma_vx = np.maximum(params.smooth_sigma_mm / work_sp, params.min_sigma_vx)
    itf_a, between = _interface(grid, sigma_vx)
    cut_faces = itf_a.faces[between]
    used = np.unique(cut_faces)
    edges = {
        t: _cut_edges(grid, t, itf_a if t == TWIN_A else _flip(itf_a), used)
        for t in (TWIN_A, TWIN_B)
    }
    # the area each vertex of the cut stands for, its faces' total
    v_area = np.zeros(len(itf_a.verts_w))
    for k in range(3):
        np.add.at(v_area, cut_faces[:, k], itf_a.area[between] / 3.0)
    # the wound is where both twins' tissue meets the cut (one twin's skin reaching past
    # the other's is skin, not wound): the same opening for both; each twin's edge holds
    # near-tangent cuts too (cut_tissue.area_in_depth)
    g_body = np.minimum(
        *(
            area_in_depth(edges[t].body, cut_faces, itf_a.area[between], v_area)
            for t in (TWIN_A, TWIN_B)
        )
    )
    w_area = itf_a.area[between] * clipped_area_fraction(cut_faces, g_body)
    if not w_area.sum() > 0:
        raise AnatomyError("twins", "twin A and twin B share no boundary; nothing to reconstruct")
    in_wound_v = np.zeros(len(itf_a.verts_w), dtype=bool)
    in_wound_v[used[g_body[used] >= 0.0]] = True
    if not in_wound_v.any():  # a sliver of a wound: the corners of its faces
        in_wound_v[cut_faces[w_area > 0].ravel()] = True
    scalp_outline = _smooth_loop(level_loop(itf_a.verts_w, cut_faces, g_body))
    out: dict[str, TwinDefects] = {}
    for t in (TWIN_A, TWIN_B):
        name = TWIN_NAMES[t]
        other = TWIN_B if t == TWIN_A else TWIN_A
        # the skin and the wound are sampled at the marching-cubes vertices (where the
        # surface crosses grid edges), with normals from the field's gradient and the
        # area each stands for from the grid: the two halves of a mirrored union give
        # mirrored samples (the face centroids were 0.4-0.6 mm apart: the marching-cubes
        # table splits mirrored cells into other triangles)
        env = iso_faces(grid.occ[t], grid.affine, sigma_vx, vertices=True)
        probe_out = env.v_i + env.vn_i
        occ_t = _lookup(grid.occ[t], probe_out)
        occ_o = _lookup(grid.occ[other], probe_out)
        occ_bg = 1.0 - occ_t - occ_o
        skin_mask = ~((occ_o > occ_bg) & (occ_o > 0.25))
        if skin_mask.sum() < params.min_skin_faces:
            raise AnatomyError("twins", f"twin {name} has no outer skin surface")
        itf = itf_a if t == TWIN_A else _flip(itf_a)
        c_w, n_w = itf.c_w[between], itf.n_w[between]
        wound_faces = itf.faces[between]
        # the twin's own tissue, extrapolated to the cut, says which tissue it crosses:
        # the part of each face over it (and within the wound) counts, the rim is its
        # zero contour
        face_area = itf.area[between]
        # near-tangent cuts: the area extrapolated in depth (cut_tissue.area_in_depth)
        g_rim = area_in_depth(edges[t].rim, wound_faces, face_area, v_area, cap=g_body)
        g_dura = area_in_depth(edges[t].dura, wound_faces, face_area, v_area, cap=g_rim)
        rim_area = float((face_area * clipped_area_fraction(wound_faces, g_rim)).sum())
        dura_area = float((face_area * clipped_area_fraction(wound_faces, g_dura)).sum())
        centroid = (c_w * w_area[:, None]).sum(axis=0) / w_area.sum()
        normal = _unit((n_w * w_area[:, None]).sum(axis=0))

        # brain centre on the working grid (the twin's brain fraction per block)
        frac = grid.brain[t] if (grid.brain[t] >= 0.5).sum() >= 10 else grid.occ[t]
        where = np.argwhere(frac > 0)
        w = frac[tuple(where.T)].astype(np.float64)
        b_centre = apply_affine(grid.affine, (where * w[:, None]).sum(axis=0) / w.sum())
        # the wound's vertices carry the area of its faces (the interface mesh also has
        # faces outside the body)
        w_v_area = itf.v_area[in_wound_v]
        w_v_area = w_v_area * (w_area.sum() / max(float(w_v_area.sum()), 1e-12))
        wound = SurfaceSample(itf.verts_w[in_wound_v], itf.vn_w[in_wound_v], w_v_area)
        skin = SurfaceSample(env.verts_w[skin_mask], env.vn_w[skin_mask], env.v_area[skin_mask])

        frame = frames.get(name) if frames is not None else None
        face_dir: np.ndarray | None = None
        if frame is not None:
            axis = _unit(np.asarray(frame.axis, dtype=np.float64))
            if frame.face_dir is not None and frame.face_strength >= params.min_face_strength:
                face_dir = np.asarray(frame.face_dir, dtype=np.float64)
        else:
            border = grid.border_mm[t]
            if len(border) >= 20:
                neck = border.mean(axis=0)
            else:
                # the skin farthest from the wound (top 10 % of the distance range)
                dist = np.linalg.norm(skin.points_mm - centroid, axis=1)
                far = dist >= dist.min() + 0.9 * (dist.max() - dist.min())
                neck = skin.points_mm[far].mean(axis=0)
            axis = _unit(b_centre - neck)
        # Only "nearer than bridge_margin_mm" is asked of this distance: the search is
        # bounded just above the margin (exact below it, inf beyond), which skips the
        # far skin; unbounded, a cap-shaped wound makes every far query visit most of
        # the tree (1.6 s for 75k points on the 512 case).
        d_wound, _ = cKDTree(wound.points_mm).query(
            skin.points_mm,
            distance_upper_bound=float(np.nextafter(params.bridge_margin_mm, np.inf)),
        )
        region = scalp_regions(
            skin.points_mm,
            centre_mm=b_centre,
            axis=axis,
            face_dir=face_dir,
            wound_distance_mm=d_wound,
            brain_distance_mm=_brain_distance_mm(grid, t, env.v_i[skin_mask]),
            params=params,
        )
        available = region == AVAILABLE

        bone_outer, thickness = _skull_outer(grid, t, sigma_vx)

        out[name] = TwinDefects(
            twin=name,
            scalp_defect_area_mm2=float(w_area.sum()),
            bone_defect_area_mm2=rim_area,
            dura_exposed_area_mm2=dura_area,
            scalp_outline_mm=scalp_outline,
            bone_rim_mm=_smooth_loop(level_loop(itf.verts_w, wound_faces, g_rim)),
            defect_centroid_mm=centroid,
            defect_normal=normal,
            wound=wound,
            skin=skin,
            available=available,
            bone_outer=bone_outer,
            skull_thickness_mm=float(thickness),
            brain_centre_mm=b_centre,
            head_axis=axis,
            region=region,
            face_dir=_unit(face_dir - (face_dir @ axis) * axis) if face_dir is not None else None,
        )
        logger.debug(
            "twin %s: wound %.0f mm2, bone %.0f mm2, dura %.0f mm2, available scalp %.0f mm2",
            name,
            out[name].scalp_defect_area_mm2,
            out[name].bone_defect_area_mm2,
            out[name].dura_exposed_area_mm2,
            out[name].available_scalp_area_mm2,
        )
    return out
