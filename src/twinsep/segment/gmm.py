"""One-dimensional Gaussian mixture fitted by expectation-maximisation (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mixture1D:
    """A fitted 1D Gaussian mixture, components sorted by mean.

    Attributes
    ----------
    means, sigmas, weights : tuple of float
        Per component; weights sum to 1.
    log_likelihood : float
        Mean log-likelihood per sample at the end of the fit.
    iterations : int
        EM iterations run.
    """

    means: tuple[float, ...]
    sigmas: tuple[float, ...]
    weights: tuple[float, ...]
    log_likelihood: float
    iterations: int

    def _equal_density(self, i: int, j: int) -> tuple[float, float, float]:
        """Coefficients of ``a x^2 + b x + c = 0``, the values ``x`` where the weighted
        densities of components ``i`` and ``j`` are equal:
        log(w1 N(x; m1, s1)) = log(w2 N(x; m2, s2))."""
        m1, m2 = self.means[i], self.means[j]
        s1, s2 = self.sigmas[i], self.sigmas[j]
        w1, w2 = self.weights[i], self.weights[j]
        a = 1 / (2 * s2**2) - 1 / (2 * s1**2)
        b = m1 / s1**2 - m2 / s2**2
        c = (m2**2 / (2 * s2**2) - m1**2 / (2 * s1**2)) + np.log((w1 * s2) / (w2 * s1))
        return a, b, c  # numpy floats: a zero b divides to inf, as before

    def boundary(self, i: int, j: int) -> float:
        """Value between the means of components ``i`` < ``j`` where their weighted
        densities are equal (the Bayes decision threshold)."""
        m1, m2 = self.means[i], self.means[j]
        a, b, c = self._equal_density(i, j)
        if abs(a) < 1e-12:
            x = -c / b
            return float(np.clip(x, m1, m2))
        disc = b * b - 4 * a * c
        if disc < 0:
            return float(0.5 * (m1 + m2))
        roots = [(-b + s * np.sqrt(disc)) / (2 * a) for s in (1.0, -1.0)]
        inside = [r for r in roots if m1 <= r <= m2]
        if inside:
            return float(inside[0])
        return float(0.5 * (m1 + m2))

    def crossings(self, i: int, j: int) -> tuple[float, ...]:
        """All values (sorted) where the weighted densities of components ``i`` and ``j``
        are equal: zero, one or two points.

        Unlike :meth:`boundary`, crossings outside ``[means[i], means[j]]`` are kept:
        a small, wide class wins only in its far tails.
        """
        a, b, c = self._equal_density(i, j)
        if abs(a) < 1e-12:
            return (float(-c / b),) if abs(b) > 1e-12 else ()
        disc = b * b - 4 * a * c
        if disc < 0:
            return ()
        r = sorted(float((-b + sg * np.sqrt(disc)) / (2 * a)) for sg in (1.0, -1.0))
        return tuple(r)


def fit_gmm_1d(
    x: np.ndarray,
    init_means: tuple[float, ...],
    *,
    init_sigma: float,
    max_iter: int = 200,
    tol: float = 1e-6,
    min_sigma: float = 1e-3,
    weights: np.ndarray | None = None,
) -> Mixture1D:
    """Fit a 1D Gaussian mixture by EM.

    Parameters
    ----------
    x : (N,) ndarray
        Samples.
    init_means : tuple of float
        Starting means, one per component.
    init_sigma : float
        Starting sigma of every component (same unit as ``x``).
    max_iter : int
        Maximum EM iterations.
    tol : float
        Stop when the mean log-likelihood improves by less than this.
    min_sigma : float
        Floor on each sigma (avoids collapse onto one value).
    weights : (N,) ndarray, optional
        Count of each sample: pass histogram bin centres as ``x`` and bin counts here
        to fit millions of voxels in the time of a few hundred samples.

    Returns
    -------
    Mixture1D
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    cw = np.ones_like(xs) if weights is None else np.asarray(weights, np.float64).ravel()
    total = float(cw.sum())
    if total < 10 * len(init_means):
        raise ValueError(f"too few samples ({total:.0f}) for a {len(init_means)}-class mixture")
    k = len(init_means)
    mu = np.array(init_means, float)
    sd = np.full(k, max(init_sigma, min_sigma))
    w = np.full(k, 1.0 / k)
    prev = -np.inf
    ll = prev
    it = 0
    for _it in range(1, max_iter + 1):
        it = _it
        logp = (
            np.log(np.maximum(w, 1e-300))[None, :]
            - 0.5 * ((xs[:, None] - mu[None, :]) / sd[None, :]) ** 2
            - np.log(sd)[None, :]
            - 0.5 * np.log(2 * np.pi)
        )
        mx = logp.max(axis=1, keepdims=True)
        lse = mx[:, 0] + np.log(np.exp(logp - mx).sum(axis=1))
        ll = float((cw * lse).sum() / total)
        r = np.exp(logp - lse[:, None]) * cw[:, None]
        nk = r.sum(axis=0) + 1e-12
        w = nk / total
        mu = (r * xs[:, None]).sum(axis=0) / nk
        sd = np.sqrt((r * (xs[:, None] - mu[None, :]) ** 2).sum(axis=0) / nk)
        sd = np.maximum(sd, min_sigma)
        if ll - prev < tol:
            break
        prev = ll
    order = np.argsort(mu)
    return Mixture1D(
        means=tuple(float(v) for v in mu[order]),
        sigmas=tuple(float(v) for v in sd[order]),
        weights=tuple(float(v) for v in w[order]),
        log_likelihood=ll,
        iterations=it,
    )
