"""Result type of the ``segment`` stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twinsep.volume import Volume


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
    """

    labels: Volume
    contrast: bool
    hu_thresholds: dict[str, float]
    warnings: tuple[str, ...] = ()
    modality: str = "CT"
    registration_mi: float | None = None
    registration: dict[str, Any] | None = None
    tissue_ml: dict[str, float] = field(default_factory=dict)
