"""Each twin's own frame from anatomy: brain centre, long axis (neck to vertex), face.

Nothing here looks at array axes; all directions are world unit vectors (RAS).

Real scans often stop at C1-C2, crop the face or hold the head in a holder, so the
detector does not look for a long neck. Per twin:

1. cavity ``C``: the twin's brain and CSF; ``b`` its world centroid (brain only when
   there is enough brain);
2. vault thickness ``t``: a low percentile (``AxisParams.vault_percentile``) of the
   skin's distance from ``C`` (most skin lies over the vault); tissue farther than
   ``max(scalp_skull_mm, thick_factor * t)`` from ``C`` and farther than
   ``bridge_exclusion_mm`` from the other twin is **extracranial** ``E``: face, skull
   base, neck (never the bridge);
3. three "down" cues, unit vectors from ``b``:

   * *mass*: the mean direction of ``E``'s volume;
   * *footprint*: the mean of the direction bins (a Fibonacci lattice of
     ``directions``) that hold extracranial tissue, each bin once: a large face and a
     short neck count by the angle they span below the cranium, not by volume;
   * *exit*: the centroid direction of the lowest slab of ``C`` along the first two
     (the foramen magnum, brainstem or spinal canal; on a round cavity without an exit
     it repeats the first estimate);

   combined with the weights of :class:`~twinsep.fusion.params.AxisParams`; the end
   of the extracranial tissue along that estimate is the neck when it agrees with it,
   else the estimate is tilted by ``face_tilt_deg`` away from the face;

   * *cut*: brain or CSF with no scalp and skull between it and background or the
     array's edge (within ``open_cover_mm``) is seen only where the scan cut the head
     (real CTs that end at the skull base, C1 or through the posterior fossa): the
     body continues on that side. A large (``open_min_mm2``), flat (``open_flatness``)
     piece of it away from the bridge is a cut face **when the skin is cut flat along
     the same plane** (``cut_plane_agree_deg``, ``cut_support_ratio``: a scan cuts the
     whole body; a bone window under thin scalp or the thin-covered crease where two
     heads join uncovers cavity under curved skin, and on a real CT resampled onto an
     oblique grid such a crease piece passed the flatness test and turned a vertical
     fusion angular); its plane's normal, away from the brain centre, is a down cue,
     and a scan that cuts the cavity holds no neck (the farthest tissue is then the
     face). It joins the skull-base estimate with ``weight_open`` (twice the
     skull-base weight: on the real Cranium CT the cut is 0-5 deg from the truth, the
     skull-base cues 15-20 deg, leaning to the face); the skull base's weight fades
     linearly to 0 between ``cut_agree_deg`` (its own error) and ``cut_alone_deg`` of
     disagreement (no jump from the mean to the cut alone). It assumes the cut runs across the head
     (an axial scan of a head lying straight): a cut tilted by ``t`` deg to the head's
     axis tilts the axis by about ``t``;
   * *body cut*: when the cavity is closed but the scan ends just below it (skull
     base, C1), the tissue meets background or the array's edge across a plane: the
     largest patch of skin sharing one outward normal (``body_cut_normal_deg``), flat
     within ``body_cut_depth_mm`` and of at least ``body_cut_min_mm2``, plays the
     cut's part (whole phantom heads' flattest patches stay under 1340 mm^2); one
     beyond a whole neck (``body_cut_reach_mm``: the body in the scan) is used only
     when it agrees with the skull-base cues and the neck, followed to the scan's end,
     is not confirmed by its walls there;
   * *neck or jaw cut*: a smaller flat patch (``neck_cut_min_mm2``) that ends the body
     across the neck's end slab replaces a neck that leans more than ``cut_agree_deg``
     from it (a scan ending at the chin or through the jaw: the end slab holds the cut
     jaw and the neck slides onto the chin), unless the cavity's exit sides with the
     neck (a cut oblique to a straight neck) and no tube of neck walls lies inside the
     cut. A patch whose neck walls' axis, followed back up, reaches the brain centre is
     the neck's cut wherever the skull-base cues lean (a long head's long face). Where
     the skin just inside it, facing the room, is a tube (:func:`_tube_axis`, trimmed
     to the walls across its axis) that confirms the neck, the tube's axis is the neck
     (the mean of the two when they agree within ``neck_tube_agree_deg``): the end
     slab's centroid leans toward the long side of an oblique section or into the
     chin's flare;

   ``axis = -down``;
4. face: extracranial tissue seen from ``b`` between ``face_band_deg`` of the down
   direction (jaw, nose, orbits, ears), weighted by how far it protrudes; its mean
   direction perpendicular to the long axis points to the face (ears, being
   bilateral, cancel). With a scan cut, the face is also measured about the final
   axis and the more one-sided of the two kept (a scan ending mid-face leaves the
   skull-base estimate 60-95 deg off and the face was read backwards; a skull base
   within ``cut_agree_deg`` of the cut still leaned the faces of Colin27 9-19 deg).
   The face is then taken in the head's plane of bilateral symmetry where the skin
   has one distinct such plane (:func:`_mirror_face`; searched over a full half-turn
   about the axis, whatever the face measure said): the protrusions' mean
   turns with a long axis leaning sideways and with labels wrong on one side under
   the skull base (Colin27 real-angular segmented: 15-18 deg);
5. evidence: ``axis_strength`` (agreement of the cues), ``face_strength`` and notes
   when the evidence is weak or the junction is not where a craniopagus has it (a
   check, never an input).

A head with less than ``min_orient_ml`` of extracranial tissue and no scan cut (plain
layered phantom heads, a scan cropped to the calvaria) has nothing anatomical to orient
it: its long axis is assumed to point from ``b`` to its side of the junction (the vertex,
the commonest craniopagus site), the face direction is unknown (``face_strength`` 0)
and the frame says so (``TwinFrame.from_anatomy`` False, a note naming the twin).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import edt
import numpy as np
from scipy import ndimage as ndi

from twinsep.errors import AnatomyError
from twinsep.fusion.params import EDT_THREADS, AxisParams, FusionParams
from twinsep.fusion.surface import affine_points
from twinsep.labels import BRAIN, CSF
from twinsep.segment.morph import label_components
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

#: Extracranial points used for the direction footprint (deterministic stride above).
_MAX_FOOTPRINT_POINTS = 60_000
#: Skin points mirrored per plane in the symmetry check of the face (deterministic
#: stride above), the coarse grid's step of planes (deg; the best plane is refined by a
#: pattern search down to 0.3 deg) and the cap of one point's mismatch (mm).
_MAX_MIRROR_POINTS = 5_000
_MIRROR_STEP_DEG = 5.0
_MIRROR_CAP_MM = 20.0
#: Mismatches (mm) this close are a tie in the mirror plane's search, broken by the
#: order of the planes tried (relative to the grid's frame): a float32 sform moves
#: world coordinates by ~1e-5 mm, and the real CT stored turned picked a plane 0.31 deg
#: away on a near-tie (:func:`_first_min`).
_MIRROR_TIE_MM = 1e-5


@dataclass(frozen=True)
class TwinFrame:
    """Anatomical frame of one twin, world mm / unit vectors.

    Attributes
    ----------
    twin : str
        ``"A"`` or ``"B"``.
    brain_centre_mm : (3,) ndarray
        World centroid of the brain, mm.
    axis : (3,) ndarray
        Unit long axis pointing from the neck to the vertex.
    face_dir : (3,) ndarray
        Unit facial direction, perpendicular to ``axis``.
    neck_mm, vertex_mm : (3,) ndarray
        World points at the cranial cavity's exit toward the spine (on the long axis,
        as far below the brain centre as the cavity reaches) and at the vertex (farthest
        tissue along ``axis``).
    neck_ml, face_ml : float
        Volume of extracranial tissue used as evidence for the long axis (face, skull
        base, neck) / for the face, mL.
    face_strength : float
        Length of the mean protrusion vector (0 = no preferred face direction, 1 =
        all protrusion on one side); below 0.05 the face direction is a guess.
    axis_strength : float
        Agreement of the down cues: length of the weighted mean of their unit vectors
        (1 = identical, 0.9 = spread over about 25 deg).
    cue_dirs : dict
        ``{"mass", "footprint", "exit", "neck"}`` and ``"cut"`` when the scan cuts the
        cranial cavity: each cue's unit down direction (world).
    vault_mm : float
        Scalp + skull thickness over the vault used to tell extracranial tissue, mm.
    notes : tuple of str
        Plain-words doubts about this twin's frame (empty when the evidence is good).
    from_anatomy : bool
        False when the head showed no face, skull base or neck (nor a scan cut): the
        axis was then assumed to point from the brain centre to the junction with the
        other twin and ``face_dir`` is an arbitrary perpendicular (``face_strength`` 0).
    """

    twin: str
    brain_centre_mm: np.ndarray
    axis: np.ndarray
    face_dir: np.ndarray
    neck_mm: np.ndarray
    vertex_mm: np.ndarray
    neck_ml: float
    face_ml: float
    face_strength: float
    axis_strength: float = 1.0
    cue_dirs: dict[str, np.ndarray] | None = None
    vault_mm: float = 0.0
    notes: tuple[str, ...] = ()
    from_anatomy: bool = True


@dataclass(frozen=True)
class _Plane:
    """A candidate cut plane of the scan: unit normal (world), centre (mm), area (mm^2)."""

    normal: np.ndarray
    centre_mm: np.ndarray
    area_mm2: float


#: A flat end of the scan whose normal lies within this angle (deg) of the skull-base
#: cues faces the feet rather than the side (the bisector of down and across): a cut
#: through the neck, not a flat facet of an ear or a cheek.
_FEET_SIDE_DEG = 45.0


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _crop(mask: np.ndarray, margin: int = 0) -> tuple[slice, ...]:
    """Bounding box of a non-empty mask grown by ``margin`` voxels (axis projections)."""
    box = []
    for ax in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != ax)))
        lo = max(int(hit[0]) - margin, 0)
        hi = min(int(hit[-1]) + 1 + margin, mask.shape[ax])
        box.append(slice(lo, hi))
    return tuple(box)


def _boxed(mask: np.ndarray, shape: tuple[int, ...], box: tuple[slice, ...]) -> np.ndarray:
    """A crop's mask placed back on the full grid (for world-space helpers)."""
    full = np.zeros(shape, dtype=bool)
    full[box] = mask
    return full


def fibonacci_directions(n: int) -> np.ndarray:
    """``n`` unit vectors spread evenly over the sphere (Fibonacci lattice), (n, 3)."""
    i = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * i / n)
    azim = np.pi * (1.0 + 5.0**0.5) * i
    return np.stack(
        [np.cos(azim) * np.sin(polar), np.sin(azim) * np.sin(polar), np.cos(polar)], axis=1
    )


#: The 24 rotations of a cube: signed permutation matrices of determinant +1.
_CUBE_TURNS = tuple(
    g
    for perm in itertools.permutations(range(3))
    for signs in itertools.product((1.0, -1.0), repeat=3)
    if np.linalg.det(g := np.eye(3)[:, list(perm)] * np.array(signs)) > 0
)


def body_axes(body: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """The body's principal axes in world mm, signed by its skew: a rotation, (3, 3).

    Parameters
    ----------
    body : bool array
        The voxels (any crop of the grid: only offsets between voxels matter).
    affine : (4, 4) or (3, 3) ndarray
        The grid's affine (its linear part: the array axes' steps, mm).

    Returns
    -------
    (3, 3) ndarray
        Columns: the principal axes, largest spread first. Each of the two along which
        the body is most skewed (third moment over the cubed spread) points to its
        positive skew; the third follows from the right-hand rule (a body symmetric
        about a plane has no skew across it). The world turned by ``Q`` gives ``Q @
        axes`` up to rounding, unless two spreads tie (a voxelised sphere) or the body
        is symmetric about two planes. The identity below 4 voxels.
    """
    idx = np.nonzero(body)
    if len(idx[0]) < 4:
        return np.eye(3)
    m = np.asarray(affine, dtype=np.float64)[:3, :3]
    d = [a.astype(np.float64) - float(a.mean()) for a in idx]
    cov_i = np.array([[float(np.mean(d[i] * d[j])) for j in range(3)] for i in range(3)])
    spread, vec = np.linalg.eigh(m @ cov_i @ m.T)
    vec = vec[:, ::-1]
    spread = np.maximum(spread[::-1], 1e-12)
    steps = m.T @ vec  # each axis in index steps
    skew = np.empty(3)
    for k in range(3):
        along = d[0] * steps[0, k] + d[1] * steps[1, k] + d[2] * steps[2, k]
        skew[k] = float(np.mean(along**3)) / spread[k] ** 1.5
    signed = sorted(np.argsort(-np.abs(skew), kind="stable")[:2].tolist())
    for k in signed:
        if skew[k] < 0:
            vec[:, k] = -vec[:, k]
    if np.linalg.det(vec) < 0:
        free = ({0, 1, 2} - set(signed)).pop()
        vec[:, free] = -vec[:, free]
    return np.asarray(vec)


def grid_frame(affine: np.ndarray, body: np.ndarray | None = None) -> np.ndarray:
    """A frame of the grid's own directions, turned among them by the body: (3, 3).

    The direction lattice (:func:`fibonacci_directions`) is laid in this frame
    (:func:`grid_lattice`), not in the world axes. What the lattice bins is fixed to the
    grid: a skin voxel's normal is an offset to its background neighbours, so the
    normals of a flat face stair-step over a few directions that the grid sets, and the
    extracranial voxels' directions are voxel positions. Laid in world axes, the same
    voxels stored under a turned affine fell on other bins (a hand-made pair whose neck
    ends square to the grid, turned 90 deg about z: twin A's axis 8.4 deg apart, the
    neck's flat end taken on one storage only; the real CT turned 30 deg: axis 166.9
    for 166.7). The grid's unit steps turn with the affine, but a grid is the same
    after any of a cube's 24 turns (the canonical layout the frames get is square to
    the world whenever the scan was, whatever 90-deg turn it was stored under), so the
    body chooses among them: the turn of the steps that lies nearest its principal
    axes (:func:`body_axes`; the largest trace of their product). The same voxels then
    give the same frame relative to themselves under any turn of the affine.

    Parameters
    ----------
    affine : (4, 4) or (3, 3) ndarray
        The grid's affine (its linear part: the array axes' steps, mm).
    body : bool array, optional
        The voxels that choose the turn (none: the steps themselves).

    Returns
    -------
    (3, 3) ndarray
        The unit steps of the array axes (the nearest orthogonal matrix, by polar
        decomposition, when they are not orthogonal within 1e-6), turned by the
        chosen cube rotation; the world turned by ``Q`` gives ``Q @ frame``.
    """
    m = np.asarray(affine, dtype=np.float64)[:3, :3]
    cols = m / np.linalg.norm(m, axis=0)
    if not np.allclose(cols.T @ cols, np.eye(3), rtol=0.0, atol=1e-6):
        u, _, vt = np.linalg.svd(m)
        cols = u @ vt
    if body is None:
        return np.asarray(cols)
    axes = body_axes(body, affine)
    fit = [float(np.trace(axes.T @ cols @ g)) for g in _CUBE_TURNS]
    return np.asarray(cols @ _CUBE_TURNS[int(np.argmax(fit))])


#: A direction of no symmetry of the grid, in the frame's coordinates, along which
#: :func:`_every` orders points: components 1 : sqrt(2) - 1 : pi - 3, no two voxel
#: centres of a cubic grid at one level along it (the golden ratio's 1 : 0.618 : 0.382
#: put every (-1, 1, 1) step at one level).
_ORDER_DIR = np.array([1.0, 2.0**0.5 - 1.0, np.pi - 3.0])


def _every(pts_mm: np.ndarray, frame: np.ndarray | None, step: int) -> np.ndarray:
    """Rows of every ``step``-th point of ``pts_mm`` (world mm, (n, 3)), the points
    taken in their order along a fixed direction of ``frame`` (:func:`grid_frame`),
    not in raster order: a grid's raster order changes when the same voxels are stored
    turned 90 deg (the canonical layout the frames get is then the array turned), and
    so did the points a stride kept (the real CT's footprint and mirror samples).
    ``step`` 1 (or no frame): every row, in raster order.
    """
    if step <= 1 or frame is None:
        return np.arange(len(pts_mm))[:: max(1, step)]
    along = pts_mm @ (np.asarray(frame, dtype=np.float64) @ _unit(_ORDER_DIR))
    return np.argsort(along, kind="stable")[::step]


def grid_lattice(n: int, frame: np.ndarray) -> np.ndarray:
    """The direction lattice of ``n`` directions laid in ``frame`` (:func:`grid_frame`):
    world unit vectors, (n, 3)."""
    return np.asarray(fibonacci_directions(n) @ np.asarray(frame, dtype=np.float64).T)


#: Rows of unit vectors binned on the direction lattice per block (:func:`nearest_directions`).
_BIN_ROWS = 512


def row_blocks(n: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive blocks of at most ``size`` rows (at least 2)
    covering ``n`` rows, none of a single row unless ``n == 1``: a last row left alone
    joins the block before it.

    numpy multiplies a one-row matrix by BLAS's matrix-vector routine, whose sums round
    differently from the matrix-matrix one (on this OpenBLAS, 4 of 600 dot products of
    a unit vector with the direction lattice differ in the last bit); blocks of two rows
    or more give each row the bits of the whole product.
    """
    if n <= 0:
        return []
    size = max(2, int(size))
    out = [(lo, min(lo + size, n)) for lo in range(0, n, size)]
    if len(out) > 1 and out[-1][1] - out[-1][0] == 1:
        out[-2:] = [(out[-2][0], n)]
    return out


def nearest_directions(units: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Index of the direction of ``dirs`` nearest each row of ``units`` (largest dot
    product): ``np.argmax(units @ dirs.T, axis=1)``, computed in blocks of rows
    (:func:`row_blocks`).

    The same products, bit for bit (each element is one three-term sum of the same
    BLAS kernel, whatever rows stand beside it), without the whole (n, len(dirs))
    matrix: 75 k skin voxels x 600 directions made 0.36 GB, most of its time spent
    faulting the pages in (and waiting for other threads' faults); a block of
    ``_BIN_ROWS`` stays in cache.

    Parameters
    ----------
    units : (n, 3) ndarray
        Vectors to bin (world unit vectors).
    dirs : (m, 3) ndarray
        The lattice (:func:`fibonacci_directions`).

    Returns
    -------
    (n,) ndarray of intp
        Index into ``dirs`` per row (the first of equal dot products, as ``argmax``).
    """
    u = np.asarray(units, dtype=np.float64)
    d = np.asarray(dirs, dtype=np.float64).T
    out = np.empty(len(u), dtype=np.intp)
    for lo, hi in row_blocks(len(u), _BIN_ROWS):
        np.argmax(u[lo:hi] @ d, axis=1, out=out[lo:hi])
    return out


def _fade(x: float, full_below: float, zero_from: float) -> float:
    """1 up to ``full_below``, 0 from ``zero_from``, linear between (a continuous weight)."""
    if zero_from <= full_below:
        return 1.0 if x <= full_below else 0.0
    return float(np.clip((zero_from - x) / (zero_from - full_below), 0.0, 1.0))


def _rotate_towards(v: np.ndarray, target: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate unit ``v`` by ``angle_deg`` in the plane of ``v`` and ``target``."""
    perp = target - np.dot(target, v) * v
    if np.linalg.norm(perp) == 0 or angle_deg == 0:
        return v
    perp = _unit(perp)
    t = np.radians(angle_deg)
    return _unit(np.cos(t) * v + np.sin(t) * perp)


def twin_frame(
    labels: Volume,
    twins: Volume,
    twin_value: int,
    *,
    params: FusionParams = FusionParams(),
) -> TwinFrame:
    """Long axis and face direction of one twin from its anatomy.

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5 (DESIGN.md).
    twins : Volume
        Twin labels 0/1/2 on the same grid.
    twin_value : int
        1 (A) or 2 (B).
    params : FusionParams
        Distances and angles used (mm, deg); the detector's own numbers are
        ``params.axes`` (:class:`~twinsep.fusion.params.AxisParams`).

    Returns
    -------
    TwinFrame

    Raises
    ------
    AnatomyError
        If the twin has no brain/CSF, or no extracranial tissue (face, skull base,
        neck) and no junction with the other twin to orient it. A head with less than
        ``AxisParams.min_orient_ml`` of extracranial tissue and no scan cut, but
        a junction, gets the junction frame (``TwinFrame.from_anatomy`` False).
    """
    ap = params.axes
    name = "A" if twin_value == 1 else "B"
    src = str(labels.meta.get("source") or twins.meta.get("source") or "labels")  # scan name
    lab = labels.array
    tw = twins.array
    spacing = labels.spacing_mm
    vox_ml = labels.voxel_volume_mm3 / 1000.0
    body_full = tw == twin_value
    if not body_full.any():
        raise AnatomyError(src, f"twin {name} has no voxels; cannot find its head axes")
    margin = int(np.ceil(params.bridge_exclusion_mm / min(spacing))) + 1
    box = _crop(body_full, margin)
    offset = np.array([s.start for s in box])
    lab_c = lab[box]
    tw_c = tw[box]
    body = tw_c == twin_value
    other = (tw_c != 0) & ~body
    brain = body & (lab_c == BRAIN)
    if brain.sum() * vox_ml < 5.0:
        brain = body & np.isin(lab_c, (BRAIN, CSF))
    if not brain.any():
        raise AnatomyError(
            src, f"twin {name} has no brain or CSF voxels; cannot find its head axes"
        )
    cavity = body & np.isin(lab_c, (BRAIN, CSF))
    d_cav = edt.edt(~cavity, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
    if other.any():
        d_other = edt.edt(~other, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
    else:
        d_other = np.full(body.shape, np.inf, dtype=np.float32)
    free = d_other > params.bridge_exclusion_mm

    def world(mask: np.ndarray) -> np.ndarray:
        return affine_points(labels.affine, np.argwhere(mask) + offset)

    # the direction lattice turns with the grid, not with the world axes
    own_frame = grid_frame(labels.affine, body)
    lattice = grid_lattice(ap.directions, own_frame)

    b = labels.centroid_mm(_boxed(brain, lab.shape, box))
    # Vault thickness: skin (body next to air) is mostly over the vault.
    skin = body & ~ndi.binary_erosion(body | other) & free
    vault_mm = float(np.percentile(d_cav[skin], ap.vault_percentile)) if skin.any() else 0.0
    thick_mm = max(params.scalp_skull_mm, ap.thick_factor * vault_mm)
    ext = body & (d_cav > thick_mm) & free
    # A scan that cuts through the cranial cavity holds no neck (cue 4: the cut face).
    cut: np.ndarray | None = None
    cut_key = ""
    cavity_cut = _cut_face_normal(
        cavity=cavity,
        free=free,
        background=tw_c == 0,
        b=b,
        world=world,
        full_shape=lab.shape,
        offset=offset,
        spacing=spacing,
        params=ap,
    )

    skin_cache: list[tuple[np.ndarray, np.ndarray] | None] = []
    room_cache: list[tuple[np.ndarray, np.ndarray] | None] = []
    tube_dirs: dict[str, np.ndarray | None] = {}  # per kind of cut: its neck's tube axis

    def skin_normals() -> tuple[np.ndarray, np.ndarray] | None:
        if not skin_cache:
            skin_cache.append(
                _skin_normals(
                    body=body,
                    background=tw_c == 0,
                    free=free,
                    affine=labels.affine,
                    offset=offset,
                    full_shape=lab.shape,
                )
            )
        return skin_cache[0]

    def room_skin() -> tuple[np.ndarray, np.ndarray] | None:
        if not room_cache:
            room_cache.append(
                _room_skin_normals(
                    body=body,
                    occupied=body | other,
                    background=tw_c == 0,
                    free=free,
                    affine=labels.affine,
                    offset=offset,
                    full_shape=lab.shape,
                    spacing=spacing,
                    radius_mm=ap.tube_room_mm,
                )
            )
        return room_cache[0]

    bulk_cache: list[np.ndarray] = []

    def cavity_bulk() -> np.ndarray:
        # the cavity deeper than ``scalp_skull_mm`` inside it (a spinal cord labelled
        # CSF or brain runs down the neck): one distance transform, read by the cut's
        # distance below the cavity and by the neck's section
        if not bulk_cache:
            inside = edt.edt(cavity, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
            bulk_cache.append(cavity & (inside > params.scalp_skull_mm))
        return bulk_cache[0]

    bulk_pts_cache: list[np.ndarray] = []

    def bulk_points() -> np.ndarray:
        if not bulk_pts_cache:
            bulk = cavity_bulk()
            bulk_pts_cache.append(world(bulk) if bulk.any() else world(cavity))
        return bulk_pts_cache[0]

    def wall_normals(
        plane: _Plane, pts: np.ndarray, normals: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        # The voxel normals take a few dozen directions: on a neck oblique to the grid
        # they leaned the tube's axis 2-4 deg; those of the smoothed signed distance do
        # not (only the skin near the cut is looked at). Where the cut is a face of the
        # body against the room (not the array's edge, beyond which the body is taken
        # to continue), the smoothed distance sees it: the walls within two sigmas of
        # the band's start lean toward it and are not fitted (they still cover the
        # tube). Returns the normals and the walls that may be fitted (None: all).
        depth_mm = max(ap.body_cut_depth_mm, max(spacing))
        h = (pts - plane.centre_mm) @ plane.normal
        near = (h < 0) & (h >= -(depth_mm + ap.tube_length_mm))
        if near.sum() < 10:
            return normals, None
        face_vx = (np.abs(h) <= depth_mm) & (
            normals @ plane.normal >= np.cos(np.radians(ap.tube_wall_deg))
        )
        fit = None
        if float(_skin_area_mm2(normals[face_vx], labels.affine).sum()) >= 0.5 * plane.area_mm2:
            fit = h < -(depth_mm + 2.0 * ap.tube_normal_sigma_vx * max(spacing))
        out = normals.copy()
        out[near] = _distance_normals(
            body=body,
            pts=pts[near],
            normals=normals[near],
            affine=labels.affine,
            offset=offset,
            spacing=spacing,
            sigma_vx=ap.tube_normal_sigma_vx,
        )
        return out, fit

    def body_direction(plane: _Plane, what: str) -> np.ndarray:
        # A scan cuts the body along a plane, but the body beyond it continues along
        # its own axis: across a neck cut obliquely (a head of an angular union lying
        # tilted in the scanner) the cut's normal is the scanner's axis, not the
        # neck's. Where the skin just inside the cut is a tube, its axis is used.
        # Inside a neck-sized cut, only skin facing the room counts (not the airway's
        # walls, nor the scan's edges) and the walls' flare into the chin or skull is
        # trimmed; a large body cut (the scan ending at the skull base or through the
        # face) keeps the strict test: trimmed, the sides of a head cut mid-face pass
        # as a tube 12-14 deg off (vertical phantoms), where the cut's normal is right.
        neck_sized = what == "neck or jaw cut"
        # the walls are read from the cut's depth to ``tube_length_mm`` inside it:
        # where the cavity's bulk reaches into that band, they are the cranium's sides
        # (a head cut 8 mm below its cavity read a "tube" 51 deg off the cut's normal)
        if _bulk_in_walls(plane, bulk_points(), spacing, ap):
            tube_dirs[what] = None
            logger.debug("twin %s: the %s lies within the walls' band of the cavity", name, what)
            return plane.normal
        found = room_skin() if neck_sized else skin_normals()
        fit = None
        if found is not None and ap.tube_normal_sigma_vx >= 0:
            normals, fit = wall_normals(plane, *found)
            found = (found[0], normals)
        tube = (
            None
            if found is None
            else _tube_axis(
                plane,
                found[0],
                found[1],
                spacing,
                ap,
                trim=neck_sized,
                fit=fit,
                grid=labels.affine,
            )
        )
        tube_dirs[what] = tube
        if tube is None:
            logger.debug("twin %s: the skin inside the %s is not a tube", name, what)
            return plane.normal
        logger.debug(
            "twin %s: the %s's tube axis lies %.1f deg from its normal",
            name,
            what,
            angle_deg(tube, plane.normal),
        )
        return tube

    smooth_cache: list[np.ndarray | None] = []

    def smoothed_skin() -> np.ndarray | None:
        if not smooth_cache:
            found = skin_normals()
            radius_mm = ap.body_cut_smooth_vx * float(np.prod(spacing)) ** (1 / 3)
            smooth_cache.append(
                None if found is None else smoothed_normals(found[0], found[1], radius_mm)
            )
        return smooth_cache[0]

    def body_plane(direction: np.ndarray | None) -> _Plane | None:
        return _body_cut_normal(
            skin=skin_normals(),
            spacing=spacing,
            params=ap,
            lattice=lattice,
            direction=direction,
            smoothed=None if direction is not None else smoothed_skin(),
        )

    def body_planes(min_area_mm2: float, level_fit: bool) -> list[_Plane]:
        return _body_cut_candidates(
            skin=skin_normals(),
            spacing=spacing,
            params=ap,
            lattice=lattice,
            min_area_mm2=min_area_mm2,
            level_fit=level_fit,
            smoothed=smoothed_skin(),
        )

    if cavity_cut is not None:
        # A scan cuts the whole body along one plane: uncovered cavity is a cut face
        # only when the body is cut flat along the same plane (a thin-covered crease
        # between the heads, thin bone or a fontanelle is uncovered cavity too, but the
        # skin around it is curved).
        support = body_plane(cavity_cut.normal)
        why = _on_plane_reason(cavity_cut, support, spacing, ap)
        if why is None:
            cut_key, cut = "cut", cavity_cut.normal
        else:
            logger.debug("twin %s: uncovered cavity piece is not the scan's cut (%s)", name, why)
    far_below_mm = 0.0
    if cut is None:
        # Cue 5: no cavity cut, but the scan may end just below it (skull base, C1):
        # a large flat patch where the tissue meets background is the scan's cut.
        body_cut = body_plane(None)
        if body_cut is not None:
            # ...just below it, unless it lies beyond a whole neck: a scan that holds
            # the body (an infant's planning CT down to the chest) ends with a flat cut
            # through the trunk or the arms, whose normal is the scanner's axis; it is
            # dropped below if the skull base disagrees with it
            far_below_mm = _below_cavity_mm(
                body_cut, cavity, world, spacing, params.scalp_skull_mm, bulk=cavity_bulk()
            )
        if body_cut is not None:
            cut_key, cut = "body_cut", body_direction(body_cut, "body cut")
    junction = np.zeros_like(body)
    if other.any():
        # dilating ``other`` only reaches one voxel beyond its own bounding box
        jbox = _crop(other, 1)
        junction[jbox] = body[jbox] & ndi.binary_dilation(other[jbox])
    j_centre = labels.centroid_mm(_boxed(junction, lab.shape, box)) if junction.any() else None
    ext_ml = float(ext.sum() * vox_ml)
    if not ext.any() or (ext_ml < ap.min_orient_ml and cut is None):
        # A head with no face, skull base or neck (a plain layered ellipsoid, or a scan
        # cropped to the cranium) and no scan cut: nothing anatomical orients it.
        if j_centre is None or np.linalg.norm(j_centre - b) == 0:
            raise AnatomyError(
                src,
                f"twin {name} has no face, skull base or neck tissue beyond its skull "
                f"(> {thick_mm:.0f} mm from the brain) and no junction with the other "
                "twin; cannot orient the head",
            )
        return _junction_frame(
            name=name,
            b=b,
            j_centre=j_centre,
            cavity_pts=world(cavity),
            body_pts=world(body & ~ndi.binary_erosion(body)),
            ext_ml=ext_ml,
            vault_mm=vault_mm,
            frame=own_frame,
        )
    pts = world(ext)
    rel = pts - b
    r = np.linalg.norm(rel, axis=1)
    r[r == 0] = 1.0
    unit = rel / r[:, None]
    notes: list[str] = []

    # cue 1: mean direction of the extracranial volume
    mass = _unit(unit.mean(axis=0))
    # cue 2: footprint, each covered direction bin once
    dirs = lattice
    step = max(1, int(np.ceil(len(unit) / _MAX_FOOTPRINT_POINTS)))
    sample = unit[_every(pts, own_frame, step)]
    bins = nearest_directions(sample, dirs)
    bin_ml = np.bincount(bins, minlength=len(dirs)) * vox_ml * step
    covered = bin_ml >= ap.bin_min_ml
    footprint = _unit(dirs[covered].mean(axis=0)) if covered.any() else mass
    # cue 3: the cavity's exit, lowest slab of the cavity along the first estimate
    first = _unit(ap.weight_mass * mass + ap.weight_footprint * footprint)
    if np.linalg.norm(first) == 0:
        first = mass
    cav_pts = world(cavity & free) if (cavity & free).any() else world(cavity)
    depth = (cav_pts - b) @ first
    slab_mm = max(ap.exit_slab_mm, 2.0 * max(spacing))
    low = depth >= float(depth.max()) - slab_mm
    exit_pt = cav_pts[low].mean(axis=0)
    exit_dir = _unit(exit_pt - b)
    cues = {"mass": mass, "footprint": footprint, "exit": exit_dir}
    weights = {"mass": ap.weight_mass, "footprint": ap.weight_footprint, "exit": ap.weight_exit}
    total = sum(weights.values())
    mean: np.ndarray = np.sum([weights[k] * cues[k] for k in cues], axis=0) / max(total, 1e-9)
    axis_strength = float(np.linalg.norm(mean))
    down = _unit(mean)
    # The neck, when the scan holds one: the end of the extracranial tissue along the
    # down direction (the chin and nose stop before it). Trusted only when it agrees
    # with the cue estimate: in a scan cut at C1-C2 the farthest tissue is the face.
    neck_dir = down
    for _ in range(ap.neck_iterations):
        along = rel @ neck_dir
        end = along >= float(along.max()) - max(ap.neck_slab_mm, 2.0 * max(spacing))
        neck_dir = _unit(pts[end].mean(axis=0) - b)
    if (
        cut_key == "body_cut"
        and cut is not None
        and far_below_mm > ap.body_cut_reach_mm
        and angle_deg(down, cut) > ap.cut_agree_deg
    ):
        # a cut through the body beyond a whole neck, across the head's own cues (a
        # head tilted in the scanner, its trunk and arms cut far below it: the bodies
        # blind angular unions read 176-178 deg for 120) says nothing of the head's
        # axis; the neck in the scan gives it. One that agrees with them (a straight
        # neck and trunk along the scanner) is kept as before.
        logger.debug(
            "twin %s: the flat patch %.0f mm below the cavity's bulk, %.0f deg from the "
            "skull-base cues, is the scan's cut through the body: not a cue",
            name,
            far_below_mm,
            angle_deg(down, cut),
        )
        cut, cut_key = None, ""
        tube_dirs.pop("body cut", None)
    # One that agrees with them (a neck and trunk near the scanner's axis) is used only
    # where the neck cannot be followed to the scan's end: the axis it gives is its
    # mean with the skull-base estimate (which leans to the face), and its plane,
    # fitted through all the skin facing that way, tilts toward skin at other levels:
    # 3.5-5.1 deg off on generated heads on bodies, 8.5 and 11.7 on one twin of the
    # bodies blind vt-c15-full and at120-p15-full, where the neck's walls at the scan's
    # end read 0.4-0.9. So the neck is followed first; where its end confirms it
    # (``neck_confirmed``) the far cut is not used, else (a scan ending at the
    # shoulders, the neck's end slab sliding onto them: vt-c15-torso20) it is, as
    # before.
    skull_base = down
    probe: list[tuple[_Plane | None, np.ndarray | None]] = []

    def neck_between() -> tuple[_Plane | None, np.ndarray | None]:
        # The neck found by following the body from the head, not from where the body
        # leaves the scan: its narrowest section across the skull-base cues below the
        # cavity's bulk where the body widens again beyond it (shoulders, trunk), and
        # the walls around it where they are a tube whose axis points back at the
        # brain centre (a short infant neck under a round head often shows too little
        # wall: None)
        if not probe:
            # the bulk: a spinal cord labelled CSF or brain runs down the neck
            bulk = cavity_bulk()
            bulk_pts = world(bulk) if bulk.any() else cav_pts
            section = _narrowest_section(
                body=body,
                affine=labels.affine,
                offset=offset,
                full_shape=lab.shape,
                b=b,
                down=skull_base,
                start_mm=float(((bulk_pts - b) @ skull_base).max()),
                spacing=spacing,
                params=ap,
            )
            tube = None
            room = room_skin() if section is not None else None
            if section is not None and room is not None:
                # the walls' band (``tube_length_mm``) centred on the narrowest level
                depth_mm = max(ap.body_cut_depth_mm, max(spacing))
                plane = _Plane(
                    normal=skull_base,
                    centre_mm=section.centre_mm + (depth_mm + 0.5 * ap.tube_length_mm) * skull_base,
                    area_mm2=section.area_mm2,
                )
                normals, fit = wall_normals(plane, *room)
                tube = _tube_axis(
                    plane,
                    room[0],
                    normals,
                    spacing,
                    ap,
                    trim=True,
                    fit=fit,
                    grid=labels.affine,
                )
                if tube is not None and angle_deg(section.centre_mm - b, tube) > ap.neck_agree_deg:
                    tube = None
            if section is not None:
                logger.debug(
                    "twin %s: the body's narrowest section %.0f mm2, %.0f mm below the brain "
                    "centre, widens beyond; its walls %s",
                    name,
                    section.area_mm2,
                    float(np.dot(section.centre_mm - b, skull_base)),
                    "are no tube"
                    if tube is None
                    else f"{angle_deg(tube, skull_base):.1f} deg off the cues",
                )
            probe.append((section, tube))
        return probe[0]

    def beyond_neck(plane: _Plane, direction: np.ndarray) -> bool:
        # a flat end of the body beyond a whole neck and the widening below it, whose
        # direction (its normal, or its tube's axis) lies more than the skull base's
        # own error from the skull-base cues and from the neck's walls where they were
        # found: the body leaves the scan there through its trunk (a tilted trunk
        # through a side of an array cropped to the heads), and that end says nothing
        # of the head's axis. One along the cues (the trunk's walls at the scan's end
        # below a straight neck: vt-c15-torso50) is left as it was.
        if angle_deg(direction, skull_base) <= ap.cut_agree_deg:
            return False
        section, tube = neck_between()
        if section is None:
            return False
        if float(np.dot(plane.centre_mm - section.centre_mm, skull_base)) <= 0.0:
            return False
        return tube is None or angle_deg(tube, direction) > ap.cut_agree_deg

    trunk_end = False  # the body leaves the scan beyond its neck, through the trunk
    if (
        cut_key == "body_cut"
        and cut is not None
        and body_cut is not None
        and angle_deg(down, cut) > ap.cut_agree_deg
    ):
        if beyond_neck(body_cut, cut):
            logger.debug(
                "twin %s: the flat cut %.0f deg from the skull-base cues lies beyond the "
                "neck and the trunk's widening: not a cue",
                name,
                angle_deg(down, cut),
            )
            cut, cut_key, trunk_end = None, "", True
            tube_dirs.pop("body cut", None)
    far_kept: tuple[str, np.ndarray, float, np.ndarray | None] | None = None
    if cut_key == "body_cut" and cut is not None and far_below_mm > ap.body_cut_reach_mm:
        far_kept = (cut_key, cut, far_below_mm, tube_dirs.pop("body cut", None))
        cut, cut_key = None, ""
    neck_dir_before = neck_dir
    body_pts = world(body & ~ndi.binary_erosion(body))

    def walls_under_head(plane: _Plane) -> bool:
        # the skin just inside ``plane`` is a tube (the neck's walls) whose axis, from
        # the plane's centre back up, points at the brain centre: the neck carries it
        body_direction(plane, "neck or jaw cut")
        tube = tube_dirs["neck or jaw cut"]
        return tube is not None and angle_deg(plane.centre_mm - b, tube) <= ap.neck_agree_deg

    neck_cut = False
    neck_confirmed = False
    neck_end_normal: np.ndarray | None = None
    end_seen: _Plane | None = None  # a flat end of the scan just below the head
    if cut is None:
        # A scan that ends in the neck or through the jaw cuts them along one plane,
        # often smaller than ``body_cut_min_mm2`` (an infant neck): the end slab then
        # holds the jaw's cut beside the neck's and the neck direction, refined along
        # itself, slides onto the chin (30-50 deg off, the face then read backwards).
        # A flat patch that ends the body along its normal, below the brain centre and
        # across the neck's end slab, from which the neck leans by more than the skull
        # base's own error (``cut_agree_deg``; whole heads' necks lie 3-10 deg from
        # their own flat end), is that cut: its normal replaces the neck...
        # where the neck ends (not a flat facet of an ear or a shoulder): across the
        # neck's end slab, or under the skull base as the neck itself must be
        # (``neck_agree_deg`` of the skull-base cues or the footprint). The end slab,
        # refined along itself, slides onto the chin where little neck lies beyond it
        # (a hydrocephalic or long head cut 15-25 mm below its chin: the slab then
        # ended 17-33 mm short of the cut, whose normal lay 0-2 deg from the truth),
        # or where the neck's own walls show it: the skin just inside the cut is a tube
        # whose axis, followed back up from the cut's centre, reaches the brain centre
        # (the neck that carries this head, wherever the skull-base cues lean: on a
        # long head's planned labels they lean 27-35 deg to its long face)
        def at_neck(plane: _Plane) -> bool:
            return (
                abs(float(np.dot(pts[end].mean(axis=0) - plane.centre_mm, plane.normal)))
                <= max(ap.neck_slab_mm, 2.0 * max(spacing))
                or min(
                    angle_deg(plane.centre_mm - b, down),
                    angle_deg(plane.centre_mm - b, footprint),
                )
                <= ap.neck_agree_deg
            )

        # the flat patches that end the body, largest first: the first across the
        # neck's end slab or under the skull base, else the largest (its walls may
        # still show a neck)
        ending = [
            q
            for q in body_planes(ap.neck_cut_min_mm2, level_fit=True)
            if _ends_body(q, body_pts, b, spacing, ap)
        ]
        end_plane = next((q for q in ending if at_neck(q)), ending[0] if ending else None)
        end_seen = end_plane
        if end_plane is not None and (at_neck(end_plane) or walls_under_head(end_plane)):
            end_dir = body_direction(end_plane, "neck or jaw cut")
            lean_deg = angle_deg(neck_dir, end_dir)
            logger.debug(
                "twin %s: the body ends on a flat %.0f mm2 patch, %.1f deg from the neck",
                name,
                end_plane.area_mm2,
                lean_deg,
            )
            # ...unless the scan crosses a straight neck obliquely (a head of an angular
            # fusion lying across the scanner's axis): then the cavity's own exit
            # (foramen magnum, spinal canal; no face or jaw in it) lies nearer the neck
            # than the cut's normal, and farther from that normal than the skull base's
            # own error (``cut_agree_deg``; the oblique-neck test's exit lies 44.6 deg
            # from it, the refusing exits measured 23.7-49.9). An exit within that error
            # of the cut as well (the exit of a cavity without its cord slides along a
            # long or hydrocephalic cavity toward the face: 13.6 deg from the slid neck,
            # 14.8 from the cut; the exits that lay nearer the neck, 1.9-16.3) does not
            # take sides.
            # A round cavity without an exit repeats the first estimate and says nothing
            # (``exit_distinct_deg``).
            exit_says = angle_deg(exit_dir, first) >= ap.exit_distinct_deg
            exit_end_deg = angle_deg(exit_dir, end_dir)
            logger.debug(
                "twin %s: the cavity's exit lies %.1f deg from the neck, %.1f from the cut",
                name,
                angle_deg(exit_dir, neck_dir),
                exit_end_deg,
            )
            # The exit judges the cut's normal; where the neck's walls were found inside
            # the cut, their axis is used instead and follows the neck however
            # obliquely the scan crosses it, so the exit has nothing to refuse (a
            # cavity without its cord, the exit slid toward a long face: 32-35 deg off)
            walls_found = tube_dirs.get("neck or jaw cut") is not None
            oblique = (
                exit_says
                and not walls_found
                and _exit_sides_with_neck(angle_deg(exit_dir, neck_dir), exit_end_deg, ap)
            )
            if lean_deg > ap.cut_agree_deg and not oblique and beyond_neck(end_plane, end_dir):
                # the flat end the body leaves through is the trunk's (see above)
                trunk_end = True
            elif lean_deg > ap.cut_agree_deg and not oblique:
                cut_key, cut, neck_cut = "body_cut", end_dir, True
                far_below_mm = _below_cavity_mm(
                    end_plane, cavity, world, spacing, params.scalp_skull_mm, bulk=cavity_bulk()
                )
            elif lean_deg > ap.body_cut_normal_deg and not oblique:
                neck_end_normal = end_dir
            # a neck that runs along the body's own direction at its cut end (the tube
            # of its walls, or the normal of a cut square to it) is a neck, not a face
            # or a chin, even where the skull-base cues (leaning to a large face) lie
            # farther than ``neck_agree_deg`` from it
            neck_confirmed = lean_deg <= ap.cut_agree_deg
            tube_dir = tube_dirs.get("neck or jaw cut")
            if neck_confirmed and tube_dir is not None:
                # The neck's end slab holds the long side of an oblique section (the
                # scan's edge crossing a tilted neck) or the neck's flare into the
                # chin, so the direction to its centroid leans 4-10 deg; the walls'
                # own axis does not depend on where or how obliquely the scan cuts
                # them. Where the two agree within ``neck_tube_agree_deg`` (the
                # walls' own precision from smoothed normals), both are used.
                cues["neck_end"] = neck_dir
                if angle_deg(neck_dir, tube_dir) <= ap.neck_tube_agree_deg:
                    neck_dir = _unit(neck_dir + tube_dir)
                else:
                    neck_dir = tube_dir
                neck_end_normal = None
    if (
        cut is None
        and far_kept is None
        and not neck_confirmed
        and not trunk_end
        and end_seen is not None
        and angle_deg(end_seen.normal, skull_base) > ap.cut_agree_deg
    ):
        # the scan ends on a flat face across the skull-base cues that was not taken
        # for the neck's cut (refused as oblique to the neck) and the neck's end slab
        # runs off the array (the body goes on beyond the scan): where that face lies
        # beyond the neck and the widening below it, the slab is the far end of a
        # trunk leaving through the face, not the neck's (a vertical union turned
        # 30-45 deg and cropped at a side: one twin's axis 13-21 deg off)
        slab_ijk = np.argwhere(ext)[end] + offset
        off_array = (slab_ijk.min(axis=0) == 0).any() or (
            slab_ijk.max(axis=0) == np.asarray(lab.shape) - 1
        ).any()
        trunk_end = bool(off_array) and beyond_neck(end_seen, end_seen.normal)
    if trunk_end and cut is None and not neck_confirmed:
        # the neck's walls, followed from the head, give the axis where they are a
        # tube; else no neck is used (the skull-base cues, tilted from the face)
        neck_walls = neck_between()[1]
        if neck_walls is not None:
            logger.debug(
                "twin %s: the neck's walls at its narrowest section, %.1f deg from the end "
                "slab's direction, give the axis",
                name,
                angle_deg(neck_walls, neck_dir),
            )
            cues["neck_end"] = neck_dir
            neck_dir, neck_confirmed, neck_end_normal = neck_walls, True, None
    if far_kept is not None:
        if neck_confirmed:
            logger.debug(
                "twin %s: the neck runs along the body's own direction at the scan's end: "
                "the cut %.0f mm below the cavity's bulk (beyond it) is not used",
                name,
                far_kept[2],
            )
        else:
            cut_key, cut, far_below_mm, far_tube = far_kept
            if far_tube is not None:
                tube_dirs["body cut"] = far_tube
            neck_cut, neck_end_normal, end_seen = False, None, None
            neck_dir = neck_dir_before
            cues.pop("neck_end", None)
    # The exit cue exaggerates a wrong first estimate on a cavity without a visible
    # exit (the lowest point of an elongated cavity slides along its long axis), so the
    # neck is also accepted when it agrees with the footprint alone.
    if cut is not None:
        cues[cut_key] = cut
    neck_used = cut is None and (
        neck_confirmed
        or (
            not trunk_end
            and min(angle_deg(neck_dir, down), angle_deg(neck_dir, footprint)) <= ap.neck_agree_deg
        )
    )
    cues["neck"] = neck_dir
    if neck_used:
        down = neck_dir
        face_band = params.face_band_deg
    elif cut is not None:
        face_band = (0.0, 180.0)  # the note on the cut follows once the axis is decided
    elif trunk_end:
        face_band = (0.0, 180.0)
        notes.append(
            f"twin {name}: the body leaves the scan beyond its neck, through the trunk at "
            "the edge of the field of view, and the neck shows too little wall to follow; "
            "the long axis comes from the face, skull base and cavity exit, which is less "
            "precise"
        )
    else:
        face_band = (0.0, 180.0)
        notes.append(
            f"twin {name}: no neck found below the skull base (the farthest tissue lies "
            f"{angle_deg(neck_dir, down):.0f}° from the skull-base cues, e.g. the face "
            "of a scan cut at C1-C2); the long axis comes from the face, skull base and "
            "cavity exit, which is less precise"
        )
    if neck_used and not neck_confirmed and end_seen is not None:
        # The scan ends on a flat cut of the body (``body_cut_min_mm2``: no whole
        # head's flat facet is that large) facing the feet rather than the side
        # (``_FEET_SIDE_DEG`` of the skull-base cues) that was not taken for the neck's
        # (its centre off those cues, or the cavity's exit siding with the neck), the
        # neck leans from it by more than the skull base's own error, and its end slab
        # stops short of it (tissue goes on below: the slab slid onto the chin of a long
        # or hydrocephalic head, 17-33 mm short; a straight neck crossed obliquely
        # reaches the cut and is not doubted): one of the two is wrong, and the image
        # does not say which
        lean_deg = angle_deg(neck_dir, end_seen.normal)
        short_mm = float(np.dot(end_seen.centre_mm - pts[end].mean(axis=0), end_seen.normal))
        if (
            lean_deg > ap.cut_agree_deg
            and angle_deg(end_seen.normal, _unit(mean)) <= _FEET_SIDE_DEG
            and end_seen.area_mm2 >= ap.body_cut_min_mm2
            and short_mm > max(ap.neck_slab_mm, 2.0 * max(spacing))
        ):
            notes.append(
                f"twin {name}: the neck found leans {lean_deg:.0f}° from the flat end of "
                f"the scan, which lies {short_mm:.0f} mm beyond the neck's end (the neck "
                "cue may have slid onto the chin, as on a long or hydrocephalic head); the "
                "long axis, the fusion type and the face rotation may be off by that much: "
                "confirm them on the images"
            )

    # Face: protrusions in a band of angles around the down direction.
    protrusion_mm = d_cav[ext] - thick_mm
    face, strength, face_ml = _face_direction(unit, protrusion_mm, down, face_band, vox_ml)
    if neck_used and neck_end_normal is not None:
        # the neck is kept but leans from its own flat end by more than a direction
        # bin: a cut jaw may have drawn it, and the face band around it then loses the
        # chin; the face seen about the cut's normal, if more one-sided, is kept
        face_e, strength_e, face_ml_e = _face_direction(
            unit, protrusion_mm, neck_end_normal, face_band, vox_ml
        )
        if strength_e > strength:
            face = _unit(face_e - np.dot(face_e, down) * down)
            strength, face_ml = strength_e, face_ml_e
    if strength > 0.0 and ap.face_tilt_deg and not neck_used:
        down = _rotate_towards(down, -face, ap.face_tilt_deg)
        face = _unit(face - np.dot(face, down) * down)
    if cut is not None:
        # the scan's cut plane (confirmed on the skin): the skull-base cues (leaning
        # toward the face) and the cut's normal (the body continues there) together;
        # the farther the skull base lies from the cut, the less it weighs (a face and
        # cavity cut short leave it without its lower half), fading continuously so
        # that a few degrees more never flip the axis from one cue to the other
        base_off = angle_deg(down, cut)
        w_base = ap.weight_skull_base * _fade(base_off, ap.cut_agree_deg, ap.cut_alone_deg)
        kind = "body cut"
        if neck_cut:
            kind = "neck or jaw cut"
        along_tube = "cut" not in cues and tube_dirs.get(kind) is not None
        # a cut beyond a whole neck (the body in the scan) crosses the trunk or arms
        # (a flat end taken for the neck's cut too: vt-c15-torso50), and its walls are
        # the body's
        far = far_below_mm > ap.body_cut_reach_mm
        neck_tube = tube_dirs.get(kind) if neck_cut and along_tube else None
        carried = (
            neck_tube is not None
            and end_seen is not None
            and angle_deg(end_seen.centre_mm - b, neck_tube) <= ap.neck_agree_deg
        )
        walls = "body" if far and not carried else "neck"
        if carried:
            # the walls inside the neck's cut are a tube whose axis, followed back up
            # from the cut's centre, reaches the brain centre: the neck that carries
            # the head, which a neck confirmed at its end gives alone. The skull-base
            # estimate leans to the face; averaged in, it only moved the axis off
            # (bench_blind_clinical vt90-c15-all-1.2mm, twin A: walls 0.9 deg off,
            # the skull base 32 deg, weight 0.4: the axis 4.8 deg off)
            w_base = 0.0
        logger.debug(
            "twin %s: skull-base estimate %.1f deg from the cut's normal (weight %.2f)",
            name,
            base_off,
            w_base,
        )
        cut_name = (
            f"the {walls}'s axis at the cut (its walls)" if along_tube else "the cut's normal"
        )
        base_name = "the skull base"
        # the face seen about the cut's normal where it is more one-sided than about
        # the skull-base estimate (a skull base 28 deg off saw a hand-made face at
        # strength 0.04, sideways)
        face_k, strength_k, _ = _face_direction(unit, protrusion_mm, cut, face_band, vox_ml)
        lean_face = face_k if strength_k > strength else face
        if w_base > 0.0 and max(strength, strength_k) > 0.0:
            # The skull-base estimate leans toward the face by its own construction
            # (the footprint holds the face, the exit is taken along it): 9-20 deg on
            # whole heads, 17-20 deg on the real CT's twins, whose scan cut lies on
            # the truth (real-ct-vertical 168.2 for 180: each axis a third of that
            # lean off). Along the face it says nothing the cut does not, so only its
            # lean across the face (the midline plane holds the face and the long
            # axis) is averaged with the cut
            face_cut = lean_face - np.dot(lean_face, cut) * cut
            if np.linalg.norm(face_cut) > 1e-9:
                face_cut = _unit(face_cut)
                down = _unit(down - np.dot(down, face_cut) * face_cut)
                base_name = "the skull base's lean across the face"
        if w_base == 0.0 and base_off <= ap.cut_alone_deg:
            source = f"{cut_name} alone"
        elif w_base == 0.0:
            source = f"{cut_name} alone (the skull-base cues lie {base_off:.0f}° from it)"
        elif w_base < ap.weight_skull_base:
            source = (
                f"{cut_name} and, with less weight, {base_name} (the skull base lies "
                f"{base_off:.0f}° from it)"
            )
        else:
            source = f"{cut_name} and {base_name}"
        down = _unit(w_base * down + ap.weight_open * cut)
        # The face was measured about the skull-base estimate. That estimate leans
        # toward the face (and, on a real head, sideways: Colin27 9 deg) even within
        # its own error of the cut (``cut_agree_deg``), and farther off it is either
        # cut short (a scan ending mid-face: 60-95 deg off, the face then seen on both
        # sides of it and, projected on the cut's plane, read backwards) or right
        # while the cut crosses the head obliquely (35-45 deg). The face protrudes on
        # one side of the true axis; seen about a wrong one, face, jaw and neck spread
        # round it and the protrusions' mean shortens: the face is measured again about
        # the final axis and the more one-sided of the two is kept. (Only beyond
        # ``cut_agree_deg`` before: Colin27's faces read 9-19 deg toward each head's
        # right, and the two copies, upside down to each other, added their errors:
        # rotation 52.8 deg for 30.)
        face_c, strength_c, face_ml_c = _face_direction(
            unit, protrusion_mm, down, face_band, vox_ml
        )
        logger.debug(
            "twin %s: face strength %.2f about the skull-base estimate, %.2f about the axis",
            name,
            strength,
            strength_c,
        )
        if strength_c > strength:
            face, strength, face_ml = face_c, strength_c, face_ml_c
        elif strength > 0.0:
            face = _unit(face - np.dot(face, down) * down)
        if along_tube:
            caveat = f"which follows the {walls} however obliquely the scan crosses it"
        elif "cut" in cues:
            caveat = (
                "which assumes the scan cuts across the head (an oblique cut tilts the "
                "axis by about its tilt)"
            )
        else:
            caveat = (
                "which assumes the scan cuts across the head (an oblique cut tilts the "
                "axis by about its tilt; too little neck lies inside the cut to check "
                "that from the neck's walls)"
            )
            if base_off > ap.cut_agree_deg:
                caveat += (
                    f"; the skull base lies {base_off:.0f}° from the cut: confirm the "
                    "fusion type on the images"
                )
        # What the scan shows below the head, in plain words: a cut through the cavity
        # shows no neck; a cut below it is placed by its distance from the cavity
        # (``_below_cavity_mm`` is to the cavity's bulk, ``scalp_skull_mm`` inside its
        # wall); a cut beyond a whole neck (``body_cut_reach_mm``: the body in the
        # scan, the bodies blind cases) leaves nothing missing, and is said only where
        # it lies beyond the skull base's own error from the skull base
        below_mm = max(far_below_mm - params.scalp_skull_mm, 0.0)
        at = f"about {below_mm:.0f} mm below" if below_mm >= 5.0 else "just below"
        if "cut" in cues:
            notes.append(
                f"twin {name}: the scan ends inside the head (through the cranial cavity), "
                f"so no neck is shown; the long axis comes from {source}, {caveat}"
            )
        elif far and not neck_cut:
            if base_off > ap.cut_agree_deg:
                notes.append(
                    f"twin {name}: the scan ends through the body {at} the cranial cavity, "
                    f"beyond the neck, {base_off:.0f}° from the skull base; the long "
                    f"axis comes from {source}: confirm the fusion type on the images"
                )
            else:
                logger.debug(
                    "twin %s: the scan ends %.0f mm below the cavity's bulk, through the "
                    "body (beyond a whole neck), along the skull-base cues: no note",
                    name,
                    far_below_mm,
                )
        elif neck_cut:
            # beyond a whole neck the far end is the trunk's (vt-c15-torso50: the bodies
            # leave the joined heads at an angle), nearer a neck's drawn onto the chin
            through, why = (
                ("through the body ", "")
                if far
                else (
                    "",
                    " (as a neck's end drawn onto the chin or a cut jaw leans)",
                )
            )
            notes.append(
                f"twin {name}: the scan ends {through}{at} the cranial cavity, and the far "
                f"end of the tissue leans {angle_deg(neck_dir, cut):.0f}° from the "
                f"cut{why}; the long axis comes from {source}, {caveat}"
            )
        else:
            notes.append(
                f"twin {name}: the scan ends {at} the cranial cavity, too near it for the "
                f"neck to be followed; the long axis comes from {source}, {caveat}"
            )
    axis = -down
    if strength == 0.0:
        # no evidence: any perpendicular direction (flagged by face_strength 0)
        face = _any_perpendicular(axis, own_frame)
    else:
        # The protrusions lie 30-60 deg from the long axis (face, jaw, the skull base's
        # soft tissue): an axis leaning sideways by a few degrees turns their mean
        # about 1.3 times as far, and labels wrong on one side under the skull base
        # (brain or CSF spilled into it) shift it too. A head is mirror-symmetric
        # about its midline plane, which holds the face: where the skin has one
        # distinct such plane near the measured face, the face is taken in it.
        mirrored = _mirror_face(
            axis=axis,
            face=_unit(face - np.dot(face, axis) * axis),
            centre_mm=b,
            body=body,
            free=free,
            affine=labels.affine,
            offset=offset,
            spacing=spacing,
            params=ap,
            frame=own_frame,
        )
        if mirrored is not None:
            logger.debug("twin %s: face turned %.1f deg into the mirror plane", name, mirrored[1])
            face = mirrored[0]

    # Vertex: the twin's tissue farthest along the axis; neck: the exit on the axis.
    # the farthest voxel along a direction lies on the body's boundary (an inner voxel
    # has a face neighbour farther along any direction): list only boundary voxels
    vertex = b + axis * float(((body_pts - b) @ axis).max())
    neck = b - axis * float(max(depth.max(), 0.0))

    if ext_ml < ap.min_extracranial_ml:
        notes.append(
            f"twin {name}: only {ext_ml:.1f} mL of face, skull-base or neck tissue lies "
            f"beyond the skull (< {ap.min_extracranial_ml:g} mL); its long axis is a guess"
        )
    if axis_strength < ap.min_axis_strength:
        spread = max(angle_deg(cues[k], down) for k in cues)
        notes.append(
            f"twin {name}: the anatomical cues for the long axis disagree (agreement "
            f"{axis_strength:.2f} < {ap.min_axis_strength:g}, up to {spread:.0f}° apart); "
            "the long-axis angle and the type may be off by that much"
        )
    if strength < 0.05:
        notes.append(
            f"twin {name}: little face or jaw tissue found beyond the skull "
            f"(strength {strength:.2f}); its facial direction (and the face rotation) "
            "is uncertain"
        )
    if j_centre is not None:
        j_dir = _unit(j_centre - b)
        j_ang = angle_deg(j_dir, axis)
        if j_ang > ap.junction_check_deg:
            notes.append(
                f"twin {name}: the junction lies {j_ang:.0f}° from the vertex direction "
                f"found (> {ap.junction_check_deg:g}°): either the fusion is not at the "
                "calvaria or the head's orientation was misread"
            )
    for n in notes:
        logger.info("%s", n)  # reported in plan.json warnings by the fusion stage
    logger.debug(
        "twin %s: axis %s face %s (axis strength %.2f, face %.2f, vault %.1f mm)",
        name,
        axis.round(3),
        face.round(3),
        axis_strength,
        strength,
        vault_mm,
    )
    return TwinFrame(
        twin=name,
        brain_centre_mm=b,
        axis=axis,
        face_dir=face,
        neck_mm=neck,
        vertex_mm=vertex,
        neck_ml=ext_ml,
        face_ml=face_ml,
        face_strength=strength,
        axis_strength=axis_strength,
        cue_dirs=cues,
        vault_mm=vault_mm,
        notes=tuple(notes),
    )


def _face_direction(
    unit: np.ndarray,
    protrusion_mm: np.ndarray,
    down: np.ndarray,
    band_deg: tuple[float, float],
    vox_ml: float,
) -> tuple[np.ndarray, float, float]:
    """Face direction from the extracranial tissue around a down direction.

    ``unit`` (n, 3) holds the unit directions of the extracranial voxels from the brain
    centre, ``protrusion_mm`` (n,) how far each lies beyond the skull (mm). The voxels
    seen between ``band_deg`` (deg) of the unit ``down`` direction are weighted by
    their protrusion and their directions' components perpendicular to ``down``
    averaged: (unit face direction perpendicular to ``down`` or zeros, strength = the
    mean vector's length 0..1, volume of the band in mL with ``vox_ml`` per voxel).
    """
    ang = np.degrees(np.arccos(np.clip(unit @ down, -1.0, 1.0)))
    lo, hi = band_deg
    band = (ang >= lo) & (ang <= hi)
    face_ml = float(band.sum() * vox_ml)
    if not band.any():
        return np.zeros(3), 0.0, face_ml
    w = protrusion_mm[band]
    perp = unit[band] - np.outer(unit[band] @ down, down)
    pmean = (perp * w[:, None]).sum(axis=0) / max(float(w.sum()), 1e-9)
    return _unit(pmean), float(np.linalg.norm(pmean)), face_ml


def _first_min(values: np.ndarray) -> int:
    """Index of the first value within ``_MIRROR_TIE_MM`` of the smallest (the first
    smallest when none is finite)."""
    v = np.asarray(values, dtype=np.float64)
    low = float(np.min(v))
    if not np.isfinite(low):
        return int(np.argmin(v))
    return int(np.flatnonzero(v <= low + _MIRROR_TIE_MM)[0])


def _turn(v: np.ndarray, about: np.ndarray, deg: float) -> np.ndarray:
    """``v`` rotated by ``deg`` degrees about the unit vector ``about`` (right hand)."""
    t = np.radians(deg)
    return (
        v * np.cos(t)
        + np.cross(about, v) * np.sin(t)
        + about * float(np.dot(about, v)) * (1.0 - np.cos(t))
    )


@dataclass(frozen=True)
class _MirrorFit:
    """The best mirror plane of a head's skin (:func:`_mirror_search`).

    ``normal`` is the plane's unit normal (world), ``turn_deg`` / ``tilt_deg`` its turn
    about the long axis from the search's reference and its tilt out of the axis,
    ``best_mm`` its skin mismatch, ``others_mm`` the least mismatch of the planes turned
    ``mirror_distinct_deg`` or more from it about the axis (inf when none fits),
    ``others_turn_deg`` how far (deg, 0..90) that plane is turned from it and
    ``low_turn_deg`` the turn (deg, signed) of the best plane of the skin below the
    brain centre alone from it (None when that skin has fewer than 100 points).
    """

    normal: np.ndarray
    turn_deg: float
    tilt_deg: float
    best_mm: float
    others_mm: float
    others_turn_deg: float
    low_turn_deg: float | None


def _mirror_search(
    *,
    axis: np.ndarray,
    centre_mm: np.ndarray,
    body: np.ndarray,
    free: np.ndarray,
    affine: np.ndarray,
    offset: np.ndarray,
    spacing: tuple[float, float, float],
    params: AxisParams,
    frame: np.ndarray | None = None,
) -> _MirrorFit | None:
    """The plane through ``centre_mm`` about which the skin of ``body`` is most symmetric.

    The skin of ``body`` (bool, a crop of the grid at voxel ``offset``) away from the
    other twin (``free``) is mirrored in planes through ``centre_mm`` (world mm) that
    contain the unit long ``axis`` turned about it over a full half-turn from a
    reference fixed by the axis and the grid's ``frame`` (:func:`_any_perpendicular`:
    no measured face enters, so the same head gives the same plane whatever the face
    measure said; the frame turns with the affine, so a turned storage searches the
    same planes, where the world axes started the 5-deg grid elsewhere: faces 0.03-0.14
    deg apart on a hand-made pair turned 30 deg), and
    tilted out of it by up to ``params.mirror_tilt_deg``; a plane's mismatch is the
    mean difference (mm, each capped at 20) of the body's smoothed signed distance
    between the skin points and their mirror images, over those that land away from the
    other twin. A coarse grid (5 deg) is refined by a pattern search in turn and tilt
    together (steps 2.5 deg down to 0.3 deg). ``others_mm`` is measured on the refined
    plane: the least mismatch of the coarse planes turned ``params.mirror_distinct_deg``
    or more from it and of the planes turned exactly that far on either side (the
    tilt searched there as well). The skin below ``centre_mm`` along the axis (face,
    jaw, skull base, neck) is searched again on its own (``low_turn_deg``). None when
    the skin has fewer than 100 points or no plane fits.
    """
    skin = body & ~ndi.binary_erosion(body)
    idx = np.argwhere(skin & free)
    if len(idx) < 100:
        return None
    stride = max(1, int(np.ceil(len(idx) / _MAX_MIRROR_POINTS)))
    idx = idx[_every(affine_points(affine, idx + offset), frame, stride)]
    pts = affine_points(affine, idx + offset) - centre_mm
    # signed distance (mm) to the body's surface, smoothed by one voxel and read
    # between voxel centres: a mirror plane along the grid maps voxel centres onto
    # voxel centres and would otherwise fit a staircase surface better than any other
    to_skin = edt.edt(~skin, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
    sdf = ndi.gaussian_filter(np.where(body, -to_skin, to_skin), 1.0)
    own = ndi.map_coordinates(sdf, idx.T.astype(np.float64), order=1)
    inv = np.linalg.inv(affine)
    shape = np.array(body.shape)
    ref = _any_perpendicular(axis, frame)
    every = np.ones(len(pts), dtype=bool)
    low = pts @ axis < 0.0

    def plane(turn_deg: float, tilt_deg: float) -> np.ndarray:
        # the plane holds the axis turned by ``tilt_deg`` about its own in-plane
        # direction across the axis (the face or the back of the head)
        normal = _turn(ref, axis, turn_deg)
        return _turn(normal, _unit(np.cross(normal, axis)), tilt_deg)

    def differences(turn_tilt: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # capped difference (mm) between the signed distance at each kept skin point
        # and at its mirror image, per (turn, tilt) row (deg), and whether the image
        # lands inside the crop and away from the other twin: (points, planes) each
        normals = np.array([plane(float(a), float(t)) for a, t in turn_tilt])
        p = pts[keep]
        mirrored = p[:, None, :] - 2.0 * (p @ normals.T)[:, :, None] * normals[None]
        at = (mirrored + centre_mm) @ inv[:3, :3].T + inv[:3, 3] - offset
        # the nearest voxel, halves rounded up: an image half-way between voxels (a
        # plane along the grid) must not round by the storage's last bits
        ijk = np.floor(at + (0.5 + 1e-6)).astype(np.int64)
        ok = np.all((ijk >= 0) & (ijk < shape), axis=2)
        ijk = np.where(ok[:, :, None], ijk, 0)
        ok &= free[ijk[..., 0], ijk[..., 1], ijk[..., 2]]
        there = ndi.map_coordinates(sdf, at.reshape(-1, 3).T, order=1, mode="nearest")
        d = np.minimum(np.abs(there.reshape(ok.shape) - own[keep][:, None]), _MIRROR_CAP_MM)
        return d, ok

    def mean(d: np.ndarray, ok: np.ndarray) -> np.ndarray:
        # per plane; inf where fewer than half the points' images count
        n_ok = ok.sum(axis=0)
        return np.where(n_ok >= len(d) // 2, (d * ok).sum(axis=0) / np.maximum(n_ok, 1), np.inf)

    def mismatch(turn_tilt: np.ndarray, keep: np.ndarray = every) -> np.ndarray:
        return mean(*differences(turn_tilt, keep))

    lim = params.mirror_tilt_deg

    def refine(cur: np.ndarray, cur_mm: float, keep: np.ndarray) -> tuple[np.ndarray, float]:
        # pattern search: the best of the 3 x 3 planes around the current one (turn and
        # tilt together) until the centre is best, then half the step
        s = _MIRROR_STEP_DEG / 2.0
        while s >= 0.3:
            for _ in range(20):
                moves = [(da, dt) for da in (-s, 0.0, s) for dt in (-s, 0.0, s) if da or dt]
                cand = cur + np.array(moves)
                cand = cand[np.abs(cand[:, 1]) <= lim + 1e-9]
                fit = mismatch(cand, keep)
                j = _first_min(fit)
                if not fit[j] < cur_mm - _MIRROR_TIE_MM:
                    break
                cur, cur_mm = cand[j], float(fit[j])
            s /= 2.0
        return cur, cur_mm

    step = _MIRROR_STEP_DEG
    turns = np.arange(0.0, 180.0 - 1e-9, step)
    tilts = np.arange(-lim, lim + 1e-9, step)
    cells = np.array([(a, t) for a in turns for t in tilts])
    d_all, ok_all = differences(cells, every)
    grid = mean(d_all, ok_all).reshape(len(turns), len(tilts))
    k, m = np.unravel_index(_first_min(grid.ravel()), grid.shape)
    if not np.isfinite(grid[k, m]):
        return None
    best, best_mm = refine(cells[k * len(tilts) + m].astype(np.float64), float(grid[k, m]), every)
    turn, tilt = float(best[0]), float(best[1])
    # the planes turned at least ``mirror_distinct_deg`` from the refined one: the coarse
    # grid's and the two turned exactly that far (each with its best tilt)
    off = np.abs((turns - turn + 90.0) % 180.0 - 90.0)
    far = off >= params.mirror_distinct_deg - 1e-9
    per_turn = grid.min(axis=1)
    others, others_off = np.inf, 90.0
    if far.any():
        j = int(np.argmin(np.where(far, per_turn, np.inf)))
        others, others_off = float(per_turn[j]), float(off[j])
    tilt_try = np.unique(np.concatenate([tilts, [tilt]]))
    edge = np.array(
        [(turn + sgn * params.mirror_distinct_deg, t) for sgn in (-1.0, 1.0) for t in tilt_try]
    )
    edge_fit = float(mismatch(edge).min())
    if edge_fit < others:
        others, others_off = edge_fit, params.mirror_distinct_deg
    # the lower skin alone, from the same coarse grid
    low_turn: float | None = None
    if low.sum() >= 100:
        low_grid = mean(d_all[low], ok_all[low])
        j = _first_min(low_grid)
        if np.isfinite(low_grid[j]):
            low_best, _ = refine(cells[j].astype(np.float64), float(low_grid[j]), low)
            low_turn = float((low_best[0] - turn + 90.0) % 180.0 - 90.0)
    return _MirrorFit(
        normal=plane(turn, tilt),
        turn_deg=turn % 180.0,
        tilt_deg=tilt,
        best_mm=best_mm,
        others_mm=others,
        others_turn_deg=others_off,
        low_turn_deg=low_turn,
    )


def _mirror_face(
    *,
    axis: np.ndarray,
    face: np.ndarray,
    centre_mm: np.ndarray,
    body: np.ndarray,
    free: np.ndarray,
    affine: np.ndarray,
    offset: np.ndarray,
    spacing: tuple[float, float, float],
    params: AxisParams,
    frame: np.ndarray | None = None,
) -> tuple[np.ndarray, float] | None:
    """The face direction in the head's plane of bilateral symmetry, or None.

    The plane is :func:`_mirror_search`'s (independent of ``face``). It counts when
    every plane turned ``params.mirror_distinct_deg`` or more from it fits
    ``params.mirror_contrast`` times and ``params.mirror_min_excess_vx`` voxels worse,
    and the skin below the brain centre alone (face, jaw, skull base, neck) has its own
    best plane within ``params.mirror_low_agree_deg`` of it (when it has 100 points).
    Returns (unit face direction perpendicular to the unit long ``axis`` in that plane,
    on the side of the measured unit ``face``; its turn from ``face`` in deg), or None
    when no plane is distinct.
    """
    fit = _mirror_search(
        axis=axis,
        centre_mm=centre_mm,
        body=body,
        free=free,
        affine=affine,
        offset=offset,
        spacing=spacing,
        params=params,
        frame=frame,
    )
    if fit is None:
        return None
    new = _unit(np.cross(fit.normal, axis))
    new = _unit(new - np.dot(new, axis) * axis)
    if np.dot(new, face) < 0:
        new = -new
    low_deg = np.nan if fit.low_turn_deg is None else fit.low_turn_deg
    logger.debug(
        "mirror plane %.1f deg from the measured face (tilt %.1f): skin mismatch %.2f mm, "
        "%.2f mm %.0f deg away (contrast %.3f); the lower skin's plane %.1f deg from it",
        angle_deg(new, face),
        fit.tilt_deg,
        fit.best_mm,
        fit.others_mm,
        fit.others_turn_deg,
        fit.others_mm / max(fit.best_mm, 1e-9),
        low_deg,
    )
    excess_mm = params.mirror_min_excess_vx * float(np.mean(spacing))
    if (
        fit.others_mm < params.mirror_contrast * fit.best_mm
        or fit.others_mm - fit.best_mm < excess_mm
    ):
        return None
    if abs(low_deg) > params.mirror_low_agree_deg:
        # the face, jaw and neck are symmetric about another plane than the whole
        # skin: a deformed cranium (plagiocephaly) pulls the whole skin's plane
        return None
    return new, angle_deg(new, face)


def _any_perpendicular(axis: np.ndarray, frame: np.ndarray | None = None) -> np.ndarray:
    """A deterministic unit vector perpendicular to unit ``axis``: its cross product
    with the column of ``frame`` (:func:`grid_frame`; the world axes when None)
    farthest from it, so that it turns with the frame."""
    basis = np.eye(3) if frame is None else np.asarray(frame, dtype=np.float64)
    helper = basis[:, int(np.argmin(np.abs(basis.T @ axis)))]
    return _unit(np.cross(axis, helper))


def _junction_frame(
    *,
    name: str,
    b: np.ndarray,
    j_centre: np.ndarray,
    cavity_pts: np.ndarray,
    body_pts: np.ndarray,
    ext_ml: float,
    vault_mm: float,
    frame: np.ndarray | None = None,
) -> TwinFrame:
    """The least-assuming frame of a head that shows nothing below its cranium.

    Craniopagus twins are joined at the cranial vault, most often at the vertex, so the
    long axis is taken from the brain centre ``b`` to the centroid ``j_centre`` of the
    twin's side of the junction (world mm). The face direction is unknown: an arbitrary
    deterministic perpendicular (fixed by the grid's ``frame``, :func:`_any_perpendicular`)
    with ``face_strength`` 0. ``cavity_pts`` and
    ``body_pts`` (world mm, (n, 3)) place the neck end of the cavity and the vertex.
    """
    axis = _unit(j_centre - b)
    depth = float(max(((cavity_pts - b) @ -axis).max(), 0.0))
    vertex = b + axis * float(((body_pts - b) @ axis).max())
    note = (
        f"twin {name}: the head shows no face, skull base or neck ({ext_ml:.1f} mL of "
        "tissue beyond the skull, and no scan cut), so its long axis was ASSUMED to point "
        "from its brain centre to the junction (a vertex fusion, the commonest "
        "craniopagus site); the fusion type, site and face rotation were not determined "
        "from anatomy and must be confirmed on the images"
    )
    logger.info("%s", note)
    return TwinFrame(
        twin=name,
        brain_centre_mm=b,
        axis=axis,
        face_dir=_any_perpendicular(axis, frame),
        neck_mm=b - axis * depth,
        vertex_mm=vertex,
        neck_ml=ext_ml,
        face_ml=0.0,
        face_strength=0.0,
        axis_strength=0.0,
        cue_dirs={"junction": -axis},
        vault_mm=vault_mm,
        notes=(note,),
        from_anatomy=False,
    )


def _cut_face_normal(
    *,
    cavity: np.ndarray,
    free: np.ndarray,
    background: np.ndarray,
    b: np.ndarray,
    world: Callable[[np.ndarray], np.ndarray],
    full_shape: tuple[int, ...],
    offset: np.ndarray,
    spacing: tuple[float, float, float],
    params: AxisParams,
) -> _Plane | None:
    """The scan's cut through the cranial cavity (down normal, centre, area), or None.

    Brain or CSF with background or the array's edge closer than
    ``params.open_cover_mm`` (no scalp and skull between) is seen only where the scan
    cut the head: the body continues on that side. The largest connected piece of it,
    away from the other twin, is a cut face when it covers at least
    ``params.open_min_mm2`` and is flat (``params.open_flatness``); the normal of the
    plane through it, pointing away from the brain centre ``b``, is returned with the
    piece's centroid (world mm) and area (mm^2). The caller checks that the body is cut
    along the same plane (:func:`_on_plane_reason`).
    """
    ap = params
    sp = np.asarray(spacing, dtype=float)
    grow = int(np.ceil(ap.open_cover_mm / float(sp.min()))) + 1
    sub = _crop(cavity, grow)
    # cover: distance (mm) from each cavity voxel to background; the array's edges
    # count as background (outside the field of view the body is not shown)
    cover = edt.edt(~background[sub], anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
    idx = np.indices(cover.shape, dtype=np.float32)
    for ax in range(cavity.ndim):
        first = offset[ax] + sub[ax].start
        to_lo = (idx[ax] + first + 1) * sp[ax]
        to_hi = (full_shape[ax] - (idx[ax] + first)) * sp[ax]
        np.minimum(cover, np.minimum(to_lo, to_hi), out=cover)
    del idx
    thin = cavity[sub] & free[sub] & (cover <= ap.open_cover_mm)
    if not thin.any():
        return None
    comp, n = label_components(thin, 26)
    largest = comp == (int(np.argmax(np.bincount(comp.ravel())[1:])) + 1)
    pts = world(_boxed(largest, cavity.shape, sub))
    if len(pts) < 3:
        return None
    centre = pts.mean(axis=0)
    _, sv, vt = np.linalg.svd(pts - centre, full_matrices=False)
    flat = float(sv[2] / max(sv[1], 1e-9))
    # area: the piece projected on its plane, counted on cells of the finest spacing
    cell = float(sp.min())
    uv = np.floor((pts - centre) @ vt[:2].T / cell).astype(np.int64)
    area_mm2 = float(len(np.unique(uv, axis=0))) * cell * cell
    logger.debug("cavity cut face: %.0f mm2, flatness %.2f (%d pieces)", area_mm2, flat, n)
    if area_mm2 < ap.open_min_mm2 or flat > ap.open_flatness:
        return None
    normal = vt[-1]
    if np.dot(normal, centre - b) < 0:
        normal = -normal
    return _Plane(normal=_unit(normal), centre_mm=centre, area_mm2=area_mm2)


def _tube_axis(
    plane: _Plane,
    pts: np.ndarray,
    normals: np.ndarray,
    spacing: tuple[float, float, float],
    params: AxisParams,
    *,
    trim: bool = True,
    fit: np.ndarray | None = None,
    grid: np.ndarray | None = None,
) -> np.ndarray | None:
    """Axis of the tube of skin just inside a cut of the body, or None.

    ``pts`` and ``normals`` (world mm and outward unit normals, (n, 3)) are the body's
    skin (:func:`_skin_normals`). The walls are the skin points from the cut's depth
    (``params.body_cut_depth_mm``, at least one voxel) to ``params.tube_length_mm``
    inside the plane, within ``params.tube_radius_factor`` times the cut's equivalent
    radius (``sqrt(area / pi)``) of its centre, whose normals lie more than
    ``params.tube_wall_deg`` from the cut's (not the cut face, nor a chin's underside);
    their area must cover at least ``params.tube_min_cover`` of the side of a tube of
    that radius and length. A tube's wall normals are perpendicular to
    its axis: the axis is the direction least represented in them (smallest
    eigenvalue of their scatter matrix, each normal weighted by its point's area). With
    ``trim``, walls whose normal lies more than ``params.tube_trim_deg`` from
    perpendicular to that axis (the flare of the neck into the chin's underside or the
    skull) are dropped and the axis fitted again (three rounds). It is returned
    pointing out of the cut when the walls kept (all without ``trim``) are at least
    ``params.tube_keep_share`` of their area and the smallest eigenvalue is
    at most ``params.tube_max_ratio`` of the middle one (a tube; a plane cut across a
    face or a skull's sphere is not), else None; with ``trim``, the axis of a tube is
    then fitted again (three rounds) to the walls within ``params.tube_fit_deg`` of
    perpendicular to it. ``fit`` (bool, (n,)): the points whose
    normals may be fitted (the others still cover the tube; all walls are fitted where
    fewer than 10 are in it); None: all.

    ``grid`` (the affine of the grid whose skin voxels ``pts`` are): each point stands
    for the skin area :func:`_skin_area_mm2` gives it (on a grid of thick slices a wall
    facing across the slices holds more voxels per mm^2 than one along them: counted
    voxels let a neck's flare into the skull outweigh its walls, and a neck read as a
    tube at 1 mm was none at 1 x 1 x 1.5). None: points spread evenly over the
    surface, ``prod(spacing) ** (2/3)`` mm^2 each.
    """
    ap = params
    depth_mm = max(ap.body_cut_depth_mm, float(max(spacing)))
    h = (pts - plane.centre_mm) @ plane.normal
    across = pts - plane.centre_mm - np.outer(h, plane.normal)
    r_mm = np.linalg.norm(across, axis=1)
    reach_mm = ap.tube_radius_factor * float(np.sqrt(plane.area_mm2 / np.pi))
    if grid is None:
        area_mm2 = np.full(len(pts), float(np.prod(spacing)) ** (2.0 / 3.0))
    else:
        area_mm2 = _skin_area_mm2(normals, grid)
    wall = (
        (h < -depth_mm)
        & (h >= -(depth_mm + ap.tube_length_mm))
        & (r_mm <= reach_mm)
        & (np.abs(normals @ plane.normal) < np.cos(np.radians(ap.tube_wall_deg)))
    )
    # the walls must cover the tube's side (a few skin voxels at a neck's rounded end
    # are no tube: 20 of them gave an axis 11 deg off on a phantom on a random grid)
    side_mm2 = 2.0 * np.pi * reach_mm / ap.tube_radius_factor * ap.tube_length_mm
    if wall.sum() < 10 or float(area_mm2[wall].sum()) < ap.tube_min_cover * side_mm2:
        return None
    fitted = wall if fit is None else wall & fit
    used = fitted if fitted.sum() >= 10 else wall
    n = normals[used]
    a = area_mm2[used]

    def scatter(sel: np.ndarray) -> np.ndarray:
        # the normals' scatter matrix, each weighted by the area it stands for
        return (n[sel] * a[sel, None]).T @ n[sel] / float(a[sel].sum())

    keep = np.ones(len(n), dtype=bool)
    off_max = float(np.sin(np.radians(ap.tube_trim_deg)))
    for _ in range(3 if trim else 0):
        _, v = np.linalg.eigh(scatter(keep))
        keep = np.abs(n @ v[:, 0]) <= off_max
        if keep.sum() < 10:
            return None
    w, v = np.linalg.eigh(scatter(keep))
    kept_share = float(a[keep].sum() / a.sum())
    if kept_share < ap.tube_keep_share or w[0] > ap.tube_max_ratio * max(float(w[1]), 1e-12):
        return None
    axis = v[:, 0]
    # A tube, then: its axis from the walls across it to within the smoothed normals'
    # own scatter (``tube_fit_deg``); the flare into the chin or skull that the trim
    # kept, one-sided, leaned it toward the face (phantom3's straight vertical necks
    # 0.3-3.2 deg, every twin the same way)
    fit_max = float(np.sin(np.radians(ap.tube_fit_deg)))
    for _ in range(3 if trim else 0):
        close = np.abs(n @ axis) <= fit_max
        if close.sum() < 10:
            break
        axis = np.linalg.eigh(scatter(close))[1][:, 0]
    return _unit(axis if np.dot(axis, plane.normal) >= 0 else -axis)


def _bulk_in_walls(
    plane: _Plane,
    bulk_pts: np.ndarray,
    spacing: tuple[float, float, float],
    params: AxisParams,
) -> bool:
    """Whether the cranial cavity's bulk reaches into the band where :func:`_tube_axis`
    reads a cut's walls (from the cut's depth to ``params.tube_length_mm`` inside it,
    within ``params.tube_radius_factor`` of its equivalent radius of its centre): the
    skin there is the cranium's, not a neck's, whatever tube its normals may form.

    ``bulk_pts`` (world mm, (n, 3)): the cavity deeper than the scalp and skull inside
    it (a spinal cord labelled CSF or brain down the neck is not bulk).
    """
    if len(bulk_pts) == 0:
        return False
    depth_mm = max(params.body_cut_depth_mm, float(max(spacing)))
    rel = bulk_pts - plane.centre_mm
    h = rel @ plane.normal
    band = (h <= 0.0) & (h >= -(depth_mm + params.tube_length_mm))
    if not band.any():
        return False
    across = rel[band] - np.outer(h[band], plane.normal)
    reach_mm = params.tube_radius_factor * float(np.sqrt(plane.area_mm2 / np.pi))
    return bool((np.linalg.norm(across, axis=1) <= reach_mm).any())


def _distance_normals(
    *,
    body: np.ndarray,
    pts: np.ndarray,
    normals: np.ndarray,
    affine: np.ndarray,
    offset: np.ndarray,
    spacing: tuple[float, float, float],
    sigma_vx: float,
) -> np.ndarray:
    """Outward unit normals of ``body``'s surface at its skin points, from the gradient
    of its signed distance (mm) smoothed by ``sigma_vx`` voxels.

    ``body`` is a crop at ``offset`` of the grid of ``affine``; ``pts`` (n, 3) are world
    points (mm) of its skin voxels and ``normals`` their voxel normals (the mean offset
    to background among the 26 neighbours: a few dozen directions), kept where the
    gradient vanishes. The signed distance is linear across the surface, so smoothing
    it removes the voxel stair-steps without pulling the surface in; the array's edges
    are not surface (the body continues beyond them, as in :func:`_room_skin_normals`).
    """
    inv = np.linalg.inv(affine)
    ijk = np.rint(pts @ inv[:3, :3].T + inv[:3, 3]).astype(np.int64) - offset
    margin = int(np.ceil(3.0 * sigma_vx)) + 2
    lo = np.maximum(ijk.min(axis=0) - margin, 0)
    hi = np.minimum(ijk.max(axis=0) + margin + 1, body.shape)
    # beyond the box (and the array's edges) the body is taken to repeat the box's
    # last layer: the distances near an edge then see the body continue, as it does
    # beyond the scan's edge, instead of ending there (which leaned the normals of a
    # neck leaving the grid's side obliquely)
    sub = np.pad(
        body[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))],
        margin,
        mode="edge",
    )
    inside = edt.edt(sub, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
    outside = edt.edt(~sub, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
    signed = (inside - outside).astype(np.float32)
    del inside, outside
    if sigma_vx > 0:
        signed = ndi.gaussian_filter(signed, sigma_vx, mode="nearest")
    q = ijk - lo + margin
    grad = np.zeros((len(q), 3))
    for dim in range(3):
        step = np.zeros(3, dtype=np.int64)
        step[dim] = 1
        up = np.minimum(q + step, np.array(signed.shape) - 1)
        down = np.maximum(q - step, 0)
        span = (up[:, dim] - down[:, dim]).astype(float)
        diff = signed[up[:, 0], up[:, 1], up[:, 2]] - signed[down[:, 0], down[:, 1], down[:, 2]]
        grad[:, dim] = np.where(span > 0, diff / np.maximum(span, 1.0), 0.0)
    # index-space derivatives to a world gradient (row vectors: g @ inv(M)); the
    # distance grows inward, so the outward normal is its negative
    world = -(grad @ np.linalg.inv(affine[:3, :3]))
    norm = np.linalg.norm(world, axis=1)
    ok = norm > 1e-9
    out = normals.copy()
    out[ok] = world[ok] / norm[ok, None]
    return out


def _room_skin_normals(
    *,
    body: np.ndarray,
    occupied: np.ndarray,
    background: np.ndarray,
    free: np.ndarray,
    affine: np.ndarray,
    offset: np.ndarray,
    full_shape: tuple[int, ...],
    spacing: tuple[float, float, float],
    radius_mm: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """World points (mm) and outward unit normals of the skin that faces the room.

    As :func:`_skin_normals`, but ``background`` counts only outside the closing of
    ``occupied`` (both twins' tissue) by a ball of ``radius_mm``: air the body encloses
    (the airway, mouth and nose; at 1.2 mm the phantom's airway walls were 400 of a
    neck's 2200 wall voxels, their normals not across the neck) is not the room; and
    the array's edges are not background either (they are the scan's cut faces, whose
    normals follow the grid, not the body). None below 10 voxels.
    """
    d_out = edt.edt(~occupied, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
    grown = d_out <= radius_mm
    del d_out
    d_in = edt.edt(grown, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
    room = background & (d_in <= radius_mm)
    return _skin_normals(
        body=body,
        background=room,
        free=free,
        affine=affine,
        offset=offset,
        full_shape=full_shape,
        edge_is_background=False,
    )


def _skin_normals(
    *,
    body: np.ndarray,
    background: np.ndarray,
    free: np.ndarray,
    affine: np.ndarray,
    offset: np.ndarray,
    full_shape: tuple[int, ...],
    edge_is_background: bool = True,
) -> tuple[np.ndarray, np.ndarray] | None:
    """World points (mm) and outward unit normals of a body's skin, or None.

    Skin: voxels of ``body`` (a crop at ``offset`` of a grid of ``full_shape``) that are
    in ``free`` and face ``background`` or, with ``edge_is_background``, the array's
    edge (outside the field of view the body is not shown; without it, the layer
    beyond each edge is taken to repeat the edge's own). Each one's outward normal
    is the mean offset to its background neighbours among the 26, turned into a world
    direction through ``affine``. Returns ``(points (n, 3), normals (n, 3))``; None
    below 10 voxels.
    """
    if edge_is_background:
        pad = np.pad(background, 1, constant_values=True)
    else:
        # the body continues beyond the array's edges as at them
        pad = np.pad(background, 1, mode="edge")
    # a crop's inner edges are not background
    for ax in range(body.ndim):
        sl = [slice(None)] * body.ndim
        if offset[ax] != 0:
            sl[ax] = slice(0, 1)
            pad[tuple(sl)] = False
        if offset[ax] + body.shape[ax] != full_shape[ax]:
            sl[ax] = slice(pad.shape[ax] - 1, pad.shape[ax])
            pad[tuple(sl)] = False
    near_bg = pad[:-2, 1:-1, 1:-1] | pad[2:, 1:-1, 1:-1]
    near_bg |= pad[1:-1, :-2, 1:-1]
    near_bg |= pad[1:-1, 2:, 1:-1]
    near_bg |= pad[1:-1, 1:-1, :-2]
    near_bg |= pad[1:-1, 1:-1, 2:]
    skin = body & free & near_bg
    idx = np.argwhere(skin)
    if len(idx) < 10:
        return None
    # outward normal: the mean offset to the background among the 26 neighbours
    g = np.zeros((len(idx), 3))
    for d in np.argwhere(np.ones((3, 3, 3), bool)) - 1:
        if not d.any():
            continue
        q = idx + 1 + d
        hit = pad[q[:, 0], q[:, 1], q[:, 2]]
        g += hit[:, None] * d / np.linalg.norm(d)
    # index-space offsets to world directions (inverse transpose of the linear part)
    m = np.linalg.inv(affine[:3, :3]).T
    gw = g @ m.T
    n = np.linalg.norm(gw, axis=1)
    ok = n > 0
    return affine_points(affine, idx[ok] + offset), gw[ok] / n[ok, None]


def _skin_area_mm2(normals: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Skin area (mm^2) that each skin voxel stands for, from its outward normal.

    Parameters
    ----------
    normals : (n, 3) ndarray
        Outward unit normals (world) of skin voxels as :func:`_skin_normals` finds them
        (body voxels with a background voxel among their 6 face neighbours).
    affine : (4, 4) or (3, 3) ndarray
        The grid's affine (its linear part: columns are the array axes' steps, mm).

    Returns
    -------
    (n,) ndarray
        A body voxel whose centre lies within ``max_i |n . M_i|`` (``M_i`` the grid's
        step along array axis ``i``) inside a surface of normal ``n`` has a face
        neighbour beyond it, so the skin is a layer that thick and holds
        ``max_i |n . M_i| / |det M|`` voxels per mm^2: each stands for ``|det M| /
        max_i |n . M_i|`` mm^2. On 1 x 1 x 1.5 mm voxels a wall facing along the
        slices stands for 1.5 mm^2, one facing across them 1 mm^2; on an isotropic grid
        of step ``h`` from ``h^2`` (facing an axis) to ``sqrt(3) h^2`` (a diagonal).
        Summed over a voxelised sphere it gives its area within 1-5 % on 1-3 mm grids
        of slice ratio 1-4 (voxels counted at ``prod(spacing) ** (2/3)``: 0.79-1.30).
    """
    m = np.asarray(affine, dtype=np.float64)[:3, :3]
    reach = np.abs(np.asarray(normals, dtype=np.float64) @ m).max(axis=1)
    return abs(float(np.linalg.det(m))) / np.maximum(reach, 1e-12)


def _body_cut_normal(
    *,
    skin: tuple[np.ndarray, np.ndarray] | None,
    spacing: tuple[float, float, float],
    params: AxisParams,
    direction: np.ndarray | None = None,
    min_area_mm2: float | None = None,
    level_fit: bool = False,
    lattice: np.ndarray | None = None,
    smoothed: np.ndarray | None = None,
) -> _Plane | None:
    """The scan's cut through the body (outward normal, centre, area), or None.

    ``skin`` is the body's skin as :func:`_skin_normals` gives it (world points and
    outward unit normals), None when it has too few voxels. The skin of a head is
    curved; where a scan ends inside the body (skull base, C1, the neck) the tissue
    meets background or the array's edge across a plane. Each skin voxel's outward
    normal (its background neighbours among the 26, world directions) is binned on the
    direction lattice.

    Without ``direction``, the normals are first averaged over the skin within
    ``params.body_cut_smooth_vx`` voxels (:func:`smoothed_normals`; ``smoothed``: the
    result when already computed): a voxel normal takes one of a few dozen directions,
    and on a face oblique to the grid a third of them lay 10-20 deg off its plane's
    normal (a ball cut by a plane: its patch held 2100-2700 of 4084 mm^2 and none at
    all for one direction); averaged over 2 voxels they lie within 10 deg of it, and
    the terraces of a curved side square to the grid no longer pile into the bin of a
    grid axis. Then every bin that holds more normals than the bins around it
    (within 1.5 lattice steps) seeds a patch, the ``params.body_cut_seeds`` fullest
    first, and each seed grows its patch (:func:`_flat_patch`): the skin within
    ``params.body_cut_normal_deg`` of it, within ``params.body_cut_depth_mm`` of the
    plane fitted to those points' positions, then all the skin within that depth of
    the plane whose normal lies within that angle of the plane's, refitted until it
    holds. The largest patch (area projected on its plane) is the candidate cut. A
    flat face oblique to the grid has its voxel normals stair-stepped over several
    bins and no single bin holds it: the plane fitted to the points' positions does
    not stair-step, so the grown patch is the whole face whichever bin seeded it, and
    so whatever the lattice (laid in the world or in the grid's frame). The fullest
    bin alone is not the face either: the terraces of a curved side square to a
    turned grid put thousands of normals in the bin along a grid axis (the real CT
    resampled onto a grid turned 30 deg: 4102 normals there, 3070 in the cut's own
    bin, a curved 1700 mm2 patch taken for 10000 mm2 of cut). It is returned when its
    area is at least ``min_area_mm2`` (default ``params.body_cut_min_mm2``).

    With ``direction`` (a world unit vector, to test the plane of a candidate cavity
    cut) the one seed is the fullest bin within ``params.cut_plane_agree_deg`` of it,
    its cone that angle wide and the patch not grown (any area returned): the wide
    cone holds an oblique face's stair-steps already. With ``level_fit`` the plane is
    first fitted to the level along the seed that holds the most of its skin
    (:func:`_densest_level`), not to all of it. ``lattice``: the direction lattice
    (world unit vectors, :func:`grid_lattice`: laid in the grid's frame so that a
    turned storage bins alike); the world-axis lattice when None.
    """
    ap = params
    sp = np.asarray(spacing, dtype=float)
    if skin is None:
        return None
    pts, gw = skin
    dirs = fibonacci_directions(ap.directions) if lattice is None else lattice
    if direction is not None:
        counts = np.bincount(nearest_directions(gw, dirs), minlength=len(dirs))
        depth_mm = max(ap.body_cut_depth_mm, float(sp.max()))
        cell = float(sp.min())
        # voxel normals of a plane oblique to the grid cluster on a few stair-step
        # directions around its normal: the most common one near ``direction``
        near = dirs @ _unit(np.asarray(direction, dtype=float))
        counts = np.where(near >= np.cos(np.radians(ap.cut_plane_agree_deg)), counts, -1)
        seed = dirs[int(np.argmax(counts))]
        return _flat_patch(
            pts, gw, seed, ap.cut_plane_agree_deg, depth_mm, cell, level_fit=level_fit, grow=False
        )
    found = _body_cut_candidates(
        skin=skin,
        spacing=spacing,
        params=params,
        min_area_mm2=min_area_mm2,
        level_fit=level_fit,
        lattice=dirs,
        smoothed=smoothed,
    )
    return found[0] if found else None


def _body_cut_candidates(
    *,
    skin: tuple[np.ndarray, np.ndarray] | None,
    spacing: tuple[float, float, float],
    params: AxisParams,
    min_area_mm2: float | None = None,
    level_fit: bool = False,
    lattice: np.ndarray | None = None,
    smoothed: np.ndarray | None = None,
) -> list[_Plane]:
    """Every flat patch that :func:`_body_cut_normal` (without ``direction``) chooses
    from, of at least ``min_area_mm2`` (default ``params.body_cut_min_mm2``), largest
    first (seeds' order on equal areas): the caller that tests where a patch lies (a
    neck's cut must end the body across the neck's end slab) takes the first that
    passes, not only the largest (a phantom's flat cheek, 1143 mm^2, outgrew its cut
    neck's 900 and hid it). Arguments as :func:`_body_cut_normal`'s."""
    ap = params
    sp = np.asarray(spacing, dtype=float)
    if skin is None:
        return []
    pts, gw = skin
    dirs = fibonacci_directions(ap.directions) if lattice is None else lattice
    depth_mm = max(ap.body_cut_depth_mm, float(sp.max()))
    cell = float(sp.min())
    need_mm2 = ap.body_cut_min_mm2 if min_area_mm2 is None else min_area_mm2
    if level_fit:
        # a neck's or jaw's cut (``neck_cut_min_mm2``, a few hundred mm^2 on grids up
        # to 3.3 mm): the skin near the fullest bin of the voxel normals, not grown;
        # grown within 10 deg of its plane a cut neck 12 voxels across lost the
        # stair-step normals 12.5 deg off (1556 -> 1090 mm^2, its walls then no tube),
        # and wider cones grew curved skin past the body cut's area
        # Every peak bin seeds one, fullest first (the fullest bin's patch leads, as
        # before): a head's flat side stair-steps into the bin of a grid axis, and on
        # one grid of two it outnumbered the neck's flat end (the probe's boxy heads:
        # the end found on 2.4 x 2.4 x 4 mm, hidden by the face on 3 mm)
        counts = np.bincount(nearest_directions(gw, dirs), minlength=len(dirs))
        level: list[_Plane] = []
        for k in _peak_bins(counts, dirs)[: max(1, ap.body_cut_seeds)]:
            one = _flat_patch(
                pts, gw, dirs[k], ap.body_cut_normal_deg, depth_mm, cell, level_fit=True, grow=False
            )
            if one is not None and one.area_mm2 >= need_mm2:
                level.append(one)
        return level
    if smoothed is None:
        radius_mm = ap.body_cut_smooth_vx * float(np.prod(sp)) ** (1 / 3)
        smoothed = smoothed_normals(pts, gw, radius_mm)
    counts = np.bincount(nearest_directions(smoothed, dirs), minlength=len(dirs))
    found: list[_Plane] = []
    for k in _peak_bins(counts, dirs)[: max(1, ap.body_cut_seeds)]:
        plane = _flat_patch(
            pts,
            gw,
            dirs[k],
            ap.body_cut_normal_deg,
            depth_mm,
            cell,
            smoothed=smoothed,
        )
        if plane is not None:
            logger.debug("body cut face candidate: %.0f mm2", plane.area_mm2)
            if plane.area_mm2 >= need_mm2:
                found.append(plane)
    return sorted(found, key=lambda q: -q.area_mm2)


def smoothed_normals(pts_mm: np.ndarray, normals: np.ndarray, radius_mm: float) -> np.ndarray:
    """Unit normals averaged over the points within ``radius_mm`` of each (itself too).

    Parameters
    ----------
    pts_mm : (n, 3) ndarray
        Skin points (world mm).
    normals : (n, 3) ndarray
        Their unit normals (a voxel's mean offset to its background neighbours: a few
        dozen directions, stair-stepped across a face oblique to the grid).
    radius_mm : float
        Neighbourhood radius (mm); 0 or less: ``normals`` unchanged.

    Returns
    -------
    (n, 3) ndarray
        The mean of the neighbours' normals, normalised; a point whose mean vanishes
        keeps its own. The neighbours are found by distance, so the same voxels stored
        under a turned affine average alike.
    """
    n = np.asarray(normals, dtype=np.float64)
    if radius_mm <= 0.0 or len(n) < 2:
        return n.copy()
    from scipy.spatial import cKDTree

    pairs = cKDTree(pts_mm).query_pairs(radius_mm, output_type="ndarray")
    total = n.copy()
    for dim in range(3):
        total[:, dim] += np.bincount(pairs[:, 0], weights=n[pairs[:, 1], dim], minlength=len(n))
        total[:, dim] += np.bincount(pairs[:, 1], weights=n[pairs[:, 0], dim], minlength=len(n))
    size = np.linalg.norm(total, axis=1)
    ok = size > 1e-9
    out = n.copy()
    out[ok] = total[ok] / size[ok, None]
    return out


#: Rounds of regrowing a flat patch from its fitted plane (:func:`_flat_patch`); the
#: patch usually holds after two.
_GROW_ROUNDS = 6


def _peak_bins(counts: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Indices of the lattice bins that hold more normals than every bin within 1.5
    lattice steps (the first of equal ones), fullest first; empty bins excluded.

    ``dirs`` (m, 3): the lattice's unit vectors (its step about ``sqrt(4 pi / m)``
    rad); ``counts`` (m,): normals per bin.
    """
    step = float(np.sqrt(4.0 * np.pi / len(dirs)))
    near = dirs @ dirs.T >= np.cos(1.5 * step)
    c = np.asarray(counts, dtype=np.int64)
    m = len(c)
    order = np.arange(m)
    # a bin is a peak when no neighbour holds more, nor as many with a lower index
    beats = (c[None, :] > c[:, None]) | (
        (c[None, :] == c[:, None]) & (order[None, :] < order[:, None])
    )
    peak = ~np.any(near & beats, axis=1) & (c > 0)
    idx = np.flatnonzero(peak)
    return idx[np.argsort(-c[idx], kind="stable")]


def _flat_patch(
    pts: np.ndarray,
    normals: np.ndarray,
    seed: np.ndarray,
    cone_deg: float,
    depth_mm: float,
    cell_mm: float,
    *,
    level_fit: bool = False,
    grow: bool = True,
    smoothed: np.ndarray | None = None,
) -> _Plane | None:
    """The flat skin patch around the normals near ``seed``, or None below 10 voxels.

    Parameters
    ----------
    pts, normals : (n, 3) ndarray
        Skin points (world mm) and their outward unit voxel normals.
    seed : (3,) ndarray
        Unit direction: the skin whose normals lie within ``cone_deg`` of it starts the
        patch.
    cone_deg, depth_mm : float
        The patch starts from the normals within ``cone_deg`` of the seed; its points
        lie within ``depth_mm`` of its plane.
    cell_mm : float
        Side of the square cells on the plane that count its area (the grid's
        smallest step).
    level_fit : bool
        Fit the first plane to the level along ``seed`` that holds the most of the
        seed's skin (:func:`_densest_level`; skin facing the same way at other levels,
        the underside of a chin above a cut neck, is not on the cut), not to all of it.
    smoothed : (n, 3) ndarray, optional
        The normals averaged over a few voxels (:func:`smoothed_normals`): a point
        belongs when either its own or its averaged normal lies within ``cone_deg``.
        The averaged ones hold an oblique face's stair-steps; the voxel's own holds the
        face's last two voxels before its rim, where the average mixes in the sides
        (a cut neck 10 voxels across on a 2 mm grid kept 900 of its 1556 mm^2 with the
        averaged normals alone, too narrow for its walls to be read as a tube).
    grow : bool
        Regrow the patch from its plane: all the skin within ``depth_mm`` of it whose
        normal lies within ``cone_deg`` of its normal, then refit, until the patch
        holds (at most ``_GROW_ROUNDS``). The plane comes from the points' positions,
        which do not stair-step as the voxel normals of a face oblique to the grid do,
        so the patch no longer depends on which bin seeded it.

    Returns
    -------
    _Plane or None
        Outward unit normal (on the seed's side), the patch's centre (world mm) and
        its area projected on the plane (mm^2, cells of ``cell_mm`` it covers).
    """

    def within(d: np.ndarray, deg: float) -> np.ndarray:
        cos_deg = float(np.cos(np.radians(deg)))
        ok = normals @ d >= cos_deg
        if smoothed is not None:
            ok |= smoothed @ d >= cos_deg
        return np.asarray(ok)

    sel = within(seed, cone_deg)
    if sel.sum() < 10:
        return None
    p = pts[sel]
    if level_fit:
        # one plane through all of it tilts and shifts off the cut and keeps little
        # of its area: start from the densest level, then refit
        flat = _densest_level(p @ seed, depth_mm)
        rounds = 2
    else:
        flat = np.ones(len(p), dtype=bool)
        rounds = 1
    normal = np.asarray(seed, dtype=np.float64)
    for _ in range(rounds):
        centre = p[flat].mean(axis=0)
        _, _, vt = np.linalg.svd(p[flat] - centre, full_matrices=False)
        normal = vt[-1] if np.dot(vt[-1], normal) >= 0 else -vt[-1]
        flat = np.abs((p - centre) @ normal) <= depth_mm
    member = p[flat]
    if grow:
        held = np.flatnonzero(sel)[flat]
        for _ in range(_GROW_ROUNDS):
            now = np.flatnonzero(
                (np.abs((pts - centre) @ normal) <= depth_mm) & within(normal, cone_deg)
            )
            if len(now) < 10 or np.array_equal(now, held):
                break
            held = now
            member = pts[held]
            centre = member.mean(axis=0)
            _, _, vt = np.linalg.svd(member - centre, full_matrices=False)
            normal = vt[-1] if np.dot(vt[-1], normal) >= 0 else -vt[-1]
        member = pts[held]
        if len(member) == 0:  # nothing held: no plane (no mean of an empty set)
            return None
        centre = member.mean(axis=0)
    if len(member) == 0:
        return None
    uv = np.floor((member - centre) @ vt[:2].T / cell_mm).astype(np.int64)
    area_mm2 = float(len(np.unique(uv, axis=0))) * cell_mm * cell_mm
    return _Plane(normal=_unit(normal), centre_mm=centre, area_mm2=area_mm2)


def _narrowest_section(
    *,
    body: np.ndarray,
    affine: np.ndarray,
    offset: np.ndarray,
    full_shape: tuple[int, ...],
    b: np.ndarray,
    down: np.ndarray,
    start_mm: float,
    spacing: tuple[float, float, float],
    params: AxisParams,
) -> _Plane | None:
    """The neck: the body's narrowest section across ``down`` that widens beyond, or None.

    Parameters
    ----------
    body : bool array (a crop whose first voxel is ``offset`` of the grid ``affine``)
        The twin's tissue.
    affine, offset, full_shape : the grid's affine, the crop's offset (voxels) and the
        grid's shape.
    b, down : the brain centre (world mm) and the skull-base estimate of the down
        direction (world unit vector).
    start_mm : level (mm from ``b`` along ``down``) of the lowest point of the cavity's
        bulk.
    spacing : voxel size (mm).
    params : ``neck_widen_ratio``, ``neck_cut_min_mm2``.

    Returns
    -------
    The narrowest level beyond ``start_mm`` (levels one voxel thick) among those with a
    section at least ``params.neck_widen_ratio`` times larger farther along ``down`` (the
    shoulders and trunk; a scan ending in the neck or at the skull base shows none) and
    of at least ``params.neck_cut_min_mm2`` is the neck's; the plane across ``down`` at
    the middle of the stretch of levels around it within ``sqrt(neck_widen_ratio)`` of
    its section (centre: that level's centroid, area: its section) is returned. None
    where there is no such level, or where most of that section lies on the array's
    edge (the scan's cut, not a neck).
    """
    step_mm = float(max(spacing))
    m = np.asarray(affine, dtype=np.float64)[:3, :3]
    # level of each voxel along ``down``: linear in its indices, summed per axis
    grad = m.T @ down
    base = float(np.dot(affine_points(affine, offset[None, :].astype(np.float64))[0] - b, down))
    idx = np.nonzero(body)
    t = base + sum(grad[a] * idx[a] for a in range(3))
    beyond = t >= start_mm
    if np.count_nonzero(beyond) < 10:
        return None
    level = np.floor((t[beyond] - start_mm) / step_mm).astype(np.int64)
    counts = np.bincount(level)
    area_mm2 = counts * float(np.prod(spacing)) / step_mm
    # the largest section at or beyond each level
    ahead = np.maximum.accumulate(area_mm2[::-1])[::-1]
    widens = np.zeros(len(area_mm2), dtype=bool)
    widens[:-1] = ahead[1:] >= params.neck_widen_ratio * area_mm2[:-1]
    ok = widens & (area_mm2 >= params.neck_cut_min_mm2)
    if not ok.any():
        return None
    narrowest = int(np.flatnonzero(ok)[np.argmin(area_mm2[ok])])
    # the middle of the neck: the stretch of levels around the narrowest whose sections
    # are within the square root of that ratio of it (its ends flare into the skull
    # base or chin and the shoulders; where its walls are taken)
    near = ok & (area_mm2 <= np.sqrt(params.neck_widen_ratio) * area_mm2[narrowest])
    first_i, last_i = narrowest, narrowest
    while first_i > 0 and near[first_i - 1]:
        first_i -= 1
    while last_i + 1 < len(near) and near[last_i + 1]:
        last_i += 1
    i = (first_i + last_i) // 2
    at = np.flatnonzero(beyond)[level == i]
    ijk = np.stack([idx[a][at] for a in range(3)], axis=1) + offset
    on_edge = (ijk == 0).any(axis=1) | (ijk == np.asarray(full_shape) - 1).any(axis=1)
    if on_edge.mean() > 0.5:
        return None
    centre = affine_points(affine, ijk)
    return _Plane(normal=down, centre_mm=centre.mean(axis=0), area_mm2=float(area_mm2[i]))


def _exit_sides_with_neck(exit_neck_deg: float, exit_cut_deg: float, params: AxisParams) -> bool:
    """Whether the cavity's exit says the scan crossed a straight neck obliquely.

    Parameters
    ----------
    exit_neck_deg : angle between the exit cue and the neck found (its end slab).
    exit_cut_deg : angle between the exit cue and the normal of the scan's flat end.
    params : ``cut_agree_deg`` is the skull base's own error.

    Returns
    -------
    True when the exit lies nearer the neck than the cut's normal and farther from that
    normal than ``cut_agree_deg`` (then the neck is kept and the cut refused); an exit
    within that error of the cut's normal does not take sides.
    """
    return exit_neck_deg < exit_cut_deg and exit_cut_deg > params.cut_agree_deg


def _below_cavity_mm(
    plane: _Plane,
    cavity: np.ndarray,
    world: Callable[[np.ndarray], np.ndarray],
    spacing: tuple[float, float, float],
    depth_mm: float,
    *,
    bulk: np.ndarray | None = None,
) -> float:
    """How far (mm) the centre of ``plane`` lies from the bulk of the cranial cavity.

    The bulk is the ``cavity`` (bool, a crop; ``world`` maps its voxels to world mm)
    deeper than ``depth_mm`` inside it, so that a spinal canal or cord labelled CSF or
    brain down the neck (phantom3's truth labels carry the cord 95-135 mm) does not
    bring the cavity down to the cut; the whole cavity when none is that deep. The
    distance is to the nearest bulk voxel, not along the plane's normal: a trunk
    running obliquely to the scanner is cut far to the side of the head, and the
    normal fitted to the cut's voxel faces leans by up to 25 deg. ``bulk``: that mask
    when the caller has it already (:func:`twin_frame` reads it for the neck too).
    """
    if bulk is None:
        inside = edt.edt(cavity, anisotropy=spacing, black_border=False, parallel=EDT_THREADS)
        bulk = cavity & (inside > depth_mm)
    pts = world(bulk if bulk.any() else cavity)
    return float(np.linalg.norm(pts - plane.centre_mm, axis=1).min())


def _ends_body(
    plane: _Plane,
    body_pts: np.ndarray,
    b: np.ndarray,
    spacing: tuple[float, float, float],
    params: AxisParams,
) -> bool:
    """Whether a flat skin patch is where the body ends along its normal.

    True when the patch lies beyond the brain centre ``b`` along its outward normal and
    none of the body's boundary points ``body_pts`` (world mm, (n, 3)) lies farther
    along it than ``params.body_cut_depth_mm`` (at least one voxel) plus one voxel beyond
    the patch's plane: the scan's end, not a flat stretch of skin with tissue beyond it.
    """
    depth_mm = max(params.body_cut_depth_mm, float(max(spacing)))
    if float(np.dot(plane.centre_mm - b, plane.normal)) <= 0.0:
        return False
    beyond_mm = float(((body_pts - plane.centre_mm) @ plane.normal).max())
    # the patch holds skin up to ``depth_mm`` off its plane; a boundary voxel at its
    # rim lies up to one voxel farther (an oblique neck's cut fitted 5 deg off the
    # array's edge: 3.3 mm beyond at 3.08 mm voxels)
    return beyond_mm <= depth_mm + float(max(spacing))


def _densest_level(height_mm: np.ndarray, depth_mm: float) -> np.ndarray:
    """Mask of the heights (mm) within ``depth_mm`` of the level that holds the most.

    The level is the centre of the window of width ``2 * depth_mm`` over the sorted
    heights that contains the most values (the first such window on ties).
    """
    h = np.sort(height_mm)
    ends = np.searchsorted(h, h + 2.0 * depth_mm, side="right")
    start = int(np.argmax(ends - np.arange(len(h))))
    level = 0.5 * (h[start] + h[ends[start] - 1])
    return np.asarray(np.abs(height_mm - level) <= depth_mm)


def _on_plane_reason(
    cavity_cut: _Plane,
    support: _Plane | None,
    spacing: tuple[float, float, float],
    params: AxisParams,
) -> str | None:
    """Why the uncovered cavity piece is not on the body's cut plane (None: it is).

    ``support`` is the flat skin patch found around the piece's normal
    (:func:`_body_cut_normal` with ``direction``). The piece is the scan's cut when
    the plane fitted to that patch has its normal within ``params.cut_plane_agree_deg``
    of the piece's, holds the piece's centre within ``params.open_cover_mm`` plus the
    patch's depth (at least one voxel) (the uncovered voxels sit at most that far
    inside the cut face), and covers at least ``params.body_cut_min_mm2`` (the flat
    patch a whole head never shows) and ``params.cut_support_ratio`` times the piece's
    area (the body's cut face holds the cavity's and the scalp and skull around it).
    Each test is in world mm and degrees, whatever the grid.
    """
    if support is None:
        return "no skin faces along its normal"
    off_deg = angle_deg(cavity_cut.normal, support.normal)
    depth_mm = abs(float(np.dot(cavity_cut.centre_mm - support.centre_mm, support.normal)))
    logger.debug(
        "cavity piece %.0f mm2 against the skin patch %.0f mm2: normals %.1f deg apart, "
        "%.1f mm off its plane",
        cavity_cut.area_mm2,
        support.area_mm2,
        off_deg,
        depth_mm,
    )
    if off_deg > params.cut_plane_agree_deg:
        return f"the skin's cut plane is {off_deg:.0f}° from its normal"
    reach_mm = params.open_cover_mm + max(params.body_cut_depth_mm, float(max(spacing)))
    if depth_mm > reach_mm:
        return f"it lies {depth_mm:.0f} mm from the skin's cut plane (> {reach_mm:.0f} mm)"
    need_mm2 = max(params.body_cut_min_mm2, params.cut_support_ratio * cavity_cut.area_mm2)
    if support.area_mm2 < need_mm2:
        return (
            f"the skin's flat patch along it covers {support.area_mm2:.0f} mm2 "
            f"(< {need_mm2:.0f} mm2 for its {cavity_cut.area_mm2:.0f} mm2)"
        )
    return None


def angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    """Angle between two vectors in degrees (0..180)."""
    c = float(np.dot(_unit(u), _unit(v)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def axial_rotation_deg(frame_a: TwinFrame, frame_b: TwinFrame) -> float:
    """Rotation (deg, 0..180) between the two faces about the shared axis.

    The shared axis is ``normalize(axis_A - axis_B)`` (both vertices point at each other
    in a vertical fusion); each face direction is projected on the plane perpendicular
    to it and the angle between the projections is returned.
    """
    shared = _unit(frame_a.axis - frame_b.axis)
    if np.linalg.norm(shared) == 0:
        shared = frame_a.axis
    fa = frame_a.face_dir - np.dot(frame_a.face_dir, shared) * shared
    fb = frame_b.face_dir - np.dot(frame_b.face_dir, shared) * shared
    return angle_deg(fa, fb)
