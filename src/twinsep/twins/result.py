"""Result type of the ``twins`` stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twinsep.volume import Volume

if TYPE_CHECKING:
    from twinsep.segment.implants import ExistingExpander
    from twinsep.twins.body import HeadBody


@dataclass(frozen=True)
class TwinAssignment:
    """Owner of every tissue voxel.

    Attributes
    ----------
    twins : Volume
        uint8, 0 background, 1 twin A, 2 twin B (same grid as the labels).
    a_centroid_mm, b_centroid_mm : (x, y, z)
        World centroids (RAS mm) of each twin's tissue.
    tissue_ml : dict
        ``{"A": {"soft_tissue": mL, ...}, "B": {...}}``.
    volume_ml : dict
        ``{"A": mL, "B": mL}``: all tissue of each twin.
    rule : str
        How A was chosen, in words (default rule or ``--twin-a`` override).
    warnings : tuple of str
        Doubts found while assigning.
    heads : dict
        ``{"A": HeadBody, "B": HeadBody}`` (:mod:`twinsep.twins.body`): each twin's head
        and neck apart from its body below the shoulders when the scan holds it.
    expanders : tuple of ExistingExpander
        Scalp tissue expanders already in the CT (:mod:`twinsep.segment.implants`,
        found by the ``twins`` stage); their saline stays soft tissue in the labels
        and in ``tissue_ml`` here, and is left out of ``plan.json``'s volumes.
    given : Volume or None
        The user's twin map (``--segmentation``), whose boundary the ``separate`` stage
        keeps as the cut instead of computing one; ``twins`` is then the automatic
        assignment of the user's tissues with A and B named as in it
        (:func:`twinsep.twins.assign.agree_with`). None without one.
    """

    twins: Volume
    a_centroid_mm: tuple[float, float, float]
    b_centroid_mm: tuple[float, float, float]
    tissue_ml: dict[str, dict[str, float]]
    rule: str
    volume_ml: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    expanders: tuple[ExistingExpander, ...] = ()
    heads: dict[str, HeadBody] = field(default_factory=dict)
    given: Volume | None = None
