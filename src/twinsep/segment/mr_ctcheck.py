"""CT + MR: whether a cavity mixture whose lowest class overlaps the next is still CSF,
grey and white matter, judged with what the CT gives.

:func:`twinsep.segment.mr.fuse_mr` fits three classes to the registered T1 in the cranial
cavity and uses the lowest as the CSF. It is used at once when the lowest class is
clear of the next (:func:`twinsep.segment.mr_dark.dark_class_separated`, 2 of its
sigmas). A lowest class that is not clear is one of two things:

- **wrong**: the mixture spent two classes on one tissue and lumped the CSF with the
  grey matter (generated head ``c3f0 csf1.5``: 391 +- 168 / 636 / 643 - the two upper
  classes 7 apart are both white matter), or the cavity shows no CSF/brain contrast;
- **overlapping**: the lowest class is the CSF with its partial volume with the grey
  matter, wide because thin sulci and the brain's surface are mostly partial volume at
  1-1.5 mm (Colin27 real T1 registered to its CT: 64 +- 19 / 90 / 112, 1.2-1.3 of its
  sigmas below the grey matter).

Both questions are answered without a threshold (:func:`overlapping_fit_usable`):

1. the two upper classes are two tissues: their weighted densities together have two
   modes (:func:`upper_classes_resolved`; a mixture that spent two classes on one
   tissue has one: 636 +- 20 and 643 +- 18);
2. the lowest class is the CT's CSF: at the median registered MR value of the voxels
   the CT calls CSF the lowest class is the most probable of the three, and at the
   median of those it calls brain it is not (:func:`ct_confirms_classes`; an MR without
   cavity contrast, or whose lowest class is a darker-than-grey white matter, fails).
"""

from __future__ import annotations

import numpy as np

from twinsep import labels as L
from twinsep.segment.gmm import Mixture1D


def _weighted_density(mix: Mixture1D, k: int, x: np.ndarray) -> np.ndarray:
    """Weighted normal density of class ``k`` of ``mix`` at ``x`` (up to 1 / sqrt(2 pi))."""
    s = mix.sigmas[k]
    return mix.weights[k] / s * np.exp(-0.5 * ((x - mix.means[k]) / s) ** 2)


def upper_classes_resolved(mix: Mixture1D) -> bool:
    """Whether the two upper classes of a three-class ``mix`` form two modes: their
    summed weighted densities, sampled finely from 3 sigmas below the middle mean to 3
    above the top one, rise to a peak twice.

    Two classes of one tissue (near-equal means) or a wide class over a narrow one's
    flank make one peak.

    Parameters
    ----------
    mix : Mixture1D
        Three classes, means ascending.

    Returns
    -------
    bool
    """
    if len(mix.means) != 3:
        return False
    lo = mix.means[1] - 3.0 * mix.sigmas[1]
    hi = mix.means[2] + 3.0 * mix.sigmas[2]
    x = np.linspace(lo, hi, 4097)
    f = _weighted_density(mix, 1, x) + _weighted_density(mix, 2, x)
    step = np.diff(f)
    return int(np.sum((step[:-1] > 0) & (step[1:] <= 0))) >= 2


def _likeliest_class(mix: Mixture1D, value: float) -> int:
    x = np.asarray([value], dtype=np.float64)
    return int(np.argmax([_weighted_density(mix, k, x)[0] for k in range(len(mix.means))]))


def ct_confirms_classes(mix: Mixture1D, vals: np.ndarray, ct_labels: np.ndarray) -> bool:
    """Whether the CT's call agrees that the lowest class of ``mix`` is the CSF: the
    lowest class is the likeliest at the median of ``vals`` where ``ct_labels`` is CSF,
    and is not at their median where it is brain.

    Parameters
    ----------
    mix : Mixture1D
        The cavity's classes, means ascending.
    vals : ndarray of float
        Registered MR values of the cavity's voxels.
    ct_labels : ndarray of uint8
        The CT's labels of the same voxels.

    Returns
    -------
    bool
        False also when the CT calls no voxel CSF or none brain.
    """
    csf, brain = vals[ct_labels == L.CSF], vals[ct_labels == L.BRAIN]
    if csf.size == 0 or brain.size == 0:
        return False
    return (
        _likeliest_class(mix, float(np.median(csf))) == 0
        and _likeliest_class(mix, float(np.median(brain))) != 0
    )


def overlapping_fit_usable(mix: Mixture1D, vals: np.ndarray, ct_labels: np.ndarray) -> bool:
    """Whether a cavity mixture whose lowest class is not clear of the next is still CSF,
    grey and white matter (module docstring): two modes above, and the CT's CSF and
    brain on either side.

    Parameters
    ----------
    mix : Mixture1D
        Three classes of the registered MR's cavity values, means ascending.
    vals : ndarray of float
        Those values.
    ct_labels : ndarray of uint8
        The CT's labels of the same voxels.

    Returns
    -------
    bool
    """
    return upper_classes_resolved(mix) and ct_confirms_classes(mix, vals, ct_labels)
