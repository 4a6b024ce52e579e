"""Metal is not bone: implants, ports and electrodes leave the bone label.

A planning CT of craniopagus twins carries metal outside the skull: the needle stops of
scalp-expander ports, EEG cup electrodes on the skin, a shunt valve's core behind the
ear. Metal reads far above any bone (steel 8000 HU before the scanner clips it at 3071),
so the bone hysteresis took it, and the partial-volume rim around it, as bone: a printed
skull model then carried the electrodes. The label contract has no "foreign body" label;
metal is not tissue of the twins, so it is labelled as what surrounds it in the body,
soft tissue (``segment_ct`` writes soft tissue on the body mask, and metal is simply
left out of the bone), and a plan warning names its volume and place.

Rule (``metal_not_bone``):

1. **Metal**: the compact pieces of ``segment.metal.compact_metal`` (at least
   ``MetalParams.metal_offset_hu`` above soft tissue, jumping from tissue to metal: tooth
   enamel on dentin fails that test), with or without streaks.
2. **Rim**: the bone-mask pieces (26-connected, after the metal is taken out) that lie
   mostly (``MetalParams.rim_share`` of their voxels) within ``MetalParams.shell_mm``
   of the metal are the metal's blurred rim, not bone. A rim joined to the skull (a port lying on the
   outer table) stays bone: voxel values cannot tell the two apart there.
3. **On the skin**: a bone-mask piece of at most ``MetalParams.skin_metal_max_mm3``
   that touches the air outside the body and reaches the metal level is metal (EEG electrodes: on 3 mm
   voxels a 1.5 mm disc's own partial-volume voxels, 2300 HU, fill the shell of its
   3071 HU voxels and fail the compact test of rule 1).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.metal import compact_metal
from twinsep.segment.params import MetalParams
from twinsep.words import counted

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForeignMetal:
    """Metal and its rim taken out of the bone mask.

    Attributes
    ----------
    metal : ndarray of bool
        Metal voxels (compact pieces at metal level).
    rim : ndarray of bool
        Voxels of the bone mask that were the metal's partial-volume rim.
    pieces : tuple of (volume_ml, index centroid)
        Each piece of metal and rim (26-connected): volume (mL) and centroid (voxel
        index, float).
    """

    metal: np.ndarray
    rim: np.ndarray
    pieces: tuple[tuple[float, tuple[float, float, float]], ...]

    @property
    def metal_ml(self) -> float:
        """Total metal volume (mL)."""
        return float(sum(v for v, _ in self.pieces))


def metal_not_bone(
    raw: np.ndarray,
    bone: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    soft_hu: float,
    outside: np.ndarray | None = None,
    params: MetalParams = MetalParams(),
) -> ForeignMetal | None:
    """Metal pieces and their rim in ``bone`` (the bone hysteresis), or None without metal.

    Parameters
    ----------
    raw : ndarray, shape (I, J, K)
        CT (HU); not modified.
    bone : ndarray of bool
        Bone mask of the same grid; not modified.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    soft_hu : float
        The scan's soft-tissue peak (HU).
    outside : ndarray of bool, optional
        Voxels outside the body (air around the patients); with it, small bone pieces
        at the body's surface that reach the metal level are metal too (rule 3).
    params : MetalParams
        Metal level, piece size and shell (``segment.metal``).

    Returns
    -------
    ForeignMetal or None
    """
    t_metal = soft_hu + params.metal_offset_hu
    if raw.size == 0 or float(raw.max()) < t_metal:
        return None
    found = compact_metal(raw, spacing_mm, soft_hu=soft_hu, params=params)
    metal = np.zeros(raw.shape, bool) if found is None else found
    sp = (float(spacing_mm[0]), float(spacing_mm[1]), float(spacing_mm[2]))
    near = morph.dilate_mm(metal, max(params.shell_mm, max(sp)), sp) & ~metal
    rest = bone & ~metal
    lab, sizes = morph.component_sizes(rest)
    n = sizes.size + 1
    touched = np.bincount(lab[near & rest].ravel(), minlength=n)[1:]
    is_rim = (touched > 0) & (touched >= params.rim_share * sizes)
    if outside is not None:
        # metal on the skin (an electrode): a small bone piece at the body's surface
        # that reaches the metal level; too thin to pass the shell test at 3 mm, where
        # the disc's own partial-volume voxels (2300 HU) fill its shell
        hot = np.bincount(lab[rest & (raw >= t_metal)].ravel(), minlength=n)[1:]
        skin = np.bincount(lab[rest & morph.dilate_mm(outside, max(sp), sp)].ravel(), minlength=n)
        small = sizes * float(np.prod(sp)) <= params.skin_metal_max_mm3
        is_rim |= (hot > 0) & (skin[1:] > 0) & small
    if not (metal.any() or is_rim.any()):
        return None
    rim = np.concatenate([[False], is_rim])[lab]
    plab, psizes = morph.component_sizes(metal | rim)
    vox_ml = float(np.prod(sp)) / 1000.0
    pieces = []
    for q, box in enumerate(ndi.find_objects(plab)):
        if box is None:
            continue
        idx = np.argwhere(plab[box] == q + 1) + np.array([b.start for b in box])
        c = idx.mean(axis=0)
        pieces.append((float(psizes[q]) * vox_ml, (float(c[0]), float(c[1]), float(c[2]))))
    logger.debug(
        "metal %d pieces, %.2f mL; rim %d voxels taken out of the bone",
        len(pieces),
        float(metal.sum()) * vox_ml,
        int(rim.sum()),
    )
    return ForeignMetal(metal=metal, rim=rim, pieces=tuple(pieces))


def metal_warning(
    found: ForeignMetal, affine: np.ndarray, offset: tuple[int, int, int], outside: np.ndarray
) -> str | None:
    """One plan warning for the metal outside the cranial cavity, or None.

    Parameters
    ----------
    found : ForeignMetal
        Metal on a (cropped) grid.
    affine : ndarray (4, 4)
        Voxel-to-world affine of the full grid (mm).
    offset : length-3 tuple of int
        Index of the crop's first voxel in the full grid.
    outside : ndarray of bool
        Crop-grid mask of voxels outside the cranial cavity.
    """
    out = []
    for ml, c in found.pieces:
        i = tuple(int(round(v)) for v in c)
        if outside[i]:
            w = affine @ np.array([c[0] + offset[0], c[1] + offset[1], c[2] + offset[2], 1.0])
            out.append((ml, w[:3]))
    if not out:
        return None
    total = sum(m for m, _ in out)
    big = max(out, key=lambda t: t[0])
    x, y, z = (float(v) for v in big[1])
    return (
        f"metal outside the skull: {total:.2f} mL in {counted(len(out), 'piece')} (largest "
        f"{big[0]:.2f} mL at ({x:.0f}, {y:.0f}, {z:.0f}) mm): ports, electrodes, valves or "
        "clips; labelled soft tissue, not bone, with the bone-level rim around it, so bone "
        "models leave it out"
    )
