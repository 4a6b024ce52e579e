"""MR alone: the T1 level that parts the head's dark tissues (air, cortical bone, CSF)
from the bright ones (grey and white matter, skin, fat).

A three-class mixture of the head's values is fitted (``mr._fit_three``: initial means
at the 10th/50th/90th percentiles) and the level is the Bayes boundary between its
darkest and its heaviest class. A T1 head holds more than three tissues (air and bone,
CSF, marrow, skin, grey matter, white matter, fat), and on an unfamiliar one three classes
can lump them wrongly: on a generated head whose cortex is a uniform 3 mm shell (white
matter 82 % of the brain) the darkest class took air, bone, CSF, marrow, skin and grey
matter at once (mean 339, sigma 204), was the heaviest, and the level came out at -172:
no voxel was dark, no CSF was found, brain Dice 0.69, without a word. Without a fat
layer the level came out at 524, above the grey matter (470): the cortex was dark.

So the fit is checked before it is used (:func:`dark_class_separated`):

- the darkest class is one tissue, separated from the next class up: its mean plus
  ``MRParams.dark_class_sigmas`` (2) of its sigmas lies below the next class's mean
  (the collapsed fit: 339 + 408 against 640);
- the level lies between the darkest class's mean and the next class's: a level above
  the next class's mean calls most of that class dark, though the mixture says it is
  not the darkest class (without fat: 524 above the next class's 393).

When the three-class fit fails a check, mixtures of 4 up to ``MRParams.dark_max_classes``
classes are fitted (initial means at evenly spaced percentiles from the 10th to the
90th), the first whose darkest class passes the separation check is used, and the
level is where its darkest class stops being the most probable class (the first
crossing above its mean with any other class's weighted density): a voxel is dark when
the darkest class is its likeliest. (With more classes the heaviest class is no guide:
the tissues' weights split between classes and it changes from fit to fit.) When no
fit passes, that level is taken from the last fit and the plan says it is not trusted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from twinsep.segment.gmm import Mixture1D, fit_gmm_1d
from twinsep.segment.histogram import sample_values
from twinsep.segment.params import MRParams

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DarkLevel:
    """The head's dark/bright level and how it was read.

    Attributes
    ----------
    level : float
        T1 value: below it a voxel is dark (air, cortical bone, CSF).
    classes : int
        Classes of the mixture the level was read from (3: the usual fit).
    trusted : bool
        False when no mixture passed the checks of :func:`dark_class_separated`.
    means : tuple of float
        The means of that mixture's classes, darkest first.
    """

    level: float
    classes: int
    trusted: bool
    means: tuple[float, ...]


def fit_classes(
    vals: np.ndarray, k: int, params: MRParams, means: tuple[float, ...] | None = None
) -> Mixture1D:
    """A ``k``-class 1D mixture of MR values: initial means at ``k`` evenly spaced
    percentiles from the 10th to the 90th (or ``means``), initial sigmas the values'
    standard deviation / (``k`` + 1), fitted to a 512-bin histogram of up to 200 000
    values (seeded).

    For ``k`` = 3 this is the 10th/50th/90th percentiles and a quarter of the standard
    deviation (``mr._fit_three``).

    Parameters
    ----------
    vals : ndarray of float
        The values.
    k : int
        Number of classes.
    params : MRParams
        ``seed`` seeds the sampling.
    means : tuple of float, optional
        ``k`` initial means instead of the percentiles.

    Returns
    -------
    Mixture1D
    """
    rng = np.random.default_rng(params.seed)
    x = sample_values(vals.astype(np.float32), 200_000, rng)
    q = np.percentile(x, np.linspace(10.0, 90.0, k)) if means is None else np.asarray(means)
    counts, edges = np.histogram(x, bins=512)
    return fit_gmm_1d(
        0.5 * (edges[1:] + edges[:-1]),
        tuple(float(v) for v in q),
        init_sigma=float(np.std(x)) / (k + 1),
        weights=counts,
    )


def dark_class_separated(mix: Mixture1D, sigmas: float) -> bool:
    """Whether the darkest class of ``mix`` is separated from the next class up: its mean
    plus ``sigmas`` of its sigmas lies below the next class's mean.

    A class that spans several tissues is wide: the collapsed fit's darkest class (mean
    339, sigma 204) reaches past the next class's mean (640) within one and a half of
    its sigmas. Measured, (next mean - darkest mean) / darkest sigma of the three-class
    fits (docs/segmentation.md, "MR alone: a dark/bright level that does not collapse"):
    blind MR phantom rows 2.26-2.87 (the 1.2 x 1.2 x 3 mm row lowest), Colin27 6.4-6.5,
    the collapsed fits of generated heads 1.35-1.54 (one at 6 % noise 2.11, whose
    darkest class was also the heaviest).
    """
    if len(mix.means) < 2:
        return False
    return mix.means[0] + sigmas * mix.sigmas[0] < mix.means[1]


def darkest_region_end(mix: Mixture1D) -> float | None:
    """Where the darkest class of ``mix`` stops being the most probable class: the
    lowest value above its mean at which another class's weighted density crosses its
    own. None when another class is more probable at the darkest class's mean itself."""
    m0 = mix.means[0]

    def log_density(j: int, x: float) -> float:
        m, s, w = mix.means[j], mix.sigmas[j], mix.weights[j]
        return float(np.log(w) - np.log(s) - 0.5 * ((x - m) / s) ** 2)

    at_mean = log_density(0, m0)
    if any(log_density(j, m0) > at_mean for j in range(1, len(mix.means))):
        return None
    above = [c for j in range(1, len(mix.means)) for c in mix.crossings(0, j) if c > m0]
    if not above:
        return None
    return float(min(above))


def dark_bright_level(vals: np.ndarray, params: MRParams) -> DarkLevel:
    """The T1 level between the head's dark tissues and its bright ones (see the module
    docstring): the three-class mixture's boundary between its darkest and heaviest
    class when the fit passes the checks, else the end of the darkest class's region in
    the first mixture of 4 to ``params.dark_max_classes`` classes whose darkest class is
    separated.

    Parameters
    ----------
    vals : ndarray of float
        Smoothed, bias-corrected T1 values of the head (the body).
    params : MRParams

    Returns
    -------
    DarkLevel
    """
    mix = fit_classes(vals, 3, params)
    ib = int(np.argmax(mix.weights))
    if ib > 0:
        level = mix.boundary(0, ib)
        if dark_class_separated(mix, params.dark_class_sigmas) and (
            mix.means[0] < level < mix.means[1]
        ):
            return DarkLevel(level, 3, True, mix.means)
    logger.debug(
        "MR alone dark/bright: three classes %s (sigmas %s, weights %s) fail the checks",
        np.round(mix.means, 1),
        np.round(mix.sigmas, 1),
        np.round(mix.weights, 3),
    )
    fallback: DarkLevel | None = None
    for k in range(4, max(params.dark_max_classes, 3) + 1):
        more = fit_classes(vals, k, params)
        end = darkest_region_end(more)
        if end is None:
            continue
        found = DarkLevel(end, k, dark_class_separated(more, params.dark_class_sigmas), more.means)
        logger.debug(
            "MR alone dark/bright: %d classes %s, level %.1f, separated %s",
            k,
            np.round(more.means, 1),
            end,
            found.trusted,
        )
        if found.trusted:
            return found
        fallback = found
    if fallback is not None:
        return fallback
    # nothing else: the three-class rule as it stood, not trusted
    level = mix.boundary(0, ib) if ib > 0 else float(mix.means[0] - 2.5 * mix.sigmas[0])
    return DarkLevel(level, 3, False, mix.means)
