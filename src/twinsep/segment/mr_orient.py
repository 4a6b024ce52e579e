"""Which turn or mirror of an MR's voxel axes fits the CT? (a wrong header's orientation)

A hand-made or badly converted MR header can swap two voxel axes or reverse one: the
image then sits turned by a multiple of 90 deg, or mirrored, in the world its header
gives. A rigid registration started from the header's pose does not reach a turn of 90
or 180 deg (it stops in a poor optimum), and no rigid transform undoes a mirror.

When the MR's first fit fails, each of the 48 signed permutations of its voxel axes
(the 24 turns, and the 24 turns of its mirror image along voxel axis 0, which are the
24 mirrors) is put on the CT as a start: the MR's centre of mass on the CT's, the
axes permuted. The Mattes mutual information at each start ranks them; the best
``params.orientation_refine`` of the turns and of the mirrors, and the MR as given, are
then registered rigidly from their start on the coarse copies of
:func:`twinsep.segment.mr_mirror.coarse_images`, as the mirror screen does, and ranked by
their final mutual information.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinsep.segment.itk_threads import single_threaded
from twinsep.segment.mr_mirror import _metric_method, _mirrored, coarse_fit, coarse_images
from twinsep.segment.params import MRParams

logger = logging.getLogger(__name__)

#: LPS <-> RAS (SimpleITK's world is LPS; twinsep's is RAS)
_FLIP = np.diag([-1.0, -1.0, 1.0])
_AXIS_WORDS = ("left-right", "front-back", "head-foot")


def signed_permutations(*, proper: bool) -> list[np.ndarray]:
    """The 24 rotations (``proper``) or the 24 improper maps among the 3x3 signed
    permutation matrices, identity first."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            m = np.zeros((3, 3))
            for row, (col, sign) in enumerate(zip(perm, signs, strict=True)):
                m[row, col] = sign
            if (np.linalg.det(m) > 0) == proper:
                out.append(m)
    return out


def turn_angle_deg(rotation: np.ndarray) -> float:
    """Angle (deg) of a 3x3 rotation matrix."""
    cos = float(np.clip((np.trace(rotation) - 1.0) / 2.0, -1.0, 1.0))
    return float(np.degrees(np.arccos(cos)))


def turn_axis(rotation: np.ndarray) -> np.ndarray:
    """Unit axis of a 3x3 rotation matrix (any unit vector for the identity)."""
    w, v = np.linalg.eig(rotation)
    i = int(np.argmin(np.abs(w - 1.0)))
    axis = np.real(v[:, i])
    return np.asarray(axis / max(float(np.linalg.norm(axis)), 1e-12))


@dataclass(frozen=True)
class Orientation:
    """One start of the search: a signed permutation of the MR's voxel axes.

    Attributes
    ----------
    voxel_map : tuple of 3 tuples of 3 floats
        The signed permutation (rows i, j, k), in the MR's voxel frame: the identity is
        the MR as given; determinant -1 is a mirror image.
    start_mi : float
        Mattes mutual information at the start (centres of mass on each other).
    mattes_mi : float or None
        After the coarse rigid registration from that start (None: not refined).
    ct_from_mr_ras : (4, 4) ndarray or None
        For a turn that was refined: the start's rigid map from the MR's world (RAS mm,
        as its header gives it) to where its voxels land on the CT (the turn about the
        centres of mass, no refinement). None for mirrors and unrefined starts.
    """

    voxel_map: tuple[tuple[float, ...], ...]
    start_mi: float
    mattes_mi: float | None = None
    ct_from_mr_ras: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        """``voxel_map`` as a 3x3 array."""
        return np.asarray(self.voxel_map, dtype=float)

    @property
    def mirrored(self) -> bool:
        """True for a mirror image (determinant -1)."""
        return bool(np.linalg.det(self.matrix) < 0)

    @property
    def as_given(self) -> bool:
        """True for the identity (the MR as its header places it)."""
        return bool(np.allclose(self.matrix, np.eye(3)))

    def describe(self, affine: np.ndarray) -> str:
        """The map in words, naming the MR's voxel axes by the world direction they run
        closest to (``affine``: the MR's voxel -> world matrix).

        A turn: 'turned by 90 deg about its voxel axis 2 (head-foot)'; a mirror: 'its
        mirror image along voxel axis 0 (left-right)', with the turn that follows it if
        any (the mirror axis chosen so that the turn is the smallest).
        """
        m = self.matrix
        if not self.mirrored:
            return _turn_words(m, affine)
        best: tuple[float, int, np.ndarray] | None = None
        for axis in range(3):
            flip = np.eye(3)
            flip[axis, axis] = -1.0
            rest = m @ flip  # m = rest @ flip: flip along `axis`, then turn by `rest`
            ang = turn_angle_deg(rest)
            if best is None or ang < best[0] - 1e-6:
                best = (ang, axis, rest)
        assert best is not None
        ang, axis, rest = best
        words = f"its mirror image along voxel axis {axis} ({_voxel_axis_words(affine, axis)})"
        if ang > 1.0:
            words += ", " + _turn_words(rest, affine)
        return words


def _voxel_axis_words(affine: np.ndarray, axis: int) -> str:
    d = np.asarray(affine)[:3, axis]
    return _AXIS_WORDS[int(np.argmax(np.abs(d)))]


def _turn_words(rotation: np.ndarray, affine: np.ndarray) -> str:
    ang = turn_angle_deg(rotation)
    if ang < 1.0:
        return "as given"
    ax = turn_axis(rotation)
    parts = [i for i in range(3) if abs(ax[i]) > 1e-6]
    if len(parts) == 1:
        i = parts[0]
        return f"turned by {ang:.0f}° about its voxel axis {i} ({_voxel_axis_words(affine, i)})"
    where = ", ".join(f"{ax[i]:+.2f} x axis {i}" for i in parts)
    return f"turned by {ang:.0f}° about an oblique voxel axis ({where})"


@dataclass(frozen=True)
class OrientationSearch:
    """The refined starts of the search, best first.

    Attributes
    ----------
    ranked : tuple of Orientation
        The refined starts (``mattes_mi`` set), by decreasing ``mattes_mi``; the MR as
        given is always among them.
    tried : int
        Starts evaluated (48).
    voxel_mm : tuple of 3 floats
        Voxel size of the coarse CT copy, mm.
    """

    ranked: tuple[Orientation, ...]
    tried: int
    voxel_mm: tuple[float, float, float]

    @property
    def best(self) -> Orientation:
        """The best refined start."""
        return self.ranked[0]

    @property
    def as_given(self) -> Orientation:
        """The MR as given, refined like the others."""
        return next(o for o in self.ranked if o.as_given)

    def margin_mi(self) -> float:
        """The best start's mutual information minus the runner-up's (the second best
        refined start of any kind)."""
        if len(self.ranked) < 2:
            return float("inf")
        return float(self.ranked[0].mattes_mi or 0.0) - float(self.ranked[1].mattes_mi or 0.0)

    def as_record(self) -> dict[str, Any]:
        """What plan.json reports (``segmentation.registration.orientation_search``)."""
        return {
            "tried": self.tried,
            "voxel_mm": [round(float(v), 3) for v in self.voxel_mm],
            "ranked": [
                {
                    "voxel_map": [[int(round(v)) for v in row] for row in o.voxel_map],
                    "mirrored": o.mirrored,
                    "mattes_mi": round(float(o.mattes_mi or 0.0), 4),
                }
                for o in self.ranked
            ],
        }


@single_threaded
def search_orientations(fixed: Any, moving: Any, params: MRParams) -> OrientationSearch:
    """Rank the 48 signed permutations of ``moving``'s voxel axes by their fit to ``fixed``.

    Parameters
    ----------
    fixed : SimpleITK.Image
        The CT as the registration saw it (windowed, float).
    moving : SimpleITK.Image
        The MR (float).
    params : MRParams
        ``orientation_refine`` (starts refined per kind: turns, mirrors), the coarse
        copies' ``mirror_voxel_mm`` and ``mirror_iterations``, the metric's settings.

    Returns
    -------
    OrientationSearch
    """
    import SimpleITK as sitk

    fixed_s, moving_s, voxel_mm = coarse_images(fixed, moving, params)
    direction = np.asarray(moving_s.GetDirection(), dtype=float).reshape(3, 3)  # LPS
    starts: list[tuple[Orientation, Any, Any]] = []
    for mirrored in (False, True):
        image = _mirrored(moving_s, 0) if mirrored else moving_s
        centred = sitk.CenteredTransformInitializer(
            fixed_s, image, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS
        )
        flip0 = np.diag([-1.0, 1.0, 1.0]) if mirrored else np.eye(3)
        for turn in signed_permutations(proper=True):
            tx = sitk.Euler3DTransform(centred)
            # the transform maps CT points onto MR points: the MR's voxel axes turned by
            # `turn`, written in the world (LPS) through the MR's direction cosines
            tx.SetMatrix(tuple(float(v) for v in (direction @ turn @ direction.T).ravel()))
            metric = _metric_method(params)
            metric.SetInitialTransform(tx, inPlace=False)
            try:
                start = -float(metric.MetricEvaluate(fixed_s, image))
            except RuntimeError:
                start = 0.0
            vmap = turn.T @ flip0  # content map in the voxel frame (inverse of the pull)
            o = Orientation(tuple(tuple(float(v) for v in row) for row in vmap), start)
            starts.append((o, image, tx))
    chosen: list[tuple[Orientation, Any, Any]] = []
    for mirrored in (False, True):
        kind = sorted(
            (s for s in starts if s[0].mirrored == mirrored), key=lambda s: -s[0].start_mi
        )
        chosen.extend(kind[: max(1, params.orientation_refine)])
    if not any(s[0].as_given for s in chosen):
        chosen.append(next(s for s in starts if s[0].as_given))
    ranked = []
    for o, image, tx in chosen:
        mi, _ = coarse_fit(fixed_s, image, tx, params)
        ras = None if o.mirrored else _ct_from_mr_ras(tx)
        ranked.append(Orientation(o.voxel_map, o.start_mi, mi, ras))
    ranked.sort(key=lambda o: -float(o.mattes_mi or 0.0))
    search = OrientationSearch(tuple(ranked), len(starts), voxel_mm)
    logger.debug(
        "MR orientation search: %s",
        [(o.voxel_map, round(float(o.mattes_mi or 0.0), 3)) for o in ranked],
    )
    return search


def _ct_from_mr_ras(tx: Any) -> np.ndarray:
    """4x4 (RAS) inverse of the rigid SimpleITK transform ``tx`` (CT LPS -> MR LPS)."""
    r = np.asarray(tx.GetMatrix(), dtype=float).reshape(3, 3)
    c = np.asarray(tx.GetCenter(), dtype=float)
    t = np.asarray(tx.GetTranslation(), dtype=float)
    fwd = np.eye(4)
    fwd[:3, :3] = r
    fwd[:3, 3] = c + t - r @ c  # x -> r (x - c) + c + t
    flip = np.eye(4)
    flip[:3, :3] = _FLIP
    return np.asarray(np.linalg.inv(flip @ fwd @ flip))
