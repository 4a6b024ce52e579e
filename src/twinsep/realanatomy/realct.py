"""A craniopagus CT built from two copies of a REAL head CT (Debian ``invesalius-examples``).

The source is ``Cranium.inv3`` of InVesalius 3 (GPL-2): an adult head CT, 256 x 256 x 108
voxels of 0.957 x 0.957 x 1.5 mm, skull base to vertex, lying on a curved head holder
(read by :mod:`twinsep.realanatomy.invesalius`). Two copies are joined by
:func:`twinsep.realanatomy.fuse.fuse_heads`; unlike the Colin27 cases no CT is
synthesised: every voxel of the fused CT is a real HU value.

* **Head** (what a twin owns): voxels above the body threshold - half-way between the
  air and soft-tissue peaks of the CT's own histogram, the same physics as a partial-
  volume 50 % edge - in the largest 26-connected component, holes filled slice by
  slice along the axial axis (airways and sinuses reach the cut lower edge) and then
  in 3D. The head holder is a separate component (a foam cushion below the threshold
  lies between it and the scalp), so it is not part of the head; a check refuses a
  scan whose largest component reaches more than ``holder_reach_mm`` beyond the skull
  (a holder fused to the head).
* **Owners** (exact): a voxel belongs to the copy in which it lies deeper (see
  ``fuse_heads``); the twins volume is this truth.
* **HU**: an owned voxel takes its own copy's CT, trilinear; outside both heads the
  first (unrotated) copy's CT where its field of view reaches - its real air, cushion
  and holder; the holder is dropped whole if it would come within
  ``holder_clearance_mm`` of the second head (kept in both built-in cases: 35 and
  106 mm away) - else the second copy's CT outside its holder, else a value drawn
  (seeded) from the scan's own air voxels: real air values, not a constant. The
  first copy is twin A in both built-in cases (``FusedCase.b_copy_twin``).
* **Reference labels** (not truth): twinsep's own segmentation of the single CT,
  carried through the same fusion (nearest neighbour). There is no voxel truth for a
  real CT; a Dice against these labels measures agreement of the fused-CT
  segmentation with the single-head one, i.e. what the junction and the second head
  change, not accuracy.

What this cannot show: the scan ends at the skull base (the cut face of each copy
meets air in the fused CT, as if the field of view ended there), the brain is an
adult's, and the copies are identical (same noise texture mirrored into the union).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L
from twinsep.errors import AnatomyError, InputError
from twinsep.layout import canonical_layout
from twinsep.realanatomy.fuse import FusedCase, FusionConfig, fuse_heads, write_fused_case
from twinsep.realanatomy.head import HeadModel
from twinsep.realanatomy.invesalius import load_inv3
from twinsep.segment import morph
from twinsep.segment.histogram import histogram_peak
from twinsep.volume import Volume, apply_affine, world_to_voxel

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "the real-CT cases need the head CT of Debian's invesalius-examples: run "
    "'make realdata' (or: apt-get download invesalius-examples && dpkg -x "
    "invesalius-examples_*.deb .data/invesalius)"
)

#: Path of the project inside the Debian package.
_INV3_SUBPATH = "usr/share/doc/invesalius-examples/examples/Cranium.inv3"

#: The two real-CT configurations, the contacts of the Colin27 cases
#: (``twinsep.realanatomy.colin.CONFIGS``): vertex to vertex with 30 deg of axial
#: twist, and frontal-parietal to parietal-occipital (angular). No table: the scan's
#: own head holder plays that part.
CONFIGS: dict[str, FusionConfig] = {
    "real-ct-vertical": FusionConfig(
        contact_a=(0.0, 0.0, 1.0),
        contact_b=(0.0, 0.0, 1.0),
        twist_deg=30.0,
        overlap_mm=18.0,
        table=False,
    ),
    "real-ct-angular": FusionConfig(
        contact_a=(0.0, 0.6, 1.0),
        contact_b=(0.0, -0.6, 1.0),
        twist_deg=0.0,
        overlap_mm=18.0,
        table=False,
    ),
}


@dataclass(frozen=True)
class RealCtParams:
    """Numbers of the real-CT head model and fusion.

    Attributes
    ----------
    soft_window_hu : (lo, hi)
        HU window searched for the soft-tissue histogram peak (HU): water-like tissue
        (fat -100, muscle/brain 20-60) lies in it on any calibrated CT.
    air_below_hu : float
        The air peak is searched below this value (HU): air is -1000 and lung-free head
        scans have no other structure below -500.
    histogram_bin_hu : float
        Histogram bin width for the peaks (HU): finer than the ~5-20 HU noise of a
        head CT, coarse enough for a stable mode.
    brain_core_depth_mm : float
        The cranial centre is the centroid of water-density voxels (0-100 HU after a
        1 mm smoothing) deeper than this under the skin (mm): scalp + skull are
        ~10 mm, so this keeps brain and drops face muscles and scalp.
    holder_reach_mm : float
        A head component reaching farther than this outside the 0-100 HU core's
        bounding box plus skull (mm) is refused as "holder fused to the head"; the
        face and ears reach ~40 mm beyond the brain, a holder arc much farther.
    holder_margin_mm : float
        The second copy's holder is dropped with this margin (mm) so that its partial-
        volume rim goes too (about two voxels).
    holder_clearance_mm : float
        Twin A's holder is kept only if every voxel of it (with its margin) stays this
        far from the second head (mm); otherwise it is dropped whole (air), since a
        holder cannot pass through the other twin and a holder cut at the other scalp
        would be a shape no scanner sees. 5 mm: the holder's 2 mm margin plus three
        voxels of the 1 mm grid, so no voxel mixes holder and the other scalp.
    spacing_mm : float
        Isotropic voxel size of the fused grid (mm): the source's in-plane 0.96 mm
        rounded up to its 1.5 mm slices would lose detail; 1.0 mm keeps it and stays
        a ~20 M voxel grid.
    """

    soft_window_hu: tuple[float, float] = (-100.0, 100.0)
    air_below_hu: float = -500.0
    histogram_bin_hu: float = 5.0
    brain_core_depth_mm: float = 12.0
    holder_reach_mm: float = 70.0
    holder_margin_mm: float = 2.0
    holder_clearance_mm: float = 5.0
    spacing_mm: float = 1.0


@dataclass(frozen=True)
class RealCtHead:
    """One real head CT prepared for fusion.

    Attributes
    ----------
    ct : Volume
        The CT (HU), as read.
    head : ndarray of bool
        The head mask (see module docstring).
    holder : ndarray of bool
        Everything above the body threshold outside the head (holder, tubes), grown by
        ``holder_margin_mm``.
    air : ndarray of float32
        HU values of the scan's air (outside head and holder, below the threshold),
        to draw background from.
    body_threshold_hu : float
        Half-way between the air and soft-tissue peaks (HU).
    centre_mm : (3,) ndarray
        Centre of the cranial cavity (world mm of ``ct``).
    """

    ct: Volume
    head: np.ndarray
    holder: np.ndarray
    air: np.ndarray
    body_threshold_hu: float
    centre_mm: np.ndarray


def inv3_path(extra: list[Path] | None = None) -> Path | None:
    """Path of ``Cranium.inv3`` if installed (``.data/invesalius`` or the system), else None."""
    roots = list(extra or [])
    here = Path(__file__).resolve()
    roots += [Path.cwd() / ".data" / "invesalius", here.parents[3] / ".data" / "invesalius"]
    roots += [Path("/")]
    for r in roots:
        p = r / _INV3_SUBPATH
        if p.is_file():
            return p
    return None


def prepare_head(ct: Volume, params: RealCtParams = RealCtParams()) -> RealCtHead:
    """Head mask, holder, air sample and cranial centre of one real head CT.

    Raises
    ------
    AnatomyError
        No air or soft-tissue peak, no brain core, or the head component reaches far
        beyond the skull (a head holder touching the head).
    """
    src = str(ct.meta.get("source", "CT"))
    a = ct.array
    sp = ct.spacing_mm
    sub = a[::2, ::2, ::2].ravel().astype(np.float32)
    air_hu = histogram_peak(sub, -1100.0, params.air_below_hu, params.histogram_bin_hu)
    soft_hu = histogram_peak(sub, *params.soft_window_hu, params.histogram_bin_hu)
    if air_hu is None or soft_hu is None:
        raise AnatomyError(src, "no air or soft-tissue peak in the CT histogram")
    t_body = (air_hu + soft_hu) / 2.0
    body = a > t_body
    head = morph.largest_components(body)
    kz = canonical_layout(ct.direction).axes[2]  # the array axis that runs head-foot
    head = np.moveaxis(head, kz, 0).copy()
    for i in range(head.shape[0]):
        head[i] = ndi.binary_fill_holes(head[i])
    head = morph.fill_holes(np.moveaxis(head, 0, kz))
    smooth = ndi.gaussian_filter(a.astype(np.float32), sigma=[1.0 / s for s in sp])
    core = (
        (smooth > 0) & (smooth < 100) & (morph.distance_mm(head, sp) > params.brain_core_depth_mm)
    )
    core = morph.largest_components(core)
    if not core.any():
        raise AnatomyError(src, "no brain-density core deeper than the skull: not a head CT")
    centre = ct.centroid_mm(core)
    # a head holder fused to the head would make the head reach far beyond the skull
    reach = _reach_beyond_mm(head, core, ct.affine)
    if reach > params.holder_reach_mm:
        raise AnatomyError(
            src,
            f"the head component reaches {reach:.0f} mm beyond the brain (limit "
            f"{params.holder_reach_mm:.0f} mm): a head holder or table touches the head",
        )
    holder = morph.dilate_mm(body & ~head, params.holder_margin_mm, sp)
    outside = ~morph.dilate_mm(head, params.holder_margin_mm, sp) & ~holder & ~body
    air = a[outside].astype(np.float32)
    if air.size < 1000:
        raise AnatomyError(src, "fewer than 1000 air voxels around the head")
    logger.debug("real CT: air %.0f soft %.0f threshold %.0f HU", air_hu, soft_hu, t_body)
    return RealCtHead(
        ct=ct,
        head=head,
        holder=holder,
        air=air,
        body_threshold_hu=float(t_body),
        centre_mm=centre,
    )


def _reach_beyond_mm(head: np.ndarray, core: np.ndarray, affine: np.ndarray) -> float:
    """Largest distance (mm) of a head voxel from the brain core's world bounding box."""
    cw = apply_affine(affine, np.argwhere(core))
    hw = apply_affine(affine, np.argwhere(head)[::7])
    lo, hi = cw.min(axis=0), cw.max(axis=0)
    out = np.maximum(lo - hw, 0) + np.maximum(hw - hi, 0)
    return float(np.linalg.norm(out, axis=1).max())


def head_model(prep: RealCtHead, reference_labels: np.ndarray) -> HeadModel:
    """A :class:`HeadModel` of the real CT: its head mask, the reference labels inside it."""
    lab = np.where(prep.head, reference_labels, L.BACKGROUND).astype(np.uint8)
    return HeadModel(
        labels=lab,
        texture=None,
        mr=None,
        affine=prep.ct.affine.copy(),
        centre_mm=np.asarray(prep.centre_mm, float),
        mask=prep.head,
    )


def fuse_ct(
    prep: RealCtHead,
    case: FusedCase,
    *,
    rng: np.random.Generator,
    params: RealCtParams = RealCtParams(),
) -> tuple[np.ndarray, bool]:
    """The fused CT (int16 HU) of ``case`` from the real CT (see module docstring), and
    whether twin A's holder was kept (it is dropped whole, as air, when it would come
    within ``params.holder_clearance_mm`` of the second head)."""
    if case.world_to_b_head is None:
        raise ValueError("case has no world_to_b_head (built by an older fuse_heads)")
    grid = case.labels
    shape = grid.shape
    tw = case.twins.array
    a_twin = L.TWIN_A if case.b_copy_twin == L.TWIN_B else L.TWIN_B
    src = prep.ct.array.astype(np.float32)
    n = np.array(src.shape, float)
    out = np.empty(shape, np.float32)
    filled = np.zeros(shape, bool)
    holder8 = prep.holder.view(np.uint8)
    holder_a = np.zeros(shape, bool)
    # work slab by slab along the last grid axis to keep the coordinate arrays small
    ii, jj = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    for k in range(shape[2]):
        ijk = np.stack([ii.ravel(), jj.ravel(), np.full(ii.size, k)], axis=1)
        world = apply_affine(grid.affine, ijk)
        va = world_to_voxel(prep.ct.affine, world)
        vb = world_to_voxel(prep.ct.affine, apply_affine(case.world_to_b_head, world))
        ta = tw[:, :, k].ravel()
        # the field of view as fuse_heads samples the head mask (nearest, nothing
        # beyond the outermost voxel centres): a half-voxel layer past a cut face
        # would otherwise carry tissue HU that no twin owns
        in_fov_a = np.all((va >= 0) & (va <= n - 1), axis=1)
        in_fov_b = np.all((vb >= 0) & (vb <= n - 1), axis=1)
        val = np.full(ta.shape, np.nan, np.float32)
        bg = ta == 0
        use_a = (ta == a_twin) | (bg & in_fov_a)
        val[use_a] = ndi.map_coordinates(src, va[use_a].T, order=1, mode="nearest")
        cand_a = bg & in_fov_a
        ha = np.zeros_like(cand_a)
        ha[cand_a] = ndi.map_coordinates(holder8, va[cand_a].T, order=0, mode="constant") > 0
        holder_a[:, :, k] = ha.reshape(shape[:2])
        # the second copy: its own voxels, and its air where the first copy's scan
        # does not reach, without its holder
        cand_b = bg & ~in_fov_a & in_fov_b
        hb = np.zeros_like(cand_b)
        hb[cand_b] = ndi.map_coordinates(holder8, vb[cand_b].T, order=0, mode="constant") > 0
        use_b = ((ta > 0) & ~use_a) | (cand_b & ~hb)
        val[use_b] = ndi.map_coordinates(src, vb[use_b].T, order=1, mode="nearest")
        out[:, :, k] = val.reshape(shape[:2])
        filled[:, :, k] = ~np.isnan(val).reshape(shape[:2])
    kept = bool(holder_a.any())
    if kept and _holder_to_b_mm(prep, case) < params.holder_clearance_mm:
        kept = False
        filled &= ~holder_a
        logger.debug(
            "twin A's holder within %.1f mm of twin B: dropped", params.holder_clearance_mm
        )
    empty = ~filled
    out[empty] = rng.choice(prep.air, size=int(empty.sum()), replace=True)
    return np.rint(out).astype(np.int16), kept


def _holder_to_b_mm(prep: RealCtHead, case: FusedCase) -> float:
    """Closest approach (mm) of the first copy's holder to the second copy's head, on the
    source grid (independent of the fused grid's spacing). Beyond the source grid the
    distance is that of the nearest grid point plus the way out to it (an upper bound
    that is exact beyond a flat cut face)."""
    if case.world_to_b_head is None:
        raise ValueError("case has no world_to_b_head")
    src = prep.ct
    pts = apply_affine(src.affine, np.argwhere(prep.holder))
    vox = world_to_voxel(src.affine, apply_affine(case.world_to_b_head, pts))
    inside = np.clip(vox, 0, np.array(src.shape, float) - 1)
    out_mm = np.linalg.norm((vox - inside) * np.asarray(src.spacing_mm), axis=1)
    dist = morph.distance_to_mm(prep.head, src.spacing_mm)
    d = ndi.map_coordinates(dist, inside.T, order=1, mode="nearest") + out_mm
    return float(d.min())


def build_real_ct_case(
    name: str,
    *,
    spacing_mm: float | None = None,
    params: RealCtParams = RealCtParams(),
    reference: bool = True,
) -> tuple[FusedCase, Volume, dict]:
    """Fused real-CT craniopagus ``name``: (case, fused CT, facts).

    ``case.twins`` is the exact owner truth; ``case.labels`` the reference labels
    (the single CT's segmentation carried through the fusion) when ``reference``,
    else the head mask as soft tissue (faster: no segmentation).

    Raises
    ------
    InputError
        Unknown name, or the CT is not installed (says how to install it).
    """
    if name not in CONFIGS:
        raise InputError(
            "--case", f"unknown real-CT case {name!r}; choose one of {', '.join(CONFIGS)}"
        )
    path = inv3_path()
    if path is None:
        raise InputError(name, INSTALL_HINT)
    ct = load_inv3(path)
    prep = prepare_head(ct, params)
    if reference:
        from twinsep.segment import segment_ct

        ref = segment_ct(ct).labels.array
    else:
        ref = np.where(prep.head, L.SOFT_TISSUE, L.BACKGROUND).astype(np.uint8)
    head = head_model(prep, ref)
    sp = params.spacing_mm if spacing_mm is None else spacing_mm
    cfg = replace(CONFIGS[name], spacing_mm=sp)
    case = fuse_heads(head, cfg)
    fused, holder_kept = fuse_ct(prep, case, rng=np.random.default_rng(0), params=params)
    facts = {
        "case": name,
        "source": "real head CT, Debian invesalius-examples Cranium.inv3 (GPL-2)",
        "type": "vertical" if case.axis_angle_deg >= 140 else "angular",
        "axis_angle_deg": round(case.axis_angle_deg, 1),
        "face_angle_deg": round(case.face_angle_deg, 1),
        "overlap_mm": cfg.overlap_mm,
        "spacing_mm": sp,
        "body_threshold_hu": round(prep.body_threshold_hu, 1),
        "holder_kept": holder_kept,
        "labels": (
            "reference: twinsep's segmentation of the single CT through the fusion "
            "(agreement, not truth)"
            if reference
            else "head mask only"
        ),
        "twins": "exact owner truth (deeper-lying copy)",
    }
    return case, Volume(fused, case.labels.affine.copy(), {"kind": "CT"}), facts


def write_real_ct_case(name: str, folder: Path) -> Path:
    """Write ``ct.nii.gz``, ``labels.nii.gz`` (reference), ``twins.nii.gz`` (truth) and
    ``facts.json`` of case ``name`` into ``folder`` (atomically); return the CT path."""
    case, ct, facts = build_real_ct_case(name)
    return write_fused_case(folder, case, ct, "facts.json", facts)
