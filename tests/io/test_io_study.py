"""Whole studies as exported by a PACS or burnt on a CD (``blind.pacs``), through load_scan.

A study folder holds a topogram, several reconstructions, a dose report and a dose
screen; the files carry the patient's identifiers in their tags and in their names.
What a user must get: the only volume loaded (others listed), or a refusal that lists
the candidate volumes with what tells them apart and the value ``--series`` takes;
localizers never in the volume; no identifier in any warning; the input unchanged.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from blind.pacs import IDENTITY, Series, ct_study, mr_study, write_study, zip_folder
from tree_digest import tree_digest
from twinsep.errors import InputError, ScanError
from twinsep.io import load_scan
from twinsep.io.dicom import SeriesChoiceError, series_uid_hash
from twinsep.volume import Volume

SHAPE = (24, 22, 16)
SPACING = (0.8, 0.8, 1.5)


def _ct() -> Volume:
    rng = np.random.default_rng(11)
    arr = rng.integers(-1000, 1800, size=SHAPE).astype(np.int16)
    aff = np.diag([*SPACING, 1.0])
    aff[:3, 3] = (-9.6, -8.8, -12.0)
    return Volume(arr, aff)


def _leaks(text: str) -> list[str]:
    return [t.decode() for t in IDENTITY.tokens() if t.decode() in text]


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The study variants, written once (about 1 s)."""
    root = tmp_path_factory.mktemp("studies")
    ct = _ct()
    full = ct_study(ct, root / "_w1")
    one = ct_study(ct, root / "_w2", extra=())
    scout_in = ct_study(ct, root / "_w3", extra=(), scout_in_series=True)
    out: dict[str, object] = {"ct": ct, "full": full}
    out["pacs"] = write_study(full, root / "pacs", layout="pacs")
    out["flat"] = write_study(full, root / "flat", layout="flat")
    out["cd"] = write_study(full, root / "cd", layout="cd")
    out["one"] = write_study(one, root / "one", layout="pacs")
    out["scout_in"] = write_study(scout_in, root / "scout_in", layout="flat")
    out["rle"] = write_study(one, root / "rle", layout="pacs", syntax="rle")
    out["jpegls"] = write_study(one, root / "jpegls", layout="pacs", syntax="jpegls")
    out["jpeg-lossless"] = write_study(one, root / "jll", layout="pacs", syntax="jpeg-lossless")
    out["nodecoder"] = write_study(one, root / "nodecoder", layout="pacs", syntax="no-decoder")
    return out


def _by_role(series: list[Series], role: str) -> Series:
    return next(s for s in series if s.role == role)


def test_the_only_volume_of_a_study_is_loaded(studies: dict[str, object]) -> None:
    """Topogram, dose report and dose screen beside one axial series: that series loads,
    with the same voxels, and the warnings say what was left out without naming anyone."""
    folder = studies["one"]
    assert isinstance(folder, Path)
    before = tree_digest(folder.parent)
    scan = load_scan(folder)
    ct = studies["ct"]
    assert isinstance(ct, Volume)
    np.testing.assert_array_equal(scan.volume.array, ct.array)
    np.testing.assert_allclose(scan.volume.affine, ct.affine, atol=1e-4)
    text = " ".join(scan.info.warnings)
    assert "loaded the only one that is a volume" in text
    assert "1 localizer (scout)" in text and "1 secondary capture (no position)" in text
    assert "structured report" in text  # the dose SR is named as such
    assert "names withheld" in text  # the SR's file is named after the patient
    assert _leaks(text) == [], text
    assert tree_digest(folder.parent) == before, "the study was modified"


@pytest.mark.parametrize("layout", ["pacs", "flat", "cd"])
def test_several_volumes_are_refused_with_a_listing_to_choose_from(
    studies: dict[str, object], layout: str
) -> None:
    folder = studies[layout]
    assert isinstance(folder, Path)
    with pytest.raises(SeriesChoiceError) as info:
        load_scan(folder)
    err = info.value
    assert err.source == str(folder)
    assert "\n" not in err.one_line()
    assert _leaks(err.reason) == [], err.reason
    full = studies["full"]
    assert isinstance(full, list)
    # the four volumes are listed, told apart by number, kernel, thickness and plane
    for role, facts in (
        ("soft", "axial, 16 files, 24×22 px of 0.8×0.8 mm, 1.5 mm slices, kernel H31s"),
        ("bone", "kernel H70h"),
        ("thick", "axial, 8 files, 24×22 px of 0.8×0.8 mm, 3 mm slices, kernel H31s, derived"),
        ("mpr", "coronal, 22 files, 24×16 px of 0.8×1.5 mm"),
    ):
        s = _by_role(full, role)
        hashed = series_uid_hash(s.uid)
        assert f"#{s.number} {hashed} (CT, " in err.reason, (role, err.reason)
        assert facts in err.reason.split(hashed)[1].split(";")[0], (role, err.reason)
    # the scout and the screen are not candidates, only counted
    for role in ("scout", "sc"):
        assert series_uid_hash(_by_role(full, role).uid) not in err.reason
    assert "not volumes, left out: 1 localizer (scout), 1 secondary capture" in err.reason
    assert "--series HASH" in err.reason


def test_each_listed_series_loads_by_its_hash(studies: dict[str, object]) -> None:
    folder, full, ct = studies["flat"], studies["full"], studies["ct"]
    assert isinstance(folder, Path) and isinstance(full, list) and isinstance(ct, Volume)
    soft = load_scan(folder, series_uid=series_uid_hash(_by_role(full, "soft").uid)[:8])
    np.testing.assert_array_equal(soft.volume.array, ct.array)
    assert any("loaded 1 of 6 series" in w for w in soft.info.warnings)
    thick = load_scan(folder, series_uid=series_uid_hash(_by_role(full, "thick").uid))
    assert thick.volume.shape == (24, 22, 8)
    # a slab of two slices is their mean (rounded): 0.5 HU
    expect = ct.array.astype(float).reshape(24, 22, 8, 2).mean(axis=3)
    assert np.max(np.abs(thick.volume.array - expect)) <= 0.5
    with pytest.raises(ScanError) as info:  # a wrong choice lists everything, marked
        load_scan(folder, series_uid="1.2.3")
    scout = series_uid_hash(_by_role(full, "scout").uid)
    assert f"#1 {scout} (CT, sagittal, 2 files" in info.value.reason
    assert "not a volume: localizer (scout))" in info.value.reason
    assert "not a volume: secondary capture (no position))" in info.value.reason
    mpr = load_scan(folder, series_uid=_by_role(full, "mpr").uid)
    # the coronal stack holds the same voxels at the same world positions
    ijk = np.array([5, 7, 3, 1.0])
    world = ct.affine @ ijk
    back = np.linalg.solve(mpr.volume.affine, world)[:3]
    assert np.allclose(back, np.round(back), atol=1e-3)
    got = mpr.volume.array[tuple(np.round(back).astype(int))]
    assert got == ct.array[5, 7, 3]


def test_a_dicomdir_stands_for_its_cd(studies: dict[str, object]) -> None:
    cd, full, ct = studies["cd"], studies["full"], studies["ct"]
    assert isinstance(cd, Path) and isinstance(full, list) and isinstance(ct, Volume)
    dicomdir = cd / "DICOMDIR"
    assert dicomdir.is_file()
    with pytest.raises(SeriesChoiceError) as info:
        load_scan(dicomdir)
    assert info.value.source == str(dicomdir)  # errors name the path the user gave
    scan = load_scan(dicomdir, series_uid=series_uid_hash(_by_role(full, "soft").uid))
    np.testing.assert_array_equal(scan.volume.array, ct.array)
    # the DICOMDIR in a folder is named for what it is, not as a broken file
    scan = load_scan(cd, series_uid=series_uid_hash(_by_role(full, "soft").uid))
    assert any("DICOMDIR (the index" in w for w in scan.info.warnings), scan.info.warnings


def test_localizers_inside_the_series_are_left_out(studies: dict[str, object]) -> None:
    """Some scanners export the topogram with the axial series' UID: the two lateral/AP
    images (another size and orientation) made the series unusable ("slices differ in
    size"); they are left out and the warning says so."""
    folder, ct = studies["scout_in"], studies["ct"]
    assert isinstance(folder, Path) and isinstance(ct, Volume)
    scan = load_scan(folder)
    np.testing.assert_array_equal(scan.volume.array, ct.array)
    assert any("left out 2 localizer (scout) images" in w for w in scan.info.warnings)


def test_a_scout_not_typed_localizer_is_left_out(tmp_path: Path) -> None:
    """A topogram whose ImageType does not say LOCALIZER (an export that rewrote it, a
    scanner that calls it otherwise): its AP and lateral views lie in two planes, so the
    series cannot be a volume and the study's only volume is loaded, the warning naming
    what was left out. Until session 30 the two views counted as a candidate volume and
    the study was refused as holding "2 DICOM series that could each be the scan"."""
    ct = _ct()
    study = ct_study(ct, tmp_path / "_w", extra=())
    for ds in _by_role(study, "scout").datasets:
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
    folder = write_study(study, tmp_path / "s", layout="flat")
    scan = load_scan(folder)
    np.testing.assert_array_equal(scan.volume.array, ct.array)
    said = [w for w in scan.info.warnings if "1 series of images in several planes" in w]
    assert len(said) == 1, scan.info.warnings
    assert not _leaks(said[0]), said
    # asked for by its hash, the views are still refused as no volume
    with pytest.raises(ScanError, match="slices differ in size"):
        load_scan(folder, series_uid=series_uid_hash(_by_role(study, "scout").uid))


@pytest.mark.parametrize("syntax", ["rle", "jpegls", "jpeg-lossless"])
def test_compressed_studies_load_the_same_values(studies: dict[str, object], syntax: str) -> None:
    folder, ct = studies[syntax], studies["ct"]
    assert isinstance(folder, Path) and isinstance(ct, Volume)
    np.testing.assert_array_equal(load_scan(folder).volume.array, ct.array)


def test_a_syntax_without_decoder_is_refused_before_decoding(
    studies: dict[str, object],
) -> None:
    folder = studies["nodecoder"]
    assert isinstance(folder, Path)
    with pytest.raises(ScanError) as info:
        load_scan(folder)
    line = info.value.one_line()
    assert "1.2.840.10008.1.2.4.201" in line and "no decoder" in line, line
    # and what to install for pydicom to read it (session 30: it named no decoder)
    assert "pylibjpeg-openjpeg" in line and "pip install pylibjpeg" in line, line
    # the study's files are named after the patient (QUIMBY_2_0001.dcm): the line starts
    # with the folder given and names the file by its place (session 25; it was the file)
    assert info.value.source == str(folder), line
    assert "of 20 (name withheld: it holds patient identifiers)" in line, line
    assert "QUIMBY" not in line[len(str(folder)) :], line


def test_archives_are_refused_with_what_to_do(studies: dict[str, object], tmp_path: Path) -> None:
    folder = studies["one"]
    assert isinstance(folder, Path)
    zipped = zip_folder(folder, tmp_path / "export.zip")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(zipped, arcname="export.zip")
    tarred = tmp_path / "export.tar"
    tarred.write_bytes(buf.getvalue())
    for path, kind in ((zipped, "a zip archive"), (tarred, "a tar archive")):
        with pytest.raises(ScanError) as info:
            load_scan(path)
        assert info.value.reason.startswith(kind) and "unpack it" in info.value.reason


def test_mr_study_refusal_names_the_mr_option(tmp_path: Path) -> None:
    """An MR study (T1 and venogram) given with --mr: the refusal asks for --mr-series,
    and --mr-series loads the chosen one (StageContext.mr, before anything is written)."""
    from twinsep.plan import PlanOptions, StageContext

    rng = np.random.default_rng(3)
    t1 = Volume(rng.integers(0, 900, size=(20, 18, 10)).astype(np.int16), np.eye(4))
    ven = Volume(rng.integers(0, 900, size=(20, 18, 10)).astype(np.int16), np.eye(4))
    series = mr_study({"t1": t1, "venogram": ven}, tmp_path / "_w")
    folder = write_study(series, tmp_path / "mr", layout="cd")
    ctx = StageContext(PlanOptions(scan_path=tmp_path / "ct.nii.gz", mr_path=folder))
    with pytest.raises(SeriesChoiceError) as info:
        ctx.mr  # noqa: B018 - the property loads and checks the MR
    assert "choose one with --mr-series HASH" in info.value.reason
    # T1 and venogram told apart by sequence, TR/TE and contrast (not by description)
    t1_hash, ven_hash = (series_uid_hash(s.uid) for s in series)
    assert f"#100 {t1_hash} (MR, axial, 10 files" in info.value.reason
    assert "*tfl3d1_16ns, TR 2000 ms, TE 2.9 ms)" in info.value.reason
    assert f"#200 {ven_hash} (MR" in info.value.reason
    assert "*fl3d1, TR 5.1 ms, TE 2.2 ms, contrast)" in info.value.reason
    assert _leaks(info.value.reason) == []
    assert "--series HASH" not in info.value.reason.replace("--mr-series", "")
    chosen = series_uid_hash(series[1].uid)[:10]
    ctx = StageContext(
        PlanOptions(scan_path=tmp_path / "ct.nii.gz", mr_path=folder, mr_series_uid=chosen)
    )
    np.testing.assert_array_equal(ctx.mr.volume.array, ven.array)
    assert isinstance(info.value, InputError)  # exit 2 through the CLI


def test_mr_series_without_mr_is_an_input_error(tmp_path: Path) -> None:
    from twinsep.plan import PlanOptions

    with pytest.raises(InputError, match="--mr-series: chooses a series of the --mr scan"):
        PlanOptions(scan_path=tmp_path / "ct.nii.gz", mr_series_uid="abc")


def test_the_seg_export_leaves_scouts_inside_the_series_out(
    studies: dict[str, object], tmp_path: Path
) -> None:
    """The DICOM-SEG references the loaded slices only: with the scouts of the series
    among its sources, a whole plan stopped with exit 1 (frames of 22 rows written into
    a 24-row SEG: "could not broadcast input array")."""
    from twinsep.interop.dicomseg import find_sources, write_dicom_seg

    folder = studies["scout_in"]
    assert isinstance(folder, Path)
    scan = load_scan(folder)
    sources = find_sources(folder, scan.info.series_uid_hash)
    assert len(sources) == SHAPE[2]  # 16 slices, not the 2 localizers
    labels = np.zeros(scan.volume.shape, np.uint8)
    labels[4:20, 4:18, 2:14] = 1
    twins = (labels > 0).astype(np.uint8)
    twins[12:, :, :] *= 2
    out = tmp_path / "seg.dcm"
    write_dicom_seg(
        scan.volume.with_array(labels),
        scan.volume.with_array(twins),
        sources,
        out,
        colour_a="#7B3FA0",
        colour_b="#F28C28",
    )
    assert [t for t in IDENTITY.tokens() if t in out.read_bytes()] == []


def test_a_full_series_uid_is_recorded_as_its_hash(tmp_path: Path) -> None:
    """A SeriesInstanceUID is an identifier (PS3.15); plan.json already kept only its hash
    in ``input`` but wrote the UID given to --series / --mr-series into ``options``."""
    from twinsep.plan import PlanOptions, assemble_plan

    uid, mr_uid = "1.2.826.0.1.3680043.8.498.77.2948", "1.2.826.0.1.3680043.8.498.77.5104"
    opts = PlanOptions(
        scan_path=tmp_path / "ct", series_uid=uid, mr_path=tmp_path / "mr", mr_series_uid=mr_uid
    )
    plan = assemble_plan(opts, {"path": str(tmp_path / "ct")}, {}, [], {}, {}, {})
    assert plan["options"]["series_uid"] == series_uid_hash(uid)
    assert plan["options"]["mr_series_uid"] == series_uid_hash(mr_uid)
    assert uid not in str(plan) and mr_uid not in str(plan)
    short = PlanOptions(scan_path=tmp_path / "ct", series_uid="e77181ba")  # a hash stays
    assert assemble_plan(short, {}, {}, [], {}, {}, {})["options"]["series_uid"] == "e77181ba"
    kept = PlanOptions(scan_path=tmp_path / "ct", series_uid=uid, keep_phi=True)
    assert assemble_plan(kept, {}, {}, [], {}, {}, {})["options"]["series_uid"] == uid


def test_pydicom_dicomdir_tree_lists_its_real_series() -> None:
    """pydicom's own CD tree (two patients, CT and MR, real headers): the DICOMDIR given
    as the scan lists the candidate volumes with real kernels and sequences, and one of
    them loads by its hash. Its two GE MR three-plane localizers (one image per plane,
    ImageType ORIGINAL/PRIMARY/OTHER) and its seven radial MR projections lie in several
    planes each: not volumes (session 30; they were listed as 3 of 5 candidates)."""
    import pydicom

    root = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"
    if not (root / "DICOMDIR").is_file():
        pytest.skip("pydicom's dicomdirtests are not installed")
    with pytest.raises(SeriesChoiceError) as info:
        load_scan(root / "DICOMDIR")
    reason = info.value.reason
    assert info.value.n == 2 and reason.count("kernel STANDARD") == 2, reason
    assert "not volumes, left out: 1 localizer (scout)" in reason
    assert "3 series of images in several planes (a localizer or scout?)" in reason
    scan = load_scan(root / "DICOMDIR", series_uid="887a203c")
    assert scan.volume.shape == (16, 16, 5) and scan.info.modality == "CT"


def test_a_cd_with_the_ct_and_the_mr_study(studies: dict[str, object], tmp_path: Path) -> None:
    """One CD holds both studies (common for a referral): given as the scan it lists the
    CT and MR volumes; given with --mr, only MR series are candidates, so its only MR
    volume is taken without --mr-series."""
    from twinsep.plan import PlanOptions, StageContext

    ct = studies["ct"]
    assert isinstance(ct, Volume)
    rng = np.random.default_rng(8)
    t1 = Volume(rng.integers(0, 900, size=(20, 18, 10)).astype(np.int16), np.eye(4))
    series = ct_study(ct, tmp_path / "_w1", extra=("thick",))
    series += mr_study({"t1": t1}, tmp_path / "_w2")
    cd = write_study(series, tmp_path / "both", layout="cd")
    with pytest.raises(SeriesChoiceError) as info:
        load_scan(cd / "DICOMDIR")
    assert info.value.n == 3 and "(MR, axial, 10 files" in info.value.reason
    ctx = StageContext(PlanOptions(scan_path=tmp_path / "ct.nii.gz", mr_path=cd / "DICOMDIR"))
    np.testing.assert_array_equal(ctx.mr.volume.array, t1.array)
    text = " ".join(ctx.mr.info.warnings)
    assert "loaded the only one that is a volume" in text and "2 CT, not MR" in text, text


def test_mr_loader_warnings_reach_the_plan() -> None:
    """The MR's loader warnings (which series of a study was taken...) never reached
    plan.json; they are kept as 'MR: ...', and a re-run keeps every loader warning."""
    from twinsep.plan import PlanOptions, assemble_plan, loader_warnings

    info = {"warnings": ["slices are 7 mm apart"], "mr_warnings": ["MR: loaded the only one"]}
    plan = assemble_plan(
        PlanOptions(scan_path=Path("ct")), info, {}, ["segment: no contrast"], {}, {}, {}
    )
    assert plan["warnings"] == [
        "slices are 7 mm apart",
        "MR: loaded the only one",
        "segment: no contrast",
    ]
    assert loader_warnings(plan) == ["slices are 7 mm apart", "MR: loaded the only one"]


def test_a_withheld_scan_name_is_asked_for_plainly(tmp_path: Path) -> None:
    """A re-run of a plan made from a folder named after the patient needs --scan; the
    error named a path made of the plan folder and the withheld-name placeholder."""
    from twinsep.plan import WITHHELD_PATH, PlanOptions, StageContext

    ctx = StageContext(PlanOptions(scan_path=tmp_path / WITHHELD_PATH))
    with pytest.raises(InputError) as info:
        ctx.scan  # noqa: B018 - the property loads the scan
    line = info.value.one_line()
    assert line.startswith("--scan: stage plan must be recomputed") and WITHHELD_PATH not in line


def test_a_file_and_another_series_asked_for_is_an_error(studies: dict[str, object]) -> None:
    """A file names its series; --series naming another one was silently ignored."""
    folder, full = studies["flat"], studies["full"]
    assert isinstance(folder, Path) and isinstance(full, list)
    soft, bone = _by_role(full, "soft"), _by_role(full, "bone")
    one_file = folder / f"{soft.datasets[3].SOPInstanceUID}.dcm"
    same = load_scan(one_file, series_uid=series_uid_hash(soft.uid)[:8])
    assert same.info.series_uid_hash == series_uid_hash(soft.uid)
    with pytest.raises(ScanError, match="is not this file's series"):
        load_scan(one_file, series_uid=series_uid_hash(bone.uid))


@pytest.mark.parametrize("shared", [True, False])
def test_multiframe_candidates_are_listed_with_their_spacing(tmp_path: Path, shared: bool) -> None:
    """Enhanced (multi-frame) files keep pixel spacing and slice thickness in their
    functional groups (shared, or per frame): a listing shows them as for classic series."""
    from twinsep.io.enhanced_write import write_enhanced_dicom

    ct = _ct()
    thin = Volume(ct.array, np.diag([0.5, 0.5, 0.625, 1.0]))
    folder = tmp_path / "study"
    folder.mkdir()
    write_enhanced_dicom(ct, folder / "a.dcm", shared_groups=shared)
    write_enhanced_dicom(thin, folder / "b.dcm", shared_groups=shared)
    with pytest.raises(SeriesChoiceError) as info:
        load_scan(folder)
    text = info.value.reason
    n = SHAPE[2]
    px = f"{SHAPE[0]}×{SHAPE[1]} px"
    assert f"one multi-frame file of {n} frames, {px} of 0.8×0.8 mm, 1.5 mm slices" in text
    assert f"one multi-frame file of {n} frames, {px} of 0.5×0.5 mm, 0.625 mm slices" in text
