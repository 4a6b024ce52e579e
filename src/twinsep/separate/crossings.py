"""Vessel crossings of the separation surface: where, how wide, which twin drains them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import edt
import numpy as np

from twinsep.fusion.surface import contact_mask_26
from twinsep.labels import TWIN_A, TWIN_B, VESSEL
from twinsep.segment.morph import label_components
from twinsep.separate.boxes import extent, grow, slices, window
from twinsep.volume import Volume, world_to_voxel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VesselCrossing:
    """One vessel (venous segment) divided by the cut.

    Attributes
    ----------
    id : str
        ``"vessel-1"``, ... numbered from the narrowest to the widest.
    position_mm : (x, y, z)
        World centroid of the vessel voxels on the cut, mm.
    diameter_mm : float
        Estimated diameter, mm: ``2 sqrt(section / pi)`` from the vessel's section on the
        cut surface (set by :func:`twinsep.separate.plan.plan_separation`); before that,
        twice the largest distance from a cut vessel voxel to the wall minus one voxel.
    volume_a_ml, volume_b_ml : float
        Vessel volume connected to the crossing on twin A's / twin B's side, mL.
    drains_toward : str
        ``"A"`` or ``"B"``: the side with more connected vessel volume (an estimate from
        anatomy; CT shows no flow direction).
    on_sinus : bool
        The crossing divides the fusion's shared sinus (one of its vessel voxels on the
        cut lies in a component the fusion counted as the shared sinus); False when
        :func:`vessel_crossings` was given no ``sinus`` mask. Not written to
        ``plan.json`` (``separation.shared_sinus_division`` says what the cut does with
        the sinus).
    """

    id: str
    position_mm: tuple[float, float, float]
    diameter_mm: float
    volume_a_ml: float
    volume_b_ml: float
    drains_toward: str
    on_sinus: bool = False

    def to_json(self) -> dict[str, object]:
        """JSON-ready view with units in keys."""
        return {
            "id": self.id,
            "position_mm": [round(v, 1) for v in self.position_mm],
            "diameter_mm": round(self.diameter_mm, 1),
            "volume_a_ml": round(self.volume_a_ml, 2),
            "volume_b_ml": round(self.volume_b_ml, 2),
            "drains_toward": self.drains_toward,
        }


def edge_link(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Voxels of ``a`` or ``b`` with a 26-neighbour in the other mask.

    For the vessel voxels of twin A and of twin B, the voxels where a vessel passes from
    one twin to the other, also where the two sides touch only along a voxel edge or at
    a corner (a lumen one voxel across stepping diagonally over the twins' boundary:
    no voxel face between them, so none of the face-kerf's tests sees it). The same
    contact as the fusion's sinus rule (:func:`twinsep.fusion.surface.contact_mask_26`).

    Parameters
    ----------
    a, b : (I, J, K) bool ndarray
        Disjoint masks.

    Returns
    -------
    (I, J, K) bool ndarray
    """
    return contact_mask_26(a, b) | contact_mask_26(b, a)


def vessel_crossings(
    labels: Volume,
    twins: np.ndarray,
    kerf: np.ndarray,
    *,
    kerf_box: tuple[slice, slice, slice] | None = None,
    sinus: np.ndarray | None = None,
) -> list[VesselCrossing]:
    """Every vessel the cut divides.

    A vessel is divided where its kerf voxels belong to both twins, or where its twin A
    and twin B voxels touch only along a voxel edge or at a corner (:func:`edge_link`:
    a lumen one voxel across stepping diagonally over the cut, where the face-kerf may
    hold the voxels of one side only).

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5.
    twins : (I, J, K) uint8 ndarray
        Refined twin labels after the cut.
    kerf : (I, J, K) bool ndarray
        Voxels on the cut (:func:`twinsep.separate.mincut.verify_separation`).
    kerf_box : tuple of slice, optional
        A box holding every kerf voxel (``SeparationCheck.kerf_box``); found from
        ``kerf`` when not given. Only the crossings are searched in it; the vessel
        volumes on each side are measured on the whole vessel tree.
    sinus : (I, J, K) bool ndarray, optional
        The fusion's shared sinus (:func:`shared_sinus_mask`): a crossing with a voxel in
        it is ``on_sinus``.

    Returns
    -------
    list of VesselCrossing
        Sorted from the narrowest to the widest (ids follow this order).
    """
    lab = labels.array
    if kerf_box is None:
        ek = extent(kerf)
        if ek is None:
            return []
        kerf_box = slices(*ek)
    # one voxel around the kerf box: a vessel voxel 26-adjacent to a kerf voxel may
    # lie just outside it
    k_lo, k_hi = grow(
        (
            np.asarray([s.start for s in kerf_box], dtype=np.int64),
            np.asarray([s.stop for s in kerf_box], dtype=np.int64),
        ),
        1,
        lab.shape,
    )
    kerf_box = slices(k_lo, k_hi)
    vessel_kb = lab[kerf_box] == VESSEL
    tw_kb = twins[kerf_box]
    on_cut = vessel_kb & kerf[kerf_box]
    if not on_cut.any():
        return []
    # A crossing is a vessel cut by the surface: kerf voxels of both twins, with the
    # vessel voxels where the lumen passes from one twin to the other along a voxel
    # edge or corner only (no face between them; the cut there may hold the voxels of
    # one side only, as the face-kerf does)
    on_cut |= edge_link(vessel_kb & (tw_kb == TWIN_A), vessel_kb & (tw_kb == TWIN_B))
    comps, n = label_components(on_cut, 26)
    spacing = labels.spacing_mm
    vox_ml = labels.voxel_volume_mm3 / 1000.0
    vessel = lab == VESSEL
    # the vessel tree minus the kerf, labelled on the vessels' bounding box
    ev = extent(vessel)
    if ev is None:  # never: on_cut holds vessel voxels
        return []
    v_lo = ev[0]
    v_box = slices(*ev)
    rest_mask = vessel[v_box] & ~kerf[v_box]
    rest_c = label_components(rest_mask, 26)[0]
    # sizes counted over the vessel voxels only (a fraction of a percent of the box)
    rest_sizes = np.bincount(rest_c[rest_mask])
    sinus_kb = sinus[kerf_box] if sinus is not None else None
    found: list[tuple[float, tuple[float, float, float], float, float, bool]] = []
    for cid in range(1, n + 1):
        m_c = comps == cid
        if not ((tw_kb[m_c] == TWIN_A).any() and (tw_kb[m_c] == TWIN_B).any()):
            continue  # the vessel only touches the cut from one side: not divided
        on_sinus = bool(sinus_kb[m_c].any()) if sinus_kb is not None else False
        idx = np.argwhere(m_c) + k_lo
        lo = np.maximum(idx.min(axis=0) - 12, 0)
        hi = np.minimum(idx.max(axis=0) + 13, lab.shape)
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        m_box = np.zeros(tuple(int(v) for v in hi - lo), dtype=bool)
        m_box[tuple((idx - lo).T)] = True
        dist = edt.edt(vessel[box], anisotropy=spacing, black_border=False)
        diameter = max(2.0 * float(dist[m_box].max()) - min(spacing), min(spacing))
        # Vessel volume connected to this crossing on each side.
        from scipy import ndimage

        rest_box = window(rest_c, v_lo, lo, hi)
        ring = ndimage.binary_dilation(m_box, np.ones((3, 3, 3), bool)) & (rest_box > 0)
        touched = np.unique(rest_box[ring])
        touched = touched[touched > 0]
        vol = {TWIN_A: 0.0, TWIN_B: 0.0}
        tw_box = twins[box]
        for t in touched:
            sel = rest_box == t
            side = int(np.bincount(tw_box[sel & ring], minlength=3)[1:].argmax()) + 1
            vol[side] += float(rest_sizes[t]) * vox_ml
        pos = labels.world_coords(idx.mean(axis=0))
        found.append(
            (diameter, (float(pos[0]), float(pos[1]), float(pos[2])), vol[1], vol[2], on_sinus)
        )
    found.sort(key=lambda f: (f[0], f[1]))
    out = [
        VesselCrossing(
            id=f"vessel-{i}",
            position_mm=pos,
            diameter_mm=d,
            volume_a_ml=va,
            volume_b_ml=vb,
            drains_toward="A" if va >= vb else "B",
            on_sinus=on_s,
        )
        for i, (d, pos, va, vb, on_s) in enumerate(found, start=1)
    ]
    logger.info("cut crosses %d vessel(s)", len(out))
    return out


@dataclass(frozen=True)
class SinusShare:
    """Where the fusion's shared sinus lies after the cut.

    Attributes
    ----------
    a_ml, b_ml : float
        Volume of the shared sinus's vessel voxels (the components the fusion counted,
        on the labels) in twin A's / twin B's refined map, mL.
    minor_ml : float
        Over the sinus components the cut divides (those holding voxels of both twins),
        the smaller twin's part of each, summed, mL; 0 when the cut divides none (the
        sinus in one twin, or its pieces each wholly in one twin).
    """

    a_ml: float
    b_ml: float
    minor_ml: float = 0.0

    @property
    def divided(self) -> bool:
        """The cut divides a component of the sinus (it holds voxels of both twins)."""
        return self.minor_ml > 0

    def edge_only(self, *, max_share: float, max_ml: float) -> bool:
        """The cut divides the sinus only at its edge: one twin keeps nearly all of it.

        Parameters
        ----------
        max_share : float
            The smaller parts of the divided components, together, are at most this
            share of the whole sinus (``a_ml + b_ml``).
        max_ml : float
            ... and at most this volume, mL.

        Returns
        -------
        bool
            False when the cut divides no component of the sinus.
        """
        total = self.a_ml + self.b_ml
        return self.divided and self.minor_ml <= max_share * total and self.minor_ml <= max_ml

    @property
    def owner(self) -> str | None:
        """``"A"`` or ``"B"`` when that twin holds the whole sinus, None when both hold
        part of it (or neither: no voxel found)."""
        if self.a_ml > 0 and self.b_ml == 0:
            return "A"
        if self.b_ml > 0 and self.a_ml == 0:
            return "B"
        return None

    def to_json(self) -> dict[str, float]:
        """``plan.json`` ``separation.shared_sinus_ml``: ``{"A": mL, "B": mL}``."""
        return {"A": round(self.a_ml, 2), "B": round(self.b_ml, 2)}


def shared_sinus_mask(
    labels: Volume,
    seeds_mm: list[tuple[float, float, float]],
) -> np.ndarray | None:
    """The fusion's shared sinus: every vessel component holding one of its seed points.

    The sinus is every 26-connected vessel component of ``labels`` holding one of the
    fusion's seed points (``SharedInventory.sinus_seeds_mm``: one voxel of each component
    it counted as the shared sinus), whatever its shape: a ring round the bridge, a
    straight sagittal sinus, or several pieces.

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5 (the labels the fusion read).
    seeds_mm : list of (x, y, z)
        World points (mm), each at a voxel centre of a shared sinus component.

    Returns
    -------
    (I, J, K) bool ndarray or None
        None when no seed lies on a vessel voxel (no shared sinus).
    """
    lab = labels.array
    if not seeds_mm:
        return None
    shape = np.asarray(lab.shape, dtype=np.int64)
    ijk = np.rint(world_to_voxel(labels.affine, np.asarray(seeds_mm, dtype=np.float64)))
    seeds = [
        c
        for c in ijk.astype(np.int64)
        if np.all((c >= 0) & (c < shape)) and lab[tuple(int(v) for v in c)] == VESSEL
    ]
    if not seeds:
        return None
    vessel = lab == VESSEL
    ev = extent(vessel)
    if ev is None:  # never: a seed is a vessel voxel
        return None
    lo = ev[0]
    box = slices(*ev)
    comps = label_components(vessel[box], 26)[0]
    ids = np.unique([comps[tuple(int(v) for v in c - lo)] for c in seeds])
    out = np.zeros(lab.shape, dtype=bool)
    out[box] = np.isin(comps, ids[ids > 0])
    return out


def sinus_share_ml(
    labels: Volume,
    twins: np.ndarray,
    seeds_mm: list[tuple[float, float, float]],
) -> SinusShare | None:
    """Each twin's share of the shared sinus after the cut, measured on the sinus itself.

    The sinus is :func:`shared_sinus_mask`: every 26-connected vessel component holding
    one of the fusion's seeds. A component holding voxels of both twins is divided by
    the cut; the smaller twin's part of it counts in ``SinusShare.minor_ml``.

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5 (the labels the fusion read).
    twins : (I, J, K) uint8 ndarray
        Refined twin labels after the cut.
    seeds_mm : list of (x, y, z)
        World points (mm), each at a voxel centre of a shared sinus component.

    Returns
    -------
    SinusShare or None
        None when no seed lies on a vessel voxel (no shared sinus).
    """
    sinus = shared_sinus_mask(labels, seeds_mm)
    if sinus is None:
        return None
    ev = extent(sinus)
    if ev is None:  # never: a seed is a sinus voxel
        return None
    box = slices(*ev)
    comps, n = label_components(sinus[box], 26)
    tw = twins[box]
    a_vx = np.bincount(comps[tw == TWIN_A], minlength=n + 1)[1:]
    b_vx = np.bincount(comps[tw == TWIN_B], minlength=n + 1)[1:]
    vox_ml = labels.voxel_volume_mm3 / 1000.0
    return SinusShare(
        a_ml=float(a_vx.sum()) * vox_ml,
        b_ml=float(b_vx.sum()) * vox_ml,
        minor_ml=float(np.minimum(a_vx, b_vx).sum()) * vox_ml,
    )
