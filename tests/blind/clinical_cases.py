"""The clinical benchmark's configurations (phantom3 cases plus ``clinical`` objects).

Names: union (vt vertical total, at120 angular total at 120 deg), contrast (c15) or plain
(p15) CT with 15 HU noise, then the objects: ``exp`` expanders with ports, ``hydro``
hydrocephalus, ``shunt``, ``tubes`` intubation, ``disc`` size discordance (head A 1.3x
head B's length), ``eeg`` electrodes, ``defect`` a vault bone defect, ``all`` everything.
Grids are 3 mm isotropic (about 96^3) unless the name ends in ``1.2mm``. The baseline of
each case (``baseline_cases``) is the same phantom3 case without the objects; for the
discordant case alone it is the concordant pair.
"""

from __future__ import annotations

from dataclasses import replace

from blind.clinical import ClinicalCase, ClinicalParams, discordant, standard_expanders
from blind.phantom3 import Case, CtParams, GridParams, UnionParams

_G3 = GridParams(shape=None, spacing_mm=(3.0, 3.0, 3.0))
_G12 = GridParams(shape=None, spacing_mm=(1.2, 1.2, 1.2))
_SIZES = (180.0, 90.0, 120.0, 60.0)  # mL: A right (remote port), A left, B right, B left


def _base(kind: str, contrast: bool, grid: GridParams, seed: int, name: str) -> Case:
    if kind == "vt":
        union = UnionParams(kind="vertical", completeness="total", overlap_mm=16.0)
    elif kind == "vt90":
        union = UnionParams(
            kind="vertical", completeness="total", overlap_mm=16.0, rotation_deg=90.0
        )
    else:
        union = UnionParams(
            kind="angular", completeness="total", overlap_mm=16.0, site_deg=180.0, tilt_deg=30.0
        )
    ct = CtParams(contrast=contrast, noise_hu=15.0, supersample=2 if grid is _G12 else 3)
    return Case(name, union, ct, grid, seed=seed)


def clinical_cases() -> dict[str, ClinicalCase]:
    """Every configuration by name (deterministic)."""
    exp = standard_expanders(_SIZES)
    everything = ClinicalParams(
        expanders=exp,
        hydrocephalus_head=0,
        shunt=True,
        intubation=True,
        electrodes=True,
        bone_defect_head=1,
    )
    vt_c = _base("vt", True, _G3, 1, "vt0-c15")
    vt_p = _base("vt", False, _G3, 1, "vt0-p15")
    at_c = _base("at", True, _G3, 6, "at120-occ-c15")
    at_p = _base("at", False, _G3, 6, "at120-occ-p15")
    cases = [
        ClinicalCase("vt0-c15-exp", vt_c, ClinicalParams(expanders=exp)),
        ClinicalCase("vt0-p15-exp", vt_p, ClinicalParams(expanders=exp)),
        ClinicalCase("vt0-c15-exp-nostreak", vt_c, ClinicalParams(expanders=exp, streaks=False)),
        # added after the first run (same generator and snapshot): is it the fill, its
        # asymmetry or the ports' metal that turns the union angular?
        ClinicalCase(
            "vt0-c15-exp-sym",
            vt_c,
            ClinicalParams(expanders=standard_expanders((120.0, 120.0, 120.0, 120.0))),
        ),
        ClinicalCase(
            "vt0-c15-exp-small",
            vt_c,
            ClinicalParams(expanders=standard_expanders((50.0, 50.0, 50.0, 50.0))),
        ),
        ClinicalCase(
            "vt0-c15-exp-noport",
            vt_c,
            ClinicalParams(expanders=tuple(replace(e, port="none") for e in exp)),
        ),
        ClinicalCase("vt0-c15-hydro", vt_c, ClinicalParams(hydrocephalus_head=0)),
        ClinicalCase("vt0-c15-hydro-shunt", vt_c, ClinicalParams(hydrocephalus_head=0, shunt=True)),
        ClinicalCase("vt0-p15-hydro-shunt", vt_p, ClinicalParams(hydrocephalus_head=0, shunt=True)),
        ClinicalCase("vt0-c15-tubes", vt_c, ClinicalParams(intubation=True)),
        ClinicalCase("vt0-c15-disc", discordant(vt_c), ClinicalParams()),
        ClinicalCase(
            "vt0-c15-eeg-defect", vt_c, ClinicalParams(electrodes=True, bone_defect_head=1)
        ),
        ClinicalCase("vt0-c15-all", discordant(vt_c), everything),
        ClinicalCase("vt0-p15-all", discordant(vt_p), everything),
        ClinicalCase("at120-occ-c15-exp", at_c, ClinicalParams(expanders=exp)),
        ClinicalCase("at120-occ-c15-all", discordant(at_c), everything),
        ClinicalCase("at120-occ-p15-all", discordant(at_p), everything),
        ClinicalCase(
            "vt90-c15-all-1.2mm",
            discordant(_base("vt90", True, _G12, 13, "vt90-c15-1.2mm")),
            everything,
        ),
        ClinicalCase(
            "at120-occ-c15-all-1.2mm",
            discordant(_base("at", True, _G12, 14, "at120-occ-c15-1.2mm")),
            everything,
        ),
    ]
    return {c.name: c for c in cases}


def baseline_cases() -> dict[str, Case]:
    """Each clinical case's baseline phantom3 case (named after its base), by case name."""
    out: dict[str, Case] = {}
    for name, c in clinical_cases().items():
        base = c.base
        if name == "vt0-c15-disc":
            base = _base("vt", True, _G3, 1, "vt0-c15")
        elif base.head_a.length_mm != 135.0:
            base = replace(base, name=base.name + "-disc")
        out[name] = base
    return out
