"""CT + MR: whether the MR given with ``--mr`` shows CSF darker than brain, as a T1 does.

:func:`twinsep.segment.mr.fuse_mr` re-decides brain vs CSF from the lowest class of a
three-class mixture of the registered MR in the cranial cavity (CSF dark, grey, white
matter), and takes bright tube-shaped pieces as venous sinuses. Both readings assume a
T1-weighted MR (or a T1 venogram). A T2-weighted MR (CSF the brightest tissue in the
cavity) registers as well as a T1 (mutual information does not care which tissue is
bright), but then its lowest class is white or grey matter: on the blind MR phantom's
T2 (MRG, session 31) 65.8 % of the cavity was re-labelled, brain Dice 0.957 -> 0.386,
CSF 0.797 -> 0.005, 139 mL of "ventricular CSF" per twin called hydrocephalus, and
bright CSF taken as sinuses - with exit 0.

The CT itself tells which way round the MR is: the registered MR's median over the
voxels the CT calls CSF against its median over those the CT calls brain
(:func:`cavity_contrast`). No threshold: a T1 (and a FLAIR) reads the CT's CSF darker
than its brain, a T2 or proton-density MR reads it brighter or equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from twinsep import labels as L


@dataclass(frozen=True)
class CavityContrast:
    """The registered MR's medians over the CT's CSF and brain voxels.

    Attributes
    ----------
    csf_median : float
        Median MR value where the CT calls CSF.
    brain_median : float
        Median MR value where the CT calls brain.
    csf_voxels, brain_voxels : int
        How many voxels each median is taken over.
    """

    csf_median: float
    brain_median: float
    csf_voxels: int
    brain_voxels: int

    @property
    def csf_not_dark(self) -> bool:
        """Whether the CT's CSF reads no darker than its brain on the MR (not a T1)."""
        return self.csf_median >= self.brain_median

    def as_record(self) -> dict[str, Any]:
        """plan.json's ``segmentation.registration.cavity_contrast``."""
        return {
            "csf_median": round(self.csf_median, 2),
            "brain_median": round(self.brain_median, 2),
            "csf_voxels": self.csf_voxels,
            "brain_voxels": self.brain_voxels,
            "csf_darker_than_brain": not self.csf_not_dark,
        }


def cavity_contrast(
    vals: np.ndarray, ct_labels: np.ndarray, min_voxels: int = 100
) -> CavityContrast | None:
    """The registered MR's medians over the CT's CSF and brain in the cavity.

    Parameters
    ----------
    vals : ndarray of float
        Registered MR values of the cavity's voxels (inside the MR's field of view).
    ct_labels : ndarray of uint8
        The CT's labels of the same voxels.
    min_voxels : int
        Fewer CT CSF or brain voxels than this give no answer.

    Returns
    -------
    CavityContrast or None
        None when the CT calls too few voxels CSF or brain to compare.
    """
    csf, brain = vals[ct_labels == L.CSF], vals[ct_labels == L.BRAIN]
    if csf.size < min_voxels or brain.size < min_voxels:
        return None
    return CavityContrast(
        csf_median=float(np.median(csf)),
        brain_median=float(np.median(brain)),
        csf_voxels=int(csf.size),
        brain_voxels=int(brain.size),
    )


def csf_not_dark_warning(contrast: CavityContrast) -> str:
    """The plan's warning when the MR's CSF is not darker than its brain: the MR was not
    used for brain, CSF or sinuses."""
    return (
        "the MR is not T1-weighted: where the CT calls CSF it reads "
        f"{contrast.csf_median:.0f} (median), where the CT calls brain "
        f"{contrast.brain_median:.0f}, so its CSF is not darker than brain (a T2 or "
        "proton-density MR?); brain, CSF and sinuses are the CT's, the MR was not used for "
        "them (give a T1 or a T1 venogram with --mr)"
    )
