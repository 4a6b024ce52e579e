"""Tissue segmentation (stage ``segment``): CT, MR, and CT+MR fusion into labels 0..5."""

from __future__ import annotations

from twinsep.segment.ct import ct_statistics, segment_ct, tissue_volumes_ml
from twinsep.segment.params import MRParams, SegmentParams
from twinsep.segment.result import TissueLabels

__all__ = [
    "MRParams",
    "SegmentParams",
    "TissueLabels",
    "ct_statistics",
    "segment_ct",
    "tissue_volumes_ml",
]
