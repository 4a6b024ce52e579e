"""MR: rigid CT<->MR registration (Mattes mutual information) and T1 segmentation.

*Fusion* (``twinsep plan CT --mr MR``): the MR is registered rigidly to the CT with
SimpleITK (Mattes mutual information, regular-step gradient descent, three resolution
levels, seeded sampling). The final metric is reported; below ``registration_min_mi`` the
plan stops with an :class:`InputError` instead of fusing misaligned images. Inside the
CT's cranial cavity, brain and CSF are then re-decided from the resampled T1 (CSF is
dark on T1) by a two-class mixture; bone stays from the CT.

*MR alone* (T1): the head is the foreground (midway between the background and tissue
peaks) with what its 2D sections enclose (the dark skull band, open to the air where
the scan ends inside the grid); the cranial cavity is the region enclosed by the dark
skull band, found as the deepest bright region (bright: above the boundary between the darkest and the heaviest
class of a three-class mixture, so grey matter counts as bright; the fit is checked and
more classes are used when it lumps tissues, ``segment.mr_dark``); inside it brain vs CSF; the dark band between cavity
and scalp is skull (approximate: T1 cannot see bone, a warning says so).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L
from twinsep.errors import InputError, ScanError
from twinsep.segment import morph
from twinsep.segment.ct import NO_CONTRAST_WARNING, tissue_volumes_ml
from twinsep.segment.gmm import Mixture1D, fit_gmm_1d
from twinsep.segment.histogram import sample_values
from twinsep.segment.itk_threads import single_threaded
from twinsep.segment.mr_contrast import infant_contrast_warning
from twinsep.segment.mr_ctcheck import overlapping_fit_usable
from twinsep.segment.mr_dark import (
    DarkLevel,
    dark_bright_level,
    dark_class_separated,
    fit_classes,
)
from twinsep.segment.mr_layer import csf_layer_cavity
from twinsep.segment.mr_mirror import MirrorCheck, screen_mirrors
from twinsep.segment.mr_orient import Orientation, OrientationSearch, search_orientations
from twinsep.segment.mr_skull import scalp_edge
from twinsep.segment.mr_weighting import cavity_contrast, csf_not_dark_warning
from twinsep.segment.params import MRParams, SegmentParams
from twinsep.segment.result import TissueLabels
from twinsep.volume import LPS_TO_RAS, Volume

logger = logging.getLogger(__name__)


class MRFitError(InputError):
    """The MR does not fit the CT (exit 2). ``measured`` says what failed, in a few words
    with the metric, for a refusal that goes on to say what else was tried."""

    def __init__(self, source: str | None, reason: str, measured: str) -> None:
        self.measured = measured
        super().__init__(source, reason)


def _to_sitk(vol: Volume) -> Any:
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(
        np.ascontiguousarray(vol.array.transpose(2, 1, 0), dtype=np.float32)
    )
    lps = LPS_TO_RAS @ vol.affine  # RAS -> LPS world
    sp = np.asarray(vol.spacing_mm)
    img.SetSpacing(tuple(float(s) for s in sp))
    img.SetOrigin(tuple(float(v) for v in lps[:3, 3]))
    img.SetDirection(tuple(float(v) for v in (lps[:3, :3] / sp).ravel()))
    return img


def head_mask(mr: Volume, smooth_sigma_mm: float = 1.0) -> np.ndarray:
    """The head(s) of an MR: voxels above half the air/tissue (Otsu) level of the
    smoothed image, the two largest components, holes filled."""
    a = mr.array.astype(np.float32)
    sm = ndi.gaussian_filter(a, [smooth_sigma_mm / s for s in mr.spacing_mm], mode="nearest")
    x = sample_values(sm, 200_000, np.random.default_rng(0))
    fg = sm > 0.5 * _otsu(x)
    return morph.fill_holes(morph.largest_components(fg, k=2))


#: Fewest shrunk voxels along any axis for an N4 fit: fewer (a 3-slice MR) made ITK
#: raise (BinShrink "InputImage is too small", N4 "zero-valued spacing") - exit 1.
_N4_MIN_VOXELS = 4


@single_threaded
def correct_bias_field(
    mr: Volume, head: np.ndarray, params: MRParams = MRParams()
) -> tuple[Volume, float]:
    """Divide ``mr`` by its N4 bias field (Tustison et al. 2010, SimpleITK).

    The field is estimated on a copy shrunk (block mean, whole factors) to voxels of at
    least ``params.n4_voxel_mm``, inside ``head``, and evaluated at full resolution; it is scaled to a geometric
    mean of 1 over the head, so intensities keep their scale.

    Parameters
    ----------
    mr : Volume
        The MR, any intensity unit.
    head : ndarray of bool
        Voxels the field is fitted on (the head; air carries no field information).
    params : MRParams

    Returns
    -------
    Volume
        The corrected MR (float32, same grid).
    float
        Spread of the field over the head: 95th / 5th percentile (1.0 = none).
    """
    import SimpleITK as sitk

    if params.n4_voxel_mm <= 0 or int(head.sum()) < 1000:
        return mr, 1.0
    a = mr.array.astype(np.float32)
    floor = 1e-3 * float(np.percentile(a[head], 99))
    pos = np.maximum(a, max(floor, 1e-6))
    sp = tuple(float(s) for s in mr.spacing_mm)
    img = sitk.GetImageFromArray(np.ascontiguousarray(pos.transpose(2, 1, 0)))
    img.SetSpacing(sp)
    msk = sitk.GetImageFromArray(np.ascontiguousarray(head.astype(np.float32).transpose(2, 1, 0)))
    msk.CopyInformation(img)
    factors = [max(1, int(np.ceil(params.n4_voxel_mm / s - 1e-6))) for s in sp]
    if min(n // f for n, f in zip(a.shape, factors, strict=True)) < _N4_MIN_VOXELS:
        return mr, 1.0  # a slab a few voxels thick (no head): no field can be fitted
    small = sitk.BinShrink(img, factors)
    small_mask = sitk.Cast(sitk.BinShrink(msk, factors) > 0.5, sitk.sitkUInt8)
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations([int(i) for i in params.n4_iterations])
    n4.SetNumberOfControlPoints([int(params.n4_control_points)] * 3)
    n4.Execute(small, small_mask)
    log_field = sitk.GetArrayFromImage(n4.GetLogBiasFieldAsImage(img)).transpose(2, 1, 0)
    log_field = log_field - float(np.mean(log_field[head]))
    q = np.percentile(log_field[head], [5, 95])
    spread = float(np.exp(q[1] - q[0]))
    out = (a * np.exp(-log_field)).astype(np.float32)
    logger.debug("MR bias field (N4, shrink %s): spread %.3f", factors, spread)
    return mr.with_array(np.ascontiguousarray(out)), spread


def register_mr_to_ct(
    ct: Volume, mr: Volume, params: MRParams = MRParams()
) -> tuple[Volume, float]:
    """Rigidly register ``mr`` to ``ct``; return the MR resampled on the CT grid and the
    final Mattes mutual information (positive, larger = better).

    The MR is registered as its header places it. When one of its mirror images fits
    the CT better, the turns and mirror images of its voxel axes are searched as
    :func:`fuse_mr` does (:func:`twinsep.segment.mr_orient.search_orientations`), so
    that the refusal says what the header's error is: a mirror, a turn (which
    :func:`fuse_mr`, i.e. ``twinsep plan --mr``, uses turned; this function does not
    turn an MR), or one that cannot be told.

    Raises
    ------
    InputError
        If the registration fails or ends below ``params.registration_min_mi``, or the
        MR's header turns or mirrors it.
    """
    try:
        reg, mi, _, _, check = _register(ct, mr, params)
        mirrored = _mirror_error(str(mr.meta.get("source", "MR")), mr, check, params)
        if mirrored is not None:
            raise mirrored
    except MRFitError as exc:
        if not exc.measured.startswith(_MIRROR_MEASURED):
            raise
        raise _header_error(ct, mr, params, exc) from None
    return reg, mi


#: How :func:`_register`'s mirror refusal states what was measured.
_MIRROR_MEASURED = "from its header's pose, its mirror image"


def _header_error(ct: Volume, mr: Volume, params: MRParams, first: MRFitError) -> MRFitError:
    """The refusal of :func:`register_mr_to_ct` for an MR that a mirror image of it fits
    better as its header places it (``first``): a mirror image that fits clearly best of
    the turns and mirror images keeps ``first``; a turn that does is named; otherwise the
    orientation is not confirmed. "Clearly": by ``params.orientation_margin_mi`` over
    every other start and over the MR as given, as :func:`fuse_mr` asks."""
    src = str(mr.meta.get("source", "MR"))
    search = search_orientations(*_sitk_pair(ct, mr, params), params)
    best, given = search.best, search.as_given
    runner = search.ranked[1] if len(search.ranked) > 1 else given
    best_mi, given_mi = float(best.mattes_mi or 0.0), float(given.mattes_mi or 0.0)
    runner_mi = float(runner.mattes_mi or 0.0)
    margin = params.orientation_margin_mi
    clear = not best.as_given and best_mi - max(runner_mi, given_mi) > margin
    if clear and best.mirrored:
        return first
    words = best.describe(mr.affine)
    figures = (
        f"Mattes mutual information at {max(search.voxel_mm):.0f} mm {best_mi:.3f}, next "
        f"best {runner_mi:.3f}, as given {given_mi:.3f}"
    )
    if clear:
        return MRFitError(
            src,
            f"the MR's header turns it: {words}, it fits the CT clearly best of the "
            f"{search.tried} turns and mirror images of its voxel axes ({figures}); "
            f"{first.measured}, which a turned header also gives. register_mr_to_ct "
            "registers the MR as its header places it: correct the header's orientation "
            "(affine), or use fuse_mr ('twinsep plan --mr'), which uses a clearly turned MR "
            "turned, with a warning",
            f"its header turns it ({words} fits best)",
        )
    return MRFitError(
        src,
        f"the MR's orientation could not be confirmed: {first.measured}, but of the "
        f"{search.tried} turns and mirror images of its voxel axes none fits clearly best "
        f"(the best, {words}: {figures}). Check the MR's side markers and its header's "
        "orientation (affine)",
        first.measured,
    )


@single_threaded
def _register(
    ct: Volume, mr: Volume, params: MRParams
) -> tuple[Volume, float, np.ndarray, np.ndarray, MirrorCheck]:
    """:func:`register_mr_to_ct`, also returning the MR's field of view on the CT grid
    (True where the moved MR has voxels), the rigid transform found, as a 4x4 matrix
    from the MR's world (RAS mm, as its header gives it) to the CT's world, and the
    comparison with the MR's mirror images (:func:`twinsep.segment.mr_mirror.screen_mirrors`).

    Raises
    ------
    InputError
        If the registration fails or ends below ``params.registration_min_mi``. Whether
        a mirror image fits better is left to the callers (:func:`_mirror_error`):
        :func:`_fit_mr` asks first whether the MR shows the CT's cavity at all.
    """
    import SimpleITK as sitk

    src = str(mr.meta.get("source", "MR"))
    fixed_f, moving = _sitk_pair(ct, mr, params)
    init = sitk.CenteredTransformInitializer(
        fixed_f, moving, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=params.registration_bins)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(params.registration_sampling, seed=params.seed + 1)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0,
        minStep=1e-3,
        numberOfIterations=params.registration_iterations,
        gradientMagnitudeTolerance=params.registration_gradient_tolerance,
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2, 1])
    reg.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0])
    reg.SetInitialTransform(init, inPlace=False)
    try:
        tx = reg.Execute(fixed_f, moving)
    except RuntimeError as exc:
        why = " ".join(str(exc).split())[-300:]
        raise MRFitError(
            src,
            f"MR could not be registered to the CT ({why})",
            f"the registration failed ({why})",
        ) from None
    mi = -float(reg.GetMetricValue())
    logger.debug("stop: %s", reg.GetOptimizerStopConditionDescription())
    logger.debug(
        "MR->CT registration: Mattes MI %.3f after %d iterations", mi, reg.GetOptimizerIteration()
    )
    if not np.isfinite(mi) or mi < params.registration_min_mi:
        raise MRFitError(
            src,
            f"MR could not be registered to the CT: final Mattes mutual information {mi:.3f} "
            f"is below {params.registration_min_mi:.2f}; check that the MR shows the same "
            "twins and covers the heads",
            f"registered, its Mattes mutual information is {mi:.3f} (at least "
            f"{params.registration_min_mi:.2f} needed)",
        )
    check = screen_mirrors(fixed_f, moving, params)
    res = sitk.Resample(moving, fixed_f, tx, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    arr = sitk.GetArrayFromImage(res).transpose(2, 1, 0)
    ones = sitk.Image(moving.GetSize(), sitk.sitkUInt8) + 1
    ones.CopyInformation(moving)
    fov = sitk.Resample(ones, fixed_f, tx, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    inside = sitk.GetArrayFromImage(fov).transpose(2, 1, 0) > 0
    moved = ct.with_array(np.ascontiguousarray(arr), kind="MR registered")
    return moved, mi, np.ascontiguousarray(inside), _mr_to_ct_ras(tx), check


def _mirror_error(src: str, mr: Volume, check: MirrorCheck, params: MRParams) -> MRFitError | None:
    """The refusal of an MR whose mirror image fits the CT better than the registration
    found by more than ``params.mirror_margin_mi`` (a rigid transform cannot undo a
    mirrored header, and the MR's tissues would be painted on the wrong side), or None."""
    if check.margin_mi <= params.mirror_margin_mi:
        return None
    return MRFitError(
        src,
        f"the MR appears mirrored: registered to the CT its Mattes mutual information "
        f"is {check.mattes_mi:.3f}, its mirror image along its voxel axis "
        f"{check.best_mirror_axis} ({_axis_name(mr, check.best_mirror_axis)}) fits "
        f"clearly better ({max(check.mirror_mattes_mi):.3f}); a rigid registration cannot "
        "undo a mirror and its tissues would lie on the wrong side. Check the sign of "
        "that axis in the MR's header (its orientation / affine), or plan without --mr",
        f"from its header's pose, its mirror image along voxel axis {check.best_mirror_axis} "
        f"fits better (Mattes mutual information {max(check.mirror_mattes_mi):.3f} against "
        f"{check.mattes_mi:.3f})",
    )


def _sitk_pair(ct: Volume, mr: Volume, params: MRParams) -> tuple[Any, Any]:
    """The CT and the MR as SimpleITK images the way the registration compares them:
    the CT clipped to ``params.registration_ct_window_hu`` and shifted so air is 0 (the
    moments initializer then weighs the head, not the air around it), the MR as given."""
    import SimpleITK as sitk

    lo_hu, hi_hu = params.registration_ct_window_hu
    fixed_f = sitk.Clamp(_to_sitk(ct), sitk.sitkFloat32, lo_hu, hi_hu) - lo_hu
    return fixed_f, _to_sitk(mr)


def _axis_name(vol: Volume, axis: int) -> str:
    """The world direction (RAS) an array axis of ``vol`` runs closest to, in words."""
    d = vol.affine[:3, axis]
    names = ("left-right", "front-back", "head-foot")
    return names[int(np.argmax(np.abs(d)))]


def _mr_to_ct_ras(tx: Any) -> np.ndarray:
    """4x4 matrix of the inverse of ``tx`` (a rigid SimpleITK transform from the CT's to
    the MR's LPS world), in RAS: MR world -> CT world."""
    p0 = np.asarray(tx.TransformPoint((0.0, 0.0, 0.0)))
    fwd = np.eye(4)
    for i in range(3):
        e = [0.0, 0.0, 0.0]
        e[i] = 1.0
        fwd[:3, i] = np.asarray(tx.TransformPoint(tuple(e))) - p0
    fwd[:3, 3] = p0
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])  # LPS <-> RAS
    return np.asarray(np.linalg.inv(flip @ fwd @ flip))


def registration_record(mr_to_ct: np.ndarray, centre_mm: np.ndarray, mi: float) -> dict[str, Any]:
    """What plan.json reports of a CT<->MR registration.

    Parameters
    ----------
    mr_to_ct : (4, 4) ndarray
        Rigid transform, MR world -> CT world (RAS mm).
    centre_mm : (3,) ndarray
        The point (CT world, RAS mm) the rotation is stated about: the cranial cavity's
        centre.
    mi : float
        Final Mattes mutual information.

    Returns
    -------
    dict
        ``mattes_mi``; ``rotation_deg`` (angle of the rotation); ``rotation_axis`` (unit
        vector, RAS); ``translation_mm`` (RAS: where the point at ``centre_mm``'s
        coordinates in the MR's world lands in the CT's, minus ``centre_mm``);
        ``centre_mm``; ``mr_to_ct_ras`` (the 4x4 matrix, rows).
    """
    r = mr_to_ct[:3, :3]
    cos = float(np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0))
    angle = float(np.degrees(np.arccos(cos)))
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    n = float(np.linalg.norm(axis))
    axis = axis / n if n > 1e-9 else np.array([0.0, 0.0, 1.0])
    c = np.asarray(centre_mm, dtype=float)
    shift = r @ c + mr_to_ct[:3, 3] - c
    return {
        "mattes_mi": round(float(mi), 4),
        "rotation_deg": round(angle, 2),
        "rotation_axis": [round(float(v), 4) for v in axis],
        "translation_mm": [round(float(v), 2) for v in shift],
        "centre_mm": [round(float(v), 2) for v in c],
        "mr_to_ct_ras": [[round(float(v), 6) for v in row] for row in mr_to_ct],
    }


def fuse_mr(
    ct_result: TissueLabels, ct: Volume, mr: Volume, *, params: MRParams = MRParams()
) -> TissueLabels:
    """Register ``mr`` to ``ct`` and re-decide brain vs CSF inside the cavity from it.

    The MR is corrected for its bias field (N4) first. In the cavity, a three-class
    mixture of the registered MR (CSF, grey, white matter) is fitted; the MR's call
    replaces the CT's only where it is confident (within ``params.fusion_gap_share`` of
    the CSF-grey gap from its class mean): partial-volume and misregistered edges keep
    the CT's call.
    """
    mr, spread = correct_bias_field(mr, head_mask(mr), params)
    lab = ct_result.labels.array.copy()
    cavity = (lab == L.BRAIN) | (lab == L.CSF)
    ct_head = lab > 0
    try:
        reg, mi, fov, mr_to_ct, mirror = _fit_mr(ct, mr, cavity, ct_head, params)
        turned: tuple[Orientation, OrientationSearch] | None = None
    except MRFitError as first:
        reg, mi, fov, mr_to_ct, mirror, turned = _reoriented_fit(
            ct, mr, cavity, ct_head, params, first
        )
    # outside the MR's field of view the resampled MR reads 0 (dark: it became CSF)
    inner = cavity & fov
    warnings = list(ct_result.warnings)
    if turned is not None:
        warnings.append(_turned_warning(mr, *turned))
    if float(inner.sum()) < float(cavity.sum()):
        warnings.append(
            f"the MR's field of view covers {100 * float(inner.sum()) / float(cavity.sum()):.1f} % "
            "of the cranial cavity; brain and CSF outside it are the CT's"
        )
    changed = 0
    # a T2 registers as well as a T1, but its lowest class is brain and its bright
    # pieces CSF: the CT's own CSF and brain say which way round the MR is
    contrast = cavity_contrast(reg.array[inner], lab[inner])
    not_t1 = contrast is not None and contrast.csf_not_dark
    if contrast is not None and not_t1:
        warnings.append(csf_not_dark_warning(contrast))
    mix = _fit_three(reg.array[inner], params) if int(inner.sum()) > 1000 and not not_t1 else None
    if mix is not None and not dark_class_separated(mix, params.csf_class_sigmas):
        # a lumped fit: its 'sure CSF' would take grey matter. Started where the CT's
        # own CSF and brain lie the classes may part; else the CT's call stays
        mix = _fit_three_at_ct(reg.array[inner], lab[inner], params) or mix
    if (
        mix is not None
        and not dark_class_separated(mix, params.csf_class_sigmas)
        # overlapping, not wrong: grey and white apart, the CT's CSF in the lowest class
        and not overlapping_fit_usable(mix, reg.array[inner], lab[inner])
    ):
        warnings.append(_classes_warning(mix))
    elif mix is not None:
        csf_sure, brain_sure = _confident_csf_brain(reg.array[inner], mix, params)
        new = lab[inner]
        before = new.copy()
        new[csf_sure] = L.CSF
        new[brain_sure] = L.BRAIN
        changed = int((new != before).sum())
        lab[inner] = new
    centre = ct.centroid_mm(cavity) if cavity.any() else np.zeros(3)
    record = registration_record(mr_to_ct, np.asarray(centre), mi)
    record["bias_field_spread"] = round(spread, 3)
    record["mirror_check"] = mirror.as_record()
    if contrast is not None:
        record["cavity_contrast"] = contrast.as_record()
    if turned is not None:
        record["orientation_search"] = turned[1].as_record()
    if mirror.margin_mi > -params.mirror_doubt_mi:
        warnings.append(
            f"the MR's orientation could not be confirmed: its mirror image along its voxel "
            f"axis {mirror.best_mirror_axis} ({_axis_name(mr, mirror.best_mirror_axis)}) "
            f"fits the CT almost as well (Mattes mutual information "
            f"{max(mirror.mirror_mattes_mi):.3f} against {mirror.mattes_mi:.3f}); check "
            "the MR's side markers before relying on its sinuses or side-specific anatomy"
        )
    warnings.append(
        f"MR registered to CT (rigid, Mattes mutual information {mi:.3f}, rotation "
        f"{record['rotation_deg']:.1f}°, shift {np.linalg.norm(record['translation_mm']):.1f} mm); "
        f"brain and CSF from the CT, changed where the MR is confident "
        f"({100 * changed / max(int(inner.sum()), 1):.1f} % of the cavity)"
    )
    has_vessels = bool(ct_result.contrast)
    if not ct_result.contrast and not not_t1:
        ven = _venogram_vessels(reg, inner, params)
        if ven is not None:
            lab[ven] = L.VESSEL
            has_vessels = True
            # the CT's "give an MR venogram" is answered: saying both contradicts itself
            warnings = [w for w in warnings if w != NO_CONTRAST_WARNING]
            warnings.append(
                "the CT has no contrast: dural venous sinuses and veins were taken from the "
                "MR (bright flowing blood, tube-shaped), registered rigidly to the CT"
            )
        else:
            warnings.append(
                "the MR shows no venous signal (not a venogram): sinuses remain missing"
            )
    vol = ct_result.labels.with_array(lab)
    return TissueLabels(
        labels=vol,
        contrast=has_vessels,
        hu_thresholds=ct_result.hu_thresholds,
        warnings=tuple(warnings),
        modality="CT+MR",
        registration_mi=mi,
        registration=record,
        tissue_ml=tissue_volumes_ml(vol),
        # the MR re-decided brain and CSF: no slice is unread for CSF bodies any more
        metal=None if ct_result.metal is None else replace(ct_result.metal, unread=None),
    )


def _fit_mr(
    ct: Volume, mr: Volume, cavity: np.ndarray, ct_head: np.ndarray, params: MRParams
) -> tuple[Volume, float, np.ndarray, np.ndarray, MirrorCheck]:
    """:func:`_register` ``mr`` to ``ct`` and check that it shows the CT's cavity
    (``params.registration_min_coverage``) and fits the CT's heads
    (``params.registration_min_head_dice``).

    Raises
    ------
    InputError
        From :func:`_register`, or when the coverage, the mirror check
        (:func:`_mirror_error`, asked after the coverage) or the heads' outline fails.
    """
    src = str(mr.meta.get("source", "MR"))
    # the mirror check waits for the coverage: an MR of one twin only, mirrored
    # head-foot, fits the other twin better than as given (MRG, session 31: refused as
    # "mirrored along head-foot" when it was partial)
    reg, mi, fov, mr_to_ct, mirror = _register(ct, mr, params)
    # the head(s) the registered MR shows, read once for both checks below
    head = _registered_head(reg, mr)
    shown = _mr_coverage(head, fov, cavity)
    if shown < params.registration_min_coverage:
        raise MRFitError(
            src,
            f"the MR, registered to the CT (Mattes mutual information {mi:.3f}), shows only "
            f"{100 * shown:.0f} % of the CT's cranial cavity (at least "
            f"{100 * params.registration_min_coverage:.0f} % needed): check that the MR "
            "shows the same twins and covers both heads",
            f"registered, it shows {100 * shown:.0f} % of the CT's cranial cavity (at least "
            f"{100 * params.registration_min_coverage:.0f} % needed)",
        )
    mirrored = _mirror_error(src, mr, mirror, params)
    if mirrored is not None:
        raise mirrored
    agree = _head_agreement(head, fov, ct_head)
    if agree < params.registration_min_head_dice:
        raise MRFitError(
            src,
            f"the MR, registered to the CT (Mattes mutual information {mi:.3f}), does not "
            f"fit the CT's heads: their outlines overlap with Dice {agree:.3f} (at least "
            f"{params.registration_min_head_dice:.2f} needed; an MR of these twins, "
            "registered, gives 0.96-0.99): the MR is of other anatomy, or the registration "
            "failed. Check that the MR is of these twins, or plan without --mr",
            f"registered, its head outlines overlap the CT's with Dice {agree:.3f} (at least "
            f"{params.registration_min_head_dice:.2f} needed)",
        )
    return reg, mi, fov, mr_to_ct, mirror


def _reoriented_fit(
    ct: Volume,
    mr: Volume,
    cavity: np.ndarray,
    ct_head: np.ndarray,
    params: MRParams,
    first: MRFitError,
) -> tuple[
    Volume, float, np.ndarray, np.ndarray, MirrorCheck, tuple[Orientation, OrientationSearch]
]:
    """After ``mr``'s first fit failed (``first``): is its header turned or mirrored?

    The 48 signed permutations of its voxel axes are ranked on the CT
    (:func:`twinsep.segment.mr_orient.search_orientations`). The MR is used turned only
    when one turn (not the header's pose) fits the CT better than every other start,
    the mirror images and the MR as given included, by more than
    ``params.orientation_margin_mi``, and the MR so turned passes every check of
    :func:`_fit_mr`; the plan then warns, naming the turn. Otherwise the refusal names
    what was measured: a mirror image that fits best, a turn that fits best but still
    fails a check or is not clearly the best, or, when the header's pose fits best,
    ``first``'s reason.

    Returns
    -------
    tuple
        :func:`_fit_mr`'s result for the turned MR (its ``mr_to_ct`` from the MR's world
        as its header gives it), and the turn with the search.

    Raises
    ------
    InputError
    """
    src = str(mr.meta.get("source", "MR"))
    fixed_f, moving = _sitk_pair(ct, mr, params)
    search = search_orientations(fixed_f, moving, params)
    best, given = search.best, search.as_given
    best_mi, given_mi = float(best.mattes_mi or 0.0), float(given.mattes_mi or 0.0)
    runner = search.ranked[1] if len(search.ranked) > 1 else given
    runner_mi = float(runner.mattes_mi or 0.0)
    at = f"at {max(search.voxel_mm):.0f} mm"
    if best.as_given or best_mi - given_mi <= params.orientation_margin_mi:
        if first.measured.startswith("from its header's pose, its mirror image"):
            raise MRFitError(
                src,
                f"the MR's orientation could not be confirmed: {first.measured}, but of the "
                f"{search.tried} turns and mirror images of its voxel axes, each registered "
                f"from its centre of mass, none fits clearly better than the MR as given "
                f"(Mattes mutual information {at}: as given {given_mi:.3f}, the best "
                f"{best_mi:.3f}, {best.describe(mr.affine)}). Check the MR's side markers "
                "and its header's orientation (affine), or plan without --mr",
                f"its orientation could not be confirmed ({first.measured})",
            ) from None
        raise MRFitError(
            src,
            f"{first.reason.rstrip('.')}. No turn or mirror image of the MR's voxel axes fits "
            f"the CT clearly better than its header's orientation (Mattes mutual information "
            f"{at}: as given {given_mi:.3f}, the best of {search.tried} {best_mi:.3f}, "
            f"{best.describe(mr.affine)})",
            first.measured,
        ) from None
    words = best.describe(mr.affine)
    other = runner.describe(mr.affine)
    if best_mi - runner_mi <= params.orientation_margin_mi:
        raise MRFitError(
            src,
            f"the MR does not fit the CT as its header places it ({first.measured}); "
            f"{words}, it fits better (Mattes mutual information {at} {best_mi:.3f} against "
            f"{given_mi:.3f} as given), but {other} fits almost as well ({runner_mi:.3f}): "
            "the header's error cannot be told from the images. "
            "Correct the MR header's orientation (affine), or plan without --mr",
            f"no one turn or mirror of its voxel axes fits clearly best ({words} "
            f"{best_mi:.3f}, {other} {runner_mi:.3f})",
        ) from None
    if best.mirrored:
        raise MRFitError(
            src,
            f"the MR appears mirrored: {words} fits the CT clearly better (Mattes mutual "
            f"information {at} {best_mi:.3f}) than the MR as given ({given_mi:.3f}) or any "
            f"turn of it (next best {runner_mi:.3f}); a rigid registration cannot undo a "
            "mirror and its tissues would lie on the wrong side. Check the signs of the "
            "MR header's axes (its orientation / affine), or plan without --mr",
            f"{words} fits best ({best_mi:.3f} against {given_mi:.3f} as given)",
        ) from None
    assert best.ct_from_mr_ras is not None
    turned = Volume(mr.array, best.ct_from_mr_ras @ mr.affine, mr.meta)
    try:
        reg, mi, fov, mr_to_ct, mirror = _fit_mr(ct, turned, cavity, ct_head, params)
    except MRFitError as second:
        raise MRFitError(
            src,
            f"{first.reason.rstrip('.')}. Nor does it fit {words}, the turn of its voxel "
            f"axes that fits the CT best (Mattes mutual information {at} {best_mi:.3f} "
            f"against {given_mi:.3f} as given, next best {runner_mi:.3f}): so turned, "
            f"{second.measured}",
            f"turned ({words}) it does not fit either: {second.measured}",
        ) from None
    return reg, mi, fov, mr_to_ct @ best.ct_from_mr_ras, mirror, (best, search)


def _turned_warning(mr: Volume, best: Orientation, search: OrientationSearch) -> str:
    """The plan's warning for an MR used turned (:func:`_reoriented_fit`)."""
    given = float(search.as_given.mattes_mi or 0.0)
    runner = float(search.ranked[1].mattes_mi or 0.0) if len(search.ranked) > 1 else given
    return (
        f"the MR's header orientation is wrong: as its header places it the MR did not "
        f"fit the CT; {best.describe(mr.affine)} it fits clearly best of the "
        f"{search.tried} turns and mirror images of its voxel axes (Mattes mutual "
        f"information at {max(search.voxel_mm):.0f} mm {float(best.mattes_mi or 0.0):.3f}, "
        f"next best {runner:.3f}, as given {given:.3f}) and passed every check so turned, "
        "so it was used turned. Correct the MR file's header before it is used elsewhere "
        "(navigation, other software will place it wrongly)"
    )


def _confident_csf_brain(
    vals: np.ndarray, mix: Mixture1D, params: MRParams
) -> tuple[np.ndarray, np.ndarray]:
    """Where a T1 alone is sure of CSF and of brain among cavity voxel values ``vals``.

    ``mix`` is the three-class mixture of the values (:func:`_fit_three`: CSF dark; grey
    and white matter); a voxel is sure CSF (brain) when its value lies within ``params.fusion_gap_share`` of
    the CSF-grey gap from the CSF (grey-matter) mean and on that side of the mixture's
    CSF/grey boundary: not between the classes, where partial volume and
    misregistration put the edges. (Posteriors are no guide there: the mixture widens a
    class over the edge voxels, and a narrow class loses its own tail to a wide one.)

    :func:`fuse_mr` uses the fit only when its lowest class is one tissue, clear of the
    next class up (``params.csf_class_sigmas``,
    :func:`twinsep.segment.mr_dark.dark_class_separated`): a cavity with little CSF (a
    thin layer, small ventricles) fits as one wide class of CSF and grey matter and two
    of white matter (generated head, 1.5 mm CSF layer: 391 +- 169, 636, 644), and half
    of its 'sure CSF' was grey matter. Such a fit is tried again from the CT's CSF and
    brain (:func:`_fit_three_at_ct`); when that is not clear either, it is used only when
    it is the CSF's partial volume with the grey matter, not a lumped class
    (:func:`twinsep.segment.mr_ctcheck.overlapping_fit_usable`: its two upper classes are
    two modes and the CT's CSF and brain fall on either side; Colin27 64 +- 19 / 90 / 112),
    else the CT's call stays.
    """
    m0, m1 = mix.means[0], mix.means[1]
    cut = mix.boundary(0, 1)
    gap = params.fusion_gap_share * (m1 - m0)
    csf = vals <= min(m0 + gap, cut)
    brain = vals >= max(m1 - gap, cut)
    return csf, brain


def _classes_warning(mix: Mixture1D) -> str:
    """The plan's warning when the registered MR's cavity classes are not CSF and brain
    (:func:`_confident_csf_brain`): brain and CSF stay the CT's."""
    return (
        "the MR's values in the cranial cavity did not part into CSF and brain (the "
        f"darkest of three classes, {mix.means[0]:.0f} +- {mix.sigmas[0]:.0f}, is not clear "
        f"of the next, {mix.means[1]:.0f}): brain and CSF are the CT's, the MR was not used "
        "for them"
    )


def _fit_three_at_ct(vals: np.ndarray, ct_labels: np.ndarray, params: MRParams) -> Mixture1D | None:
    """Three-class 1D mixture of the registered MR's cavity values ``vals`` started where
    the CT's call puts CSF and brain (``ct_labels``, the CT's labels of the same voxels):
    at the median of the values the CT calls CSF and the 25th / 75th percentiles of those
    it calls brain; None when the CT calls fewer than 1000 voxels either.

    With the 10th/50th/90th percentiles a cavity whose white matter is most of its
    voxels starts two classes in the white matter, and a third takes CSF and grey matter
    together (generated head, 1.5 mm CSF layer: 391 +- 168, 636, 643); started at the
    CT's CSF (144) and brain (612 / 650) it parts them (180 +- 79, 479, 640).
    """
    csf, brain = vals[ct_labels == L.CSF], vals[ct_labels == L.BRAIN]
    if csf.size < 1000 or brain.size < 1000:
        return None
    q = np.percentile(brain, [25, 75])
    return fit_classes(vals, 3, params, means=(float(np.median(csf)), float(q[0]), float(q[1])))


def _fit_three(vals: np.ndarray, params: MRParams) -> Mixture1D:
    """Three-class 1D mixture of MR values (initial means at the 10th/50th/90th
    percentiles; :func:`twinsep.segment.mr_dark.fit_classes`)."""
    return fit_classes(vals, 3, params)


def _mr_coverage(head: np.ndarray, fov: np.ndarray, cavity: np.ndarray) -> float:
    """Fraction of the CT's cranial cavity where the registered MR shows the head
    (``head``, :func:`_registered_head`): inside its field of view and above half its
    air/tissue (Otsu) level, as the MR-alone foreground, holes filled. Measured: 0.998 for the Colin27 twins' own T1; 0.48 and 0.71 for
    Colin27's single-head T1 registered to the Colin27 twin CT and to an independent
    phantom (Mattes MI 0.169 and 0.151, above ``registration_min_mi``)."""
    n = int(cavity.sum())
    if n == 0:
        return 1.0
    return float((cavity & fov & head).sum()) / n


def _registered_head(reg: Volume, mr: Volume) -> np.ndarray:
    """The head(s) the registered MR ``reg`` shows on the CT grid: above half the air/tissue
    (Otsu) level of the MR ``mr`` as given, holes filled."""
    rng = np.random.default_rng(0)
    level = 0.5 * _otsu(sample_values(mr.array.astype(np.float32), 200_000, rng))
    # holes filled: CSF darker than the level (0.2 of white matter on a T1, and the
    # blind phantom's) is inside the head, not missing (the twins' own MR showed 89 %)
    return morph.fill_holes(reg.array > level)


def _head_agreement(head: np.ndarray, fov: np.ndarray, ct_head: np.ndarray) -> float:
    """Dice overlap of the heads the registered MR shows (``head``, :func:`_registered_head`) and
    the CT's heads (``ct_head``: any tissue label), both inside the MR's field of view
    ``fov``: 1.0 when the outlines coincide.

    An MR of these twins, registered, traces the CT's scalp everywhere it sees; an MR of
    other twins registers one head at best, and a failed registration none, so the other
    head's outline misses. Measured in ``docs/segmentation.md`` ("An MR of other
    anatomy"): 0.96-0.99 for the twins' own MRs (blind phantom, Colin27 real twins),
    0.82 for the blind phantom's other twins, 0.56-0.79 for an own MR left 30-35 mm off.
    """
    a = head & fov
    b = ct_head & fov
    n = int(a.sum()) + int(b.sum())
    if n == 0:
        return 0.0
    return 2.0 * float((a & b).sum()) / n


def _venogram_vessels(reg: Volume, inner: np.ndarray, params: MRParams) -> np.ndarray | None:
    """Bright tube-shaped voxels of a (registered) MR venogram inside the cavity.

    Flowing blood is far brighter than brain on a venogram; voxels above the cavity's
    median + ``venogram_k`` robust sigmas that pass the Hessian tube test are vessels,
    with every bright piece (26-connected) that holds one, and the pieces' partial-volume
    edges (:func:`_venogram_edges`).
    Returns None when they fill less than ``venogram_min_fraction`` of the cavity (a
    plain T1 or T2 has no such signal).
    """
    from twinsep.segment.vessels import tubular_mask

    v = reg.array
    x = v[inner]
    if x.size < 1000:
        return None
    med = float(np.median(x))
    mad = 1.4826 * float(np.median(np.abs(x - med)))
    near = morph.dilate_mm(inner, 2.0, reg.spacing_mm)  # the cavity + 2 mm
    cand = near & (v > med + params.venogram_k * max(mad, 1e-6))
    if not cand.any():
        return None
    tube = tubular_mask(v.astype(np.float32), cand, reg.spacing_mm, (1.0, 2.0, 4.0), 0.45)
    ven = cand & tube
    if float(ven.sum()) < params.venogram_min_fraction * float(inner.sum()):
        return None
    # the sinuses are tubes only in part: triangular in section, sheet-like where they
    # run along the inner table, and the tube test drops their flat walls (blind MR
    # phantom, venogram on the CT's pose: 2087 of 3088 bright sinus voxels kept). Every
    # bright piece that holds a tube is taken whole.
    lab, _ = morph.label_components(cand, 26)
    keep = np.unique(lab[ven])
    pieces = np.isin(lab, keep[keep > 0])
    return _venogram_edges(reg, near, pieces, med, params)


def _venogram_edges(
    reg: Volume, near: np.ndarray, pieces: np.ndarray, median: float, params: MRParams
) -> np.ndarray:
    """``pieces`` (bright sinus pieces of a registered venogram) with their
    partial-volume edges.

    A sinus's section is a few voxels across, so most of its voxels lie on an edge,
    dimmed by the MR's voxel (thick slices) and the resampling onto the CT grid below
    the candidates' level. Within ``params.venogram_edge_mm`` of the pieces and the
    cavity + 2 mm, voxels above ``median`` + ``params.venogram_edge_share`` x (plateau -
    ``median``) that connect (26) to a piece are added; the plateau is the 75th
    percentile of the pieces' values (the sinus's own signal).

    Parameters
    ----------
    reg : Volume
        The MR registered onto the CT grid.
    near : ndarray of bool
        The cranial cavity (CT) inside the MR's field of view, dilated by 2 mm (where
        the candidates were sought).
    pieces : ndarray of bool
        The sinus pieces found (at least one voxel).
    median : float
        The registered MR's median over ``inner`` (brain).
    params : MRParams

    Returns
    -------
    ndarray of bool
        ``pieces`` and their edges.
    """
    if params.venogram_edge_share >= 1.0 or not pieces.any():
        return pieces
    v = reg.array
    plateau = float(np.percentile(v[pieces], 75))
    low = median + params.venogram_edge_share * (plateau - median)
    zone = near & morph.dilate_mm(pieces, params.venogram_edge_mm, reg.spacing_mm) & (v > low)
    lab, _ = morph.label_components(zone | pieces, 26)
    keep = np.unique(lab[pieces])
    out = np.isin(lab, keep[keep > 0])
    logger.debug(
        "venogram: %d piece voxels, %d with edges (level %.1f, plateau %.1f)",
        int(pieces.sum()),
        int(out.sum()),
        low,
        plateau,
    )
    return out


def segment_mr_t1(
    mr: Volume, *, params: SegmentParams = SegmentParams(), mr_params: MRParams = MRParams()
) -> TissueLabels:
    """Segment a full-head T1 MR (no CT) into labels 0..4 (no vessels).

    Raises
    ------
    ScanError
        If no head-sized foreground or no cranial cavity is found.
    """
    src = str(mr.meta.get("source", "MR"))
    spacing = mr.spacing_mm
    mr, spread = correct_bias_field(mr, head_mask(mr), mr_params)
    a = mr.array.astype(np.float32)
    sm = ndi.gaussian_filter(a, [params.smooth_sigma_mm / s for s in spacing], mode="nearest")
    rng = np.random.default_rng(params.seed)
    x = sample_values(sm, 400_000, rng)
    hi = float(np.percentile(x, 99.5))
    if hi <= 0:
        raise ScanError(src, "is empty (no signal)")
    # background vs tissue: Otsu-like split on the sampled values
    t_fg = _otsu(x)
    fg = sm > 0.5 * t_fg
    body = _fill_head(morph.largest_components(fg, k=2))
    depth = morph.distance_mm(body, spacing)
    if float(depth.max()) < 25.0:
        raise ScanError(src, "has no head-sized object (nothing thicker than 50 mm)")
    # tissue (brain/scalp) vs dark (CSF, bone, air) inside the body. A T1 head has three
    # classes there (dark CSF/bone, grey matter, white matter/fat): a two-class split
    # (Otsu) falls between grey and white matter, so the cortex became "skull", the
    # cavity shrank to the white matter, and a single real head (Colin27, ITK's KmeansTest
    # T1) split at the interhemispheric fissure and was planned as two twins
    dark = dark_bright_level(sm[body], mr_params)
    t_dark = dark.level
    bright = body & (sm >= t_dark)
    core = _brain_core(sm, bright, depth, t_dark, spacing, mr_params)
    if not core.any():
        raise ScanError(src, "no brain was found inside the head (T1 segmentation)")
    brain_region = _grown_through_bright(core, bright, mr_params.skull_band_mm, spacing)
    # brain vs CSF inside the cavity: half-way between the CSF the brain encloses and
    # the grey matter (the body's dark split when the brain encloses too little CSF).
    # The cavity's own three-class mixture was tried and dropped: where the cavity holds
    # too little CSF for a class of its own, the lowest class is grey matter and grey
    # became CSF (tests/segment/test_mr_cut_neck.py: brain Dice 0.999 -> 0.849)
    t_csf, csf_vals = _csf_grey_boundary(sm, core, brain_region, t_dark, spacing, mr_params)
    if t_csf > t_dark:
        # on an adult T1 the head's dark class is bone and air, darker than CSF, and
        # bright (above t_dark) took in the partial-volume voxels of thin bone: the brain
        # grew across the orbital roof and the sphenoid wing into the orbit's fat
        # (Colin27 twins: twin B's eye and orbit, 38 mL, labelled brain) and over the
        # inner table. What is darker than the CSF/grey level is not brain: the core and
        # its growth are found again above it, the core opened wider (a piece of it in
        # the orbit's deep fat hung on the temporal lobe's by a 32-voxel neck)
        above = bright & (sm >= t_csf)
        core = _brain_core(
            sm, above, depth, t_csf, spacing, mr_params, open_mm=mr_params.core_neck_mm
        )
        if not core.any():
            raise ScanError(src, "no brain was found inside the head (T1 segmentation)")
        brain_region = _grown_through_bright(core, above, mr_params.skull_band_mm, spacing)
    elif t_csf < t_dark:
        # the other way round: the voxels between the two levels are brain by the
        # CSF/grey level (grey matter's partial volume at the cortex's edge) but were not
        # bright. The brain stopped a voxel short of its edge, that rim stopped the CSF
        # layer's growth, the skull beyond the shrunk brain read as CSF, and the layer was
        # not used: its CSF became bone (generated head, uniform 4 mm cortex: level 406
        # for a CSF/grey level 313, CSF Dice 0.44). The core is grown again, as far,
        # through the voxels above the CSF/grey level
        brain_region = _grown_through_bright(
            core, body & (sm >= t_csf), mr_params.skull_band_mm, spacing
        )
    closed = morph.fill_holes(morph.close_mm(brain_region, 4.0, spacing))
    # the cavity's wall: at the inner edge of the skull's dark band, the CSF layer over
    # the brain grown through voxels that read as the ventricles' CSF; where that layer
    # does not read as CSF (thinner than a voxel: an adult's), 1.5 mm over the brain
    cavity = None
    cavity_doubt: str | None = None
    if csf_vals is not None:
        cavity = csf_layer_cavity(sm, closed, body, csf_vals, t_csf, spacing, mr_params)
    if cavity is None:
        cavity = morph.dilate_mm(closed, 1.5, spacing) & body
    if csf_vals is not None:
        # the split itself: half-way to the grey matter the cavity holds, when its own
        # three-class mixture shows it (blind MR phantom: the core's darker class carried
        # the deep grey nuclei, level 334 for a true midpoint of 305)
        t_csf, cavity_doubt = _cavity_csf_grey(sm[cavity], csf_vals, t_csf, mr_params)
    csf = cavity & (sm < t_csf)
    brain = cavity & ~csf
    infant = infant_contrast_warning(sm, enclosed(cavity), brain, spacing)
    # the head the labels cover: the body with what its sections enclose. The skull band
    # is as dark as air on a T1; where the neck ends inside the grid (a scan padded or
    # resampled beyond its field of view; the Colin27 twins), the dark spine and foramen
    # magnum join it to the air below the cut, and the whole band was background (Colin27
    # twins: 130 k of 400 k truth bone voxels, twin accuracy 0.923). The body's depth
    # above keeps its own surface: measured from the enclosed head, an adult's face and
    # neck muscles lie deeper than the skull band and joined the brain core
    head = enclosed(body)
    band = head & ~cavity & morph.dilate_mm(cavity, mr_params.skull_band_mm, spacing)
    # the skull lies under the scalp: the dark partial volume of skin and air at the
    # head's edge is not bone, though the band (as wide as the thickest skull) reaches it
    skull = band & (sm < t_dark)
    skull &= ~scalp_edge(head, sm < t_dark, spacing, 2.0 * params.smooth_sigma_mm)
    out = np.zeros(a.shape, np.uint8)
    out[head] = L.SOFT_TISSUE
    out[skull] = L.BONE
    out[brain] = L.BRAIN
    out[csf] = L.CSF
    vol = mr.with_array(out, kind="labels")
    return TissueLabels(
        labels=vol,
        contrast=False,
        hu_thresholds={
            "foreground": round(0.5 * t_fg, 2),
            "dark_tissue": round(t_dark, 2),
            "csf_grey": round(t_csf, 2),
        },
        warnings=(
            "segmented from MR alone: bone from MR is approximate (T1 shows the skull only "
            "as a dark band), and no vessels or sinuses were segmented",
            *_dark_level_warning(dark),
            *((cavity_doubt,) if cavity_doubt else ()),
            *((infant,) if infant else ()),
        ),
        modality="MR",
        tissue_ml=tissue_volumes_ml(vol),
    )


def _dark_level_warning(dark: DarkLevel) -> tuple[str, ...]:
    """The plan's warning when the T1's dark/bright level is not trusted
    (:func:`twinsep.segment.mr_dark.dark_bright_level`): none when it is."""
    if dark.trusted:
        return ()
    means = ", ".join(f"{m:.0f}" for m in dark.means)
    return (
        "MR alone: the T1's tissue levels could not be told apart (no mixture of its "
        f"values had a darkest class clear of the next; {dark.classes} class means "
        f"{means}): the level between dark tissue (CSF, bone) and brain, {dark.level:.0f}, "
        "is not trusted, and brain, CSF and bone may be wrong. Check the labels against "
        "the T1, or plan with a CT",
    )


def _brain_core(
    sm: np.ndarray,
    bright: np.ndarray,
    depth: np.ndarray,
    level: float,
    spacing_mm: tuple[float, float, float],
    params: MRParams,
    open_mm: float = 3.0,
) -> np.ndarray:
    """The brain core(s) of a T1 (MR alone): the ``bright`` voxels deeper than the
    scalp and skull (``depth`` beyond ``params.skull_band_mm``), opened by ``open_mm``
    (3 mm; ``params.core_neck_mm`` when found again above the CSF/grey level), in the
    components of at least a fifth of the largest whose median lies above half-way
    between ``level`` (the dark/bright level ``bright`` was cut at) and the largest's.

    A second head's brain looks like the first (same scan, same age); the deep muscle of
    a neck is darker (blind MR phantom: median 360 against the brains' 648 with
    ``t_dark`` 323; 71 mL each, 0.24 of the largest core) and is left out by the median.

    Returns
    -------
    ndarray of bool
        The kept core (empty when no bright voxel lies that deep).
    """
    core = morph.open_mm(bright & (depth > params.skull_band_mm), open_mm, spacing_mm)
    lab, sizes = morph.component_sizes(core)
    if sizes.size == 0:
        return np.zeros(core.shape, bool)
    keep = np.concatenate([[False], sizes >= 0.2 * sizes.max()])
    med = np.asarray(ndi.median(sm, lab, index=np.arange(1, sizes.size + 1)))
    med_first = float(med[int(np.argmax(sizes))])
    keep[1:] &= med >= level + 0.5 * (med_first - level)
    return np.asarray(keep[lab], dtype=bool)


def _csf_grey_boundary(
    sm: np.ndarray,
    core: np.ndarray,
    grown: np.ndarray,
    t_dark: float,
    spacing_mm: tuple[float, float, float],
    params: MRParams,
) -> tuple[float, np.ndarray | None]:
    """The T1 level below which a cranial-cavity voxel is CSF (MR alone), and the values
    of the pure CSF it was read from (None when ``t_dark`` is returned).

    Half-way between the CSF level and the grey matter's mean (a voxel half CSF, half
    grey matter reads half-way): the CSF level is the median of the voxels that
    ``grown`` (the brain grown to the skull band) encloses - the ventricles and enclosed
    sulci - more than a voxel from it (pure CSF; all of them when none lies so deep);
    the grey matter is the darker class of a two-class mixture of the brain core's
    (``core``) voxels at or above ``t_dark`` (grey and white matter; on an unmyelinated
    infant brain white matter is the darker, and the level still lies between CSF and
    brain).

    ``t_dark`` (the head's dark/bright boundary: its darkest class is bone and air, on an
    adult darker than CSF - Colin27 45 against a CSF median of 54) is returned instead
    when the brain encloses less than ``params.csf_level_min_ml`` or the enclosed level is
    not below the grey matter's.

    Parameters
    ----------
    sm : ndarray of float
        The smoothed, bias-corrected T1.
    core, grown : ndarray of bool
        The brain core kept, and the brain grown from it to the skull band.
    t_dark : float
        The head's dark/bright boundary.
    spacing_mm : (3,) float
    params : MRParams

    Returns
    -------
    float
    ndarray of float or None
    """
    vx_ml = float(np.prod(spacing_mm)) / 1000.0
    inner = morph.fill_holes(grown) & ~grown
    brain_vals = sm[core & (sm >= t_dark)]
    if float(inner.sum()) * vx_ml < params.csf_level_min_ml or brain_vals.size < 1000:
        return t_dark, None
    # the ventricles' interiors, away from their partial-volume walls (Colin27 twins:
    # 30.3 against 34.7 over every enclosed voxel; blind MR phantom 148 against 160, its
    # CSF 140)
    middle = ndi.binary_erosion(inner)
    csf_vals = sm[middle if middle.any() else inner]
    csf_level = float(np.median(csf_vals))
    rng = np.random.default_rng(params.seed)
    x = sample_values(brain_vals.astype(np.float32), 200_000, rng)
    q = np.percentile(x, [25, 75])
    counts, edges = np.histogram(x, bins=512)
    mix = fit_gmm_1d(
        0.5 * (edges[1:] + edges[:-1]),
        (float(q[0]), float(q[1])),
        init_sigma=float(np.std(x)) / 4,
        weights=counts,
    )
    grey = float(np.min(mix.means))
    if not csf_level < grey:
        return t_dark, None
    level = 0.5 * (csf_level + grey)
    logger.debug(
        "MR alone CSF/grey: enclosed CSF %.1f (%.1f mL), grey %.1f, level %.1f (t_dark %.1f)",
        csf_level,
        float(inner.sum()) * vx_ml,
        grey,
        level,
        t_dark,
    )
    return level, csf_vals


def _cavity_csf_grey(
    cavity_vals: np.ndarray, csf_vals: np.ndarray, level: float, params: MRParams
) -> tuple[float, str | None]:
    """The CSF/grey level that splits the cranial cavity (MR alone): half-way between the
    enclosed CSF's median and the grey matter's mean read in the cavity itself, when that
    lies below ``level`` (``_csf_grey_boundary``'s, from the brain core); else ``level``.

    The core's grey matter is the darker class of a two-class mixture of the brain core:
    where the deep grey nuclei and the grey/white partial volume fall into that class its
    mean lies above the cortex's (blind MR phantom: 513-542 for its grey matter 470,
    deep nuclei 540; the level 329-346 against the true midpoint 305, and voxels mostly
    grey matter at the cortex's edge were CSF). In the cavity a three-class mixture has
    CSF, the darker tissue and the brighter one - but only when the cavity holds enough
    CSF for a class of its own. So its middle mean is taken for the grey matter only when
    its lowest class is the CSF: its mean lies nearer the enclosed CSF's median than the
    middle class's (blind MR phantom: 152-178 against the CSF's 145-154 and the middle
    439-479). Otherwise the lowest class is partial volume of CSF and grey matter, or
    grey matter itself (a cavity with little CSF: its grey became CSF when such a
    class was taken for CSF, 016c332, reverted in 375daaf), and ``level`` stays (Colin27
    twins: lowest class 63.6 / 65.4 for a CSF of 30.3 and a middle class of 90.2). The
    level only moves down: a middle mean above the core's grey is not taken.

    The lowest class must also be one tissue, clear of the middle class by
    ``params.csf_class_sigmas`` of its sigmas (:func:`twinsep.segment.mr_dark.dark_class_separated`):
    a class that lumps CSF with grey matter can lie nearer the CSF than the middle
    class does while the middle class is white matter. The level then stays, and a
    warning says the cavity's classes were not told apart.

    Parameters
    ----------
    cavity_vals : ndarray of float
        Smoothed, bias-corrected T1 values of the cranial cavity.
    csf_vals : ndarray of float
        T1 values of the pure CSF the brain encloses (``_csf_grey_boundary``).
    level : float
        The CSF/grey level read from the brain core.
    params : MRParams

    Returns
    -------
    float
        The level.
    str or None
        The plan's warning when the lowest class lay nearer the CSF but was not clear of
        the middle class; else None.
    """
    if cavity_vals.size < 1000 or csf_vals.size == 0:
        return level, None
    csf = float(np.median(csf_vals))
    grey_core = 2.0 * level - csf  # level = (csf + grey_core) / 2
    mix = _fit_three(cavity_vals, params)
    low, mid = float(mix.means[0]), float(mix.means[1])
    nearer_csf = abs(low - csf) < abs(mid - low)
    separated = dark_class_separated(mix, params.csf_class_sigmas)
    refined = 0.5 * (csf + mid)
    logger.debug(
        "MR alone cavity classes %.1f / %.1f / %.1f (sigmas %s, enclosed CSF %.1f): lowest "
        "nearer the CSF %s, separated %s, level %.1f (core %.1f)",
        *mix.means,
        np.round(mix.sigmas, 1),
        csf,
        nearer_csf,
        separated,
        refined,
        level,
    )
    if nearer_csf and not separated:
        return level, (
            "MR alone: the cranial cavity's T1 values did not part into CSF and brain "
            f"classes (the darkest, {low:.0f} +- {mix.sigmas[0]:.0f}, is not clear of the "
            f"next, {mid:.0f}): the CSF/grey level {level:.0f} is read from the brain core "
            "alone, and CSF may be wrong. Check the CSF against the T1"
        )
    if nearer_csf and mid < grey_core:
        return refined, None
    return level, None


def _grown_through_bright(
    core: np.ndarray, bright: np.ndarray, reach_mm: float, spacing_mm: tuple[float, float, float]
) -> np.ndarray:
    """``core`` grown through ``bright`` voxels, one face-neighbour step at a time, for
    ``reach_mm`` / the smallest voxel side steps.

    The core is the bright tissue deeper than the skull band below the head's surface
    (``MRParams.skull_band_mm``): under an adult's scalp and skull (Colin27, 10-15 mm) the
    cortex lies within that depth and was left out of the cavity (a quarter of the
    brain called scalp, the subarachnoid CSF outside the cavity called skull); on the
    blind infant phantom the cortex nearest the scalp too. The dark skull band (and the
    CSF under it) stops the growth: a face-connected path of bright voxels does not
    cross one dark voxel layer. The path length is bounded: taking every bright voxel
    within ``reach_mm`` connected to the core (any path) ran from the cortex through
    partial-volume bridges into the scalp (blind MR phantom: bone Dice 0.60 -> 0.17).
    """
    steps = max(1, int(round(reach_mm / min(spacing_mm))))
    face = ndi.generate_binary_structure(3, 1)
    grown = ndi.binary_dilation(core, face, iterations=steps, mask=bright | core)
    return np.asarray(grown, dtype=bool)


def enclosed(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background voxel that it encloses in a 2D section along any
    array axis, then its 3D holes filled.

    A T1 shows the skull band and the CSF as dark as air. In 3D they are holes of the
    head's foreground only while the skin closes round them; where the scan ends inside
    the grid (the neck cut, with air beyond) the dark spine and the foramen magnum open
    them to that air. In the sections across the band (each slice along some axis) the
    scalp still encloses it. Exterior air that a section encloses (between an ear and the
    head: 10 mL on the Colin27 twins) is taken too.

    Parameters
    ----------
    mask : ndarray of bool
        The head's foreground (3D).

    Returns
    -------
    ndarray of bool
        ``mask`` with the enclosed background added.
    """
    m = np.asarray(mask, dtype=bool)
    out = m.copy()
    background = ~m
    for axis in range(3):
        # the background's pieces within each section (face neighbours in the section's
        # plane, as ndimage.binary_fill_holes joins them), all sections in one labelling;
        # a piece that reaches the section's edge is outside, every other one enclosed
        planar = ndi.generate_binary_structure(3, 1)
        planar[tuple(0 if a == axis else 1 for a in range(3))] = False
        planar[tuple(2 if a == axis else 1 for a in range(3))] = False
        lab, n = ndi.label(background, structure=planar)
        outside = np.zeros(n + 1, dtype=bool)
        outside[0] = True  # the mask itself
        for other in range(3):
            if other != axis:
                outside[np.unique(lab.take(0, axis=other))] = True
                outside[np.unique(lab.take(-1, axis=other))] = True
        out |= ~outside[lab]
    return morph.fill_holes(out)


def _fill_head(mask: np.ndarray) -> np.ndarray:
    """``mask`` with its holes filled, where the scan's edge cuts the body counting as
    closed.

    On a T1, bone and CSF are darker than the head's foreground level: where the field of
    view cuts the neck, the dark spine reaches the scan's edge, and a hole filling that
    takes every background voxel on the edge as outside left the skull and the CSF
    connected to it unfilled (blind MR phantom, 6 % noise: 42 % of the CSF and 29 % of
    the bone; the brain's depth below this 'surface' then fell under the skull band and
    one head's cavity was lost). On each face of the array, the background that the
    body's own cut section encloses (filled in 2D on that face) is not outside.
    """
    m = mask.astype(bool, copy=False)
    outside = np.zeros(m.shape, bool)
    for axis in range(m.ndim):
        for end in (0, -1):
            face: list[Any] = [slice(None)] * m.ndim
            face[axis] = end
            outside[tuple(face)] = ~ndi.binary_fill_holes(m[tuple(face)])
    return morph.fill_holes(m, outside=outside)


def _otsu(x: np.ndarray, bins: int = 256) -> float:
    h, edges = np.histogram(x, bins=bins)
    c = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(h)
    w1 = w0[-1] - w0
    m0 = np.cumsum(h * c)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(c[int(np.argmax(between))])
