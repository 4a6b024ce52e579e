"""The shapes benchmark's configurations (phantom3 cases with ``shapes``).

Names: union (vt vertical total, vp vertical partial, atNN angular total with axis angle
NN deg, vf/vl/vo vertical by type (axis >= 140 deg) but joined off the vertex: frontal,
lateral, occipital; a number after vt/vl/vo is the face rotation), site (occ, lat =
parietal, tp = temporoparietal, front = frontal, faces turned toward each other, asym =
twin A's vertex on twin B's parietal region), contrast (c15) or plain (p15) CT with 15 HU
noise, then the heads: ``smallNN`` (head B NN % of head A's length), ``hydroA``/``hydroB``
(that head hydrocephalic and macrocephalic, 160 mm; ``-normal``: at 135 mm), ``bigB``
(160 mm without hydrocephalus), ``plagio-same`` (both heads plagiocephalic and flattened
on the same world side: their skulls' long axes turn the same way), ``plagio-opp``
(flattened on opposite world sides: the skulls' axes turn apart), ``scapho`` (cephalic
index 0.67; ``-mild`` 0.74), ``brachy`` (0.98). Each case's baseline (``baseline_cases``)
is a regular-shape phantom3 case of the same CT and grid: the same union for the shape
cases, and for the unusual sites the nearest union the earlier blind benchmarks hold (at120
occipital, or vertical total).
Head A is 135 mm (6 months); head B is phantom3's 130 mm unless said.
"""

from __future__ import annotations

from typing import Any

from blind.phantom3 import Case, CtParams, GridParams, HeadParams, UnionParams
from blind.shapes import (
    BRACHY,
    HYDRO,
    HYDRO_HEAD,
    HYDRO_MILD,
    PLAGIO_LEFT,
    PLAGIO_RIGHT,
    SCAPHO,
    SCAPHO_MILD,
    SCAPHO_VAULT,
    ShapeParams,
    ShapesCase,
)

SPACING_MM = 2.5


def _grid(spacing_mm: float) -> GridParams:
    return GridParams(shape=None, spacing_mm=(spacing_mm, spacing_mm, spacing_mm))


def _ct(contrast: bool) -> CtParams:
    return CtParams(contrast=contrast, noise_hu=15.0, supersample=2)


def _vt(rotation_deg: float = 0.0, completeness: str = "total") -> UnionParams:
    return UnionParams(
        kind="vertical",
        completeness=completeness,  # type: ignore[arg-type]
        overlap_mm=16.0,
        rotation_deg=rotation_deg,
    )


def _at(tilt_deg: float, site_deg: float, rotation_deg: float = 0.0) -> UnionParams:
    return UnionParams(
        kind="angular",
        completeness="total",
        overlap_mm=16.0,
        tilt_deg=tilt_deg,
        site_deg=site_deg,
        rotation_deg=rotation_deg,
    )


_AT120 = _at(30.0, 180.0)
#: lateral union: A right parietal to B left parietal (with a 180 deg spin: faces alike)
_LAT: dict[str, Any] = {"junction_a": (42.5, 90.0), "junction_b": (42.5, 270.0)}
_PLAIN = ShapeParams()


def _case(
    name: str,
    union: UnionParams,
    *,
    contrast: bool = True,
    seed: int = 1,
    spacing_mm: float = SPACING_MM,
    head_a: HeadParams | None = None,
    head_b: HeadParams | None = None,
    shape_a: ShapeParams = _PLAIN,
    shape_b: ShapeParams = _PLAIN,
    junction_a: tuple[float, float] | None = None,
    junction_b: tuple[float, float] | None = None,
    baseline_union: UnionParams | None = None,
) -> tuple[ShapesCase, Case]:
    if spacing_mm != SPACING_MM:
        name += f"-{spacing_mm}mm"
    base = Case(
        name,
        union,
        _ct(contrast),
        _grid(spacing_mm),
        head_a=head_a or HeadParams(length_mm=135.0),
        head_b=head_b or HeadParams(length_mm=130.0),
        seed=seed,
    )
    bu = baseline_union or union
    bname = (
        f"base-{bu.kind[0]}{bu.completeness[0]}-r{bu.rotation_deg:g}-t{bu.tilt_deg:g}"
        f"-s{bu.site_deg:g}-{'c15' if contrast else 'p15'}-seed{seed}"
    )
    if spacing_mm != SPACING_MM:
        bname += f"-{spacing_mm}mm"
    baseline = Case(bname, bu, _ct(contrast), _grid(spacing_mm), seed=seed)
    return ShapesCase(name, base, shape_a, shape_b, junction_a, junction_b), baseline


def _hb(frac: float) -> HeadParams:
    return HeadParams(length_mm=round(135.0 * frac, 1))


def _all() -> list[tuple[ShapesCase, Case]]:
    vt = _vt()
    return [
        # -- unequal and deformed heads, vertical total (baseline: regular vt) ----------
        _case("vt-c15-small80", vt, head_b=_hb(0.80)),
        _case("vt-p15-small80", vt, contrast=False, head_b=_hb(0.80)),
        _case("vt-c15-hydroB", vt, head_b=HYDRO_HEAD, shape_b=HYDRO),
        _case("vt-c15-small75-hydroA", vt, head_a=HYDRO_HEAD, shape_a=HYDRO, head_b=_hb(0.75)),
        # local R / R: the second head is turned over, so its flattening is on the other
        # world side - the skulls' long axes turn apart (the worst case for a face
        # direction taken from the skull's shape)
        _case("vt-c15-plagio-opp", vt, shape_a=PLAGIO_RIGHT, shape_b=PLAGIO_RIGHT),
        _case("vt-c15-plagio-same", vt, shape_a=PLAGIO_RIGHT, shape_b=PLAGIO_LEFT),
        _case("vt90-c15-plagio-opp", _vt(90.0), shape_a=PLAGIO_RIGHT, shape_b=PLAGIO_RIGHT),
        _case(
            "vt180-c15-small80-plagio",
            _vt(180.0),
            head_b=_hb(0.80),
            shape_a=PLAGIO_RIGHT,
            shape_b=PLAGIO_RIGHT,
        ),
        _case("vt-c15-scapho", vt, shape_a=SCAPHO, shape_b=SCAPHO),
        _case("vt-c15-brachy", vt, shape_a=BRACHY, shape_b=BRACHY),
        _case("vt-c15-scaphoA-brachyB", vt, shape_a=SCAPHO, shape_b=BRACHY),
        _case(
            "vp-c15-small75-hydroA",
            _vt(completeness="partial"),
            seed=2,
            head_a=HYDRO_HEAD,
            shape_a=HYDRO,
            head_b=_hb(0.75),
        ),
        # -- vertical by type (axis 150 deg) but joined off the vertex -------------------
        _case("vf0-front-c15", _at(15.0, 0.0), baseline_union=vt),
        _case("vl90-lat-c15", _at(15.0, 90.0, 90.0), baseline_union=_vt(90.0)),
        # -- angular, unusual sites (baseline: at120 occipital). Lateral: twin A's right
        # parietal on twin B's left parietal, side by side, faces alike (phantom3's own
        # lateral union, one site for both heads, joins right to right with the faces
        # opposite; spun 180 deg it puts the heads in line: vl180-lat, vertical by type)
        _case("at95-lat-c15", _at(42.5, 90.0, 180.0), seed=6, **_LAT, baseline_union=_AT120),
        _case(
            "at95-lat-c15-small80-plagio",
            _at(42.5, 90.0, 180.0),
            seed=6,
            head_b=_hb(0.80),
            shape_a=PLAGIO_RIGHT,
            **_LAT,
            baseline_union=_AT120,
        ),
        _case("at123-lat-c15-rot90", _at(42.5, 90.0, 90.0), seed=6, **_LAT, baseline_union=_AT120),
        _case("vl180-lat-c15", _at(42.5, 90.0, 180.0), seed=6, baseline_union=_AT120),
        # temporoparietal (site 105 deg, 47.5 deg from the vertex): axis 89 deg
        _case(
            "at89-tp-c15",
            _at(47.5, 105.0, 180.0),
            seed=6,
            junction_a=(47.5, 105.0),
            junction_b=(47.5, 255.0),
            baseline_union=_AT120,
        ),
        # frontal, foreheads joined, the faces turned toward each other
        _case("at100-front-c15", _at(40.0, 0.0), seed=6, baseline_union=_AT120),
        _case(
            "at100-front-p15-small85",
            _at(40.0, 0.0),
            contrast=False,
            seed=6,
            head_b=_hb(0.85),
            baseline_union=_AT120,
        ),
        # occipital tilts spun 180 deg: the heads in line but offset (vertical by type)
        _case("vo180-occ-c15-rot180", _at(42.5, 180.0, 180.0), seed=6, baseline_union=_AT120),
        # twin A's vertex on twin B's right parietal region (80 deg from its vertex)
        _case(
            "at100-asym-c15",
            _at(40.0, 90.0),
            seed=6,
            junction_a=(0.0, 90.0),
            junction_b=(80.0, 90.0),
            baseline_union=_AT120,
        ),
        _case(
            "at95-lat-c15-hydroB",
            _at(42.5, 90.0, 180.0),
            seed=6,
            head_b=HYDRO_HEAD,
            shape_b=HYDRO,
            **_LAT,
            baseline_union=_AT120,
        ),
        # -- added after the first run read vt-c15-hydroB angular (axis 132.8): which of
        # hydrocephalus, macrocephaly, head B's side or the seed does it
        _case("vt-c15-hydroB-s2", vt, seed=2, head_b=HYDRO_HEAD, shape_b=HYDRO),
        _case("vt-c15-bigB", vt, head_b=HYDRO_HEAD),
        _case("vt-c15-hydroA", vt, head_a=HYDRO_HEAD, shape_a=HYDRO),
        _case("vt-c15-hydroB-normal", vt, head_b=HeadParams(length_mm=135.0), shape_b=HYDRO),
        # -- added after the first run read both scaphocephalic heads' axes along the
        # face->occiput diagonal: one head only, a milder index, another seed, 1.5 mm
        _case("vt-c15-scaphoA", vt, shape_a=SCAPHO),
        _case("vt-c15-scapho-mild", vt, shape_a=SCAPHO_MILD, shape_b=SCAPHO_MILD),
        _case("vt-c15-scapho-s3", vt, seed=3, shape_a=SCAPHO, shape_b=SCAPHO),
        _case("vt-c15-scapho", vt, spacing_mm=1.5, shape_a=SCAPHO, shape_b=SCAPHO),
        _case("vt-c15-hydroB", vt, spacing_mm=1.5, head_b=HYDRO_HEAD, shape_b=HYDRO),
        # -- added after the final run: the same long vaults over a normal face (the
        # stretch moved the faces too), to tell the vault's shape from the face's
        _case("vt-c15-scapho-vault", vt, shape_a=SCAPHO_VAULT, shape_b=SCAPHO_VAULT),
        _case("vt-c15-scapho-vault-s3", vt, seed=3, shape_a=SCAPHO_VAULT, shape_b=SCAPHO_VAULT),
        # milder ventriculomegaly (a 20 mm mantle) at both head sizes
        _case("vt-c15-hydro20B", vt, head_b=HYDRO_HEAD, shape_b=HYDRO_MILD),
        _case("vt-c15-hydro20B-normal", vt, head_b=HeadParams(length_mm=135.0), shape_b=HYDRO_MILD),
        # -- finer grid ------------------------------------------------------------------
        _case(
            "at95-lat-c15-small80-plagio",
            _at(42.5, 90.0, 180.0),
            seed=6,
            spacing_mm=1.5,
            head_b=_hb(0.80),
            shape_a=PLAGIO_RIGHT,
            **_LAT,
            baseline_union=_AT120,
        ),
    ]


def shapes_cases() -> dict[str, ShapesCase]:
    """Every configuration by name (deterministic)."""
    return {c.name: c for c, _b in _all()}


def baseline_cases() -> dict[str, Case]:
    """Each shapes case's regular-shape phantom3 baseline, by shapes case name."""
    return {c.name: b for c, b in _all()}
