"""Whether a fusion lies on the calvaria, read three ways: as segmented and with one
voxel layer of skin added to or taken from the twin.

Craniopagus joins the calvaria only; a union reaching the face, skull base or foramen
magnum is another kind of conjoined twin, outside twinsep's scope. The analysis reads
that as the fusion's *elevation*: the angle between a twin's long axis (neck to vertex)
and the direction from its brain centre to the bridge's centroid, against
``FusionParams.out_of_scope_deg`` (115). The long axis rests on the little tissue beyond
the skull (face, skull base, neck) or on the scan's cut, and a head with no neck can
lose or gain that evidence with one voxel layer of skin. The outside probe's union
``pa100-p30-lps-noneck`` (twin B's fusion 115.8 deg from its vertex by construction)
read, on its planned labels, twin B's axis *assumed* toward the junction (elevation 0 by
construction: planned) and, with segment.skin_edge's tie rule adding about one layer of
skin, 119 deg (refused); on its true labels 117.4 deg (refused) and, one layer taken
off, assumed again (planned): docs/orientation.md, "The out-of-scope refusal".

So near the limit the elevation is read three times (:func:`skin_layer`: as segmented,
one voxel layer of skin added, one taken off) and the fusion is refused only when all
three come from anatomy and lie more than the axis' own error
(``FusionParams.out_of_scope_doubt_deg``) beyond the limit (:func:`scope_verdict`);
where the readings straddle that band, or one voxel layer leaves the axis without
anatomy, the plan is made with a warning that names the readings and what to check
(:func:`scope_message`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage as ndi

Verdict = Literal["in", "doubtful", "out"]

#: The readings, in order: the labels as they are, one voxel layer of skin added, one
#: taken off.
READINGS: tuple[str, ...] = ("as segmented", "one voxel layer of skin added", "one taken off")

_FACES = ndi.generate_binary_structure(3, 1)


@dataclass(frozen=True)
class ScopeReading:
    """How far the fusion lies from one twin's vertex, read three ways.

    Attributes
    ----------
    twin : str
        ``"A"`` or ``"B"``.
    elevations_deg : tuple of (float or None)
        Elevation (deg) as segmented, with one voxel layer of skin added, with one taken
        off (:data:`READINGS`); None where the twin's long axis came from no anatomy (it
        was then assumed to point at the junction: the elevation is 0 by construction
        and measures nothing) or could not be found. Only the first is present when it
        lay more than ``FusionParams.out_of_scope_check_deg`` inside the limit.
    limit_deg : float
        ``FusionParams.out_of_scope_deg``.
    doubt_deg : float
        ``FusionParams.out_of_scope_doubt_deg``.
    check_deg : float
        ``FusionParams.out_of_scope_check_deg``.
    """

    twin: str
    elevations_deg: tuple[float | None, ...]
    limit_deg: float
    doubt_deg: float
    check_deg: float

    @property
    def verdict(self) -> Verdict:
        """:func:`scope_verdict` of the readings."""
        return scope_verdict(self.elevations_deg, self.limit_deg, self.doubt_deg, self.check_deg)

    def to_json(self) -> dict[str, object]:
        """JSON-ready readings (deg, 0.1; null where no anatomy gave the axis)."""
        return {
            "elevation_deg": [None if e is None else round(e, 1) for e in self.elevations_deg],
            "readings": list(READINGS[: len(self.elevations_deg)]),
            "verdict": self.verdict,
        }


def skin_layer(
    labels: np.ndarray, twins: np.ndarray, twin_value: int, *, add: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and twins with one voxel layer of skin added to or taken from one twin.

    Parameters
    ----------
    labels : ndarray of uint8, shape (I, J, K)
        Tissue labels 0..5 (DESIGN.md).
    twins : ndarray of uint8, shape (I, J, K)
        Twin ownership 0/1/2 on the same grid.
    twin_value : int
        1 (A) or 2 (B).
    add : bool
        True: every unowned voxel face-adjacent to the twin becomes its soft tissue
        (label 1); False: every voxel of the twin face-adjacent to an unowned one
        becomes background (label 0, twin 0). Voxels of the other twin are untouched.

    Returns
    -------
    (labels, twins) : two new ndarrays of the inputs' shapes and dtypes
        The inputs are not modified.
    """
    own = twins == twin_value
    free = twins == 0
    lab = labels.copy()
    tw = twins.copy()
    if add:
        layer = free & ndi.binary_dilation(own, _FACES)
        lab[layer] = 1
        tw[layer] = twin_value
    else:
        layer = own & ndi.binary_dilation(free, _FACES)
        lab[layer] = 0
        tw[layer] = 0
    return lab, tw


def scope_verdict(
    elevations_deg: tuple[float | None, ...],
    limit_deg: float,
    doubt_deg: float,
    check_deg: float,
) -> Verdict:
    """In scope, doubtful or out of scope, from a twin's elevation readings.

    Parameters
    ----------
    elevations_deg : tuple of (float or None)
        :attr:`ScopeReading.elevations_deg`.
    limit_deg : float
        The largest elevation (deg) of a calvarial union.
    doubt_deg : float
        The long axis' own error (deg), on top of the readings' spread.
    check_deg : float
        How far inside the limit (deg) a reading from anatomy still counts as near it
        when another reading found no anatomy.

    Returns
    -------
    str
        ``"out"`` when there are three readings, every one from anatomy and more than
        ``doubt_deg`` beyond ``limit_deg``; ``"doubtful"`` when the reading as segmented
        found no anatomy (the axis assumed: the elevation was not measured), or it is
        not out but some reading from anatomy lies beyond ``limit_deg - doubt_deg``, or
        when one voxel
        layer of skin leaves the axis without anatomy (a None reading) while a reading
        from anatomy lies within ``check_deg`` of the limit; ``"in"`` otherwise.
    """
    measured = [e for e in elevations_deg if e is not None]
    if elevations_deg[0] is None:
        return "doubtful"
    if (
        len(measured) == len(READINGS) == len(elevations_deg)
        and min(measured) > limit_deg + doubt_deg
    ):
        return "out"
    if any(e > limit_deg - doubt_deg for e in measured):
        return "doubtful"
    if len(measured) < len(elevations_deg) and any(e > limit_deg - check_deg for e in measured):
        return "doubtful"
    return "in"


def _reading_text(e: float | None) -> str:
    return "no anatomy (axis assumed)" if e is None else f"{e:.0f}°"


def scope_message(reading: ScopeReading) -> str:
    """The plain-words refusal (``"out"``) or warning (``"doubtful"``) for one twin.

    Parameters
    ----------
    reading : ScopeReading
        A reading whose verdict is not ``"in"``.

    Returns
    -------
    str
        The refusal names the elevation, its range over the three readings and the
        limit; the warning names the readings, says that twinsep does not plan a face or
        skull-base union and what to check on the images.
    """
    e = reading.elevations_deg
    k = reading.twin
    lim = reading.limit_deg
    if reading.verdict == "out":
        span = [x for x in e if x is not None]
        return (
            f"the fusion lies {e[0]:.0f}° from twin {k}'s vertex ({min(span):.0f}-"
            f"{max(span):.0f}° as segmented and with one voxel layer of skin added or "
            f"taken off; limit {lim:g}°, less than {reading.doubt_deg:g}° beyond it is "
            "planned with a warning): it involves the face or skull base, which is "
            "not craniopagus (e.g. cephalopagus) and is outside twinsep's scope"
        )
    others = "; ".join(f"{READINGS[i]}: {_reading_text(e[i])}" for i in range(1, len(e)))
    if e[0] is None:
        first = (
            f"twin {k}'s long axis was assumed toward the junction (no face, skull base or "
            f"neck found), so how far the fusion lies from its vertex was not measured "
            f"({others}; limit of a calvarial union {lim:g}°)"
        )
    else:
        first = (
            f"the fusion lies {e[0]:.0f}° from twin {k}'s vertex ({others}; limit of a "
            f"calvarial union {lim:g}°, the long axis' own error about {reading.doubt_deg:g}°)"
        )
    return (
        f"{first}: whether "
        f"the union reaches twin {k}'s face or skull base cannot be told from this scan's "
        "shape, so the plan was made. Craniopagus joins the calvaria only; a union "
        "involving the face, orbits, skull base or foramen magnum is another kind of "
        "conjoined twin, outside twinsep's scope, and this plan would not hold for it: "
        "check on the images that the union spares them before using the plan"
    )
