"""Synthetic craniopagus CT phantoms with exact ground truth.

``make_phantom(kind, size=96, seed=0, ...)`` returns a :class:`Phantom` (int16 CT in HU,
uint8 tissue labels 0..5, uint8 twin ownership 0/1 A/2 B, and a :class:`PhantomTruth`);
``write_phantom(phantom, out_dir)`` writes ``ct.nii.gz`` (or a DICOM ``ct/`` folder),
``labels.nii.gz``, ``twins.nii.gz`` and ``truth.json``.

Kinds (:data:`PHANTOM_KINDS`; details in :mod:`twinsep.phantom.kinds`):

* ``vertical-I`` (rotation 20 deg, circular sinus), ``vertical-I-sss`` (10 deg, shared
  superior sagittal sinus), ``vertical-II`` (165 deg, helical shared SSS),
  ``vertical-III`` (75 deg, circular sinus), ``vertical-III-sss`` (115 deg, shared SSS):
  total vertical craniopagus, O'Connell types I, II and III;
* ``vertical-partial``: partial vertical form, fused scalp and bone, separate sinuses;
* ``angular-frontal``, ``angular-parietal``, ``angular-occipital``: total angular forms
  (long axes at 100-110 deg) with a shared superior sagittal sinus;
* ``angular-frontal-partial``, ``angular-parietal-partial``,
  ``angular-occipital-partial``: partial angular forms with separate sinuses.

Every phantom has infant-sized heads (skull about 137 x 118 mm, scalp 4 mm, vault 2 mm
with open sutures and an anterior fontanelle, CSF layer, ventricles, dural sinuses), a
face and neck that give each head an orientation, an optional patient table (background
in the truth), contrast or plain blood, partial-volume edges, PSF blur and seeded noise.
The anatomy lives in world millimetres and is sampled on the requested grid, which may
be anisotropic or arbitrarily rotated/flipped (``affine=``).
"""

from __future__ import annotations

from twinsep.phantom.anatomy import HeadParams, analytic_brain_volume_mm3
from twinsep.phantom.ct import CtParams
from twinsep.phantom.kinds import PHANTOM_KINDS, KindSpec, kind_spec
from twinsep.phantom.make import Phantom, make_phantom
from twinsep.phantom.truth import PhantomTruth, TwinTruth
from twinsep.phantom.write import write_phantom

__all__ = [
    "PHANTOM_KINDS",
    "CtParams",
    "HeadParams",
    "KindSpec",
    "Phantom",
    "PhantomTruth",
    "TwinTruth",
    "analytic_brain_volume_mm3",
    "kind_spec",
    "make_phantom",
    "write_phantom",
]
