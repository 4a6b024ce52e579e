"""Result type of the ``segment`` stage."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from twinsep.layout import Layout
from twinsep.volume import Volume


@dataclass(frozen=True)
class MetalSlices:
    """The CT's streaking metal by acquisition slice of the label grid: what later stages
    read of ``segment.metal.MetalStreaks`` without its voxel masks (two flags a slice,
    not two boolean volumes of 100 MB in the plan's cache on a 512x512x400 CT).

    Attributes
    ----------
    axis : int
        Voxel axis of the label grid across which the acquisition slices lie: the one
        nearest the world's head-foot axis, whose slices ``segment.metal`` searched.
    metal : ndarray of bool, shape (n,)
        ``metal[k]``: slice ``k`` along ``axis`` (the label grid's index) holds voxels of
        a piece of metal that streaks.
    streak : ndarray of bool, shape (n,)
        ``streak[k]``: slice ``k`` holds streak voxels (the metal's slices and their
        ``MetalParams.neighbour_slices`` where the streaks showed).
    metal_ml : float
        Volume of the streaking metal (mL).
    lines : int
        Number of streak lines found.
    unread : ndarray of bool, shape (n,), optional
        ``unread[k]``: slice ``k`` is one in which the brain/CSF split reads no CSF
        body of its own: every slice holding metal (streaking or not: ports, a valve,
        electrodes) and those within ``SegmentParams.csf_fit_metal_reach_mm``, which the
        deep-CSF test leaves out (``segment.ct._metal_slices``); a wide body there is
        seen only where it reaches the other slices. None when not given, and when an
        MR re-decided brain and CSF (``segment.mr.fuse_mr``): no slice is then said to
        be unread.
    """

    axis: int
    metal: np.ndarray
    streak: np.ndarray
    metal_ml: float
    lines: int
    unread: np.ndarray | None = None

    @property
    def planes(self) -> np.ndarray:
        """Slices holding the metal or its streaks (bool, shape (n,))."""
        out: np.ndarray = self.metal | self.streak
        return out

    def from_canonical(self, lay: Layout) -> MetalSlices:
        """These slices, found on the canonical layout (``twinsep.layout``), on the grid
        the canonical one was made from (its axis ``lay.axes[axis]``, reversed where
        that axis runs against the world)."""
        if lay.identity:
            return self
        flip = lay.flipped[self.axis]
        return replace(
            self,
            axis=int(lay.axes[self.axis]),
            metal=self.metal[::-1].copy() if flip else self.metal,
            streak=self.streak[::-1].copy() if flip else self.streak,
            unread=None
            if self.unread is None
            else (self.unread[::-1].copy() if flip else self.unread),
        )


@dataclass(frozen=True)
class TissueLabels:
    """Tissue label map and how it was made.

    Attributes
    ----------
    labels : Volume
        uint8 labels 0..5 (``twinsep.labels``) on the CT grid.
    contrast : bool
        True when the CT shows intravenous contrast (vessels/sinuses segmented).
    hu_thresholds : dict of str to float
        The thresholds actually used (HU for CT; MR units for an MR-only plan).
    warnings : tuple of str
        Assumptions and doubts, in plain words.
    modality : str
        ``"CT"``, ``"CT+MR"`` or ``"MR"``.
    registration_mi : float or None
        Final Mattes mutual information of the CT<->MR registration (positive,
        larger is better) when an MR was registered.
    registration : dict or None
        The CT<->MR registration as plan.json reports it
        (:func:`twinsep.segment.mr.registration_record`) when an MR was registered.
    tissue_ml : dict of str to float
        Volume of each tissue (mL) over the whole scan.
    metal : MetalSlices or None
        The slices holding streaking metal and its streaks (``segment.metal``); None
        without such metal, for an MR-only plan and for the user's map.
    source : {"computed", "user"}
        ``"user"`` when the labels are the user's edited segmentation
        (``--segmentation``, :mod:`twinsep.interop.edited`), read instead of computed.
    """

    labels: Volume
    contrast: bool
    hu_thresholds: dict[str, float]
    warnings: tuple[str, ...] = ()
    modality: str = "CT"
    registration_mi: float | None = None
    registration: dict[str, Any] | None = None
    tissue_ml: dict[str, float] = field(default_factory=dict)
    metal: MetalSlices | None = None
    source: str = "computed"
