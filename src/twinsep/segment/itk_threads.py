"""SimpleITK steps run on one thread, so that their results repeat to the last digit.

ITK splits a metric's or a bias-field fit's sums over its threads; with two or more
threads the order of the additions changes from run to run, and so did the last digits
of a CT-to-MR registration (the Mattes mutual information in its 10th digit, the
transform in its 9th, measured on the 2.5 mm pair of ``tests/segment/test_mr_mirror.py``).
Such a difference can move a resampled voxel across a threshold, and it made two plans of
the same scans differ in ``plan.json``. On one thread the sums have one order: the same
scans give the same numbers on any machine, whatever its core count. The steps wrapped
are small (a registration on a shrunk copy, N4 on a shrunk copy): measured at 0.9-1.0 s
CPU on that pair either way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def single_threaded(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with SimpleITK's default number of threads set to one.

    The process-wide default is restored afterwards, also when ``func`` raises.

    Parameters
    ----------
    func : callable
        A function whose SimpleITK filters and registrations should run on one thread.

    Returns
    -------
    callable
        ``func``, wrapped.
    """

    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        import SimpleITK as sitk

        before = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
        try:
            return func(*args, **kwargs)
        finally:
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(before)

    return wrapped
