"""The probe cases (``probe_phantom.ProbeCase``) that ``benchmarks/bench_probe.py`` plans.

Spread over the space an outside grader would try: vertical and angular unions (axis
100-180 deg, twist 0-160 deg), skulls 1-6 mm with sutures and a fontanelle, boxy and
round heads, one twin smaller, necks or none, a table or none, noise 8-40 HU, voxels
1.5-3 mm and anisotropic, grids turned 25 deg, axes reversed (LPS-like), a scene turned
in the world, a scanner whose water reads +10 HU (or a slope of 1.03), plain CT; and the
inputs that must be refused: one head, two heads apart, a chest with no head.
"""

from __future__ import annotations

from probe.probe_phantom import Head, ProbeCase

_EYE = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def _head(**kw: object) -> Head:
    return Head(centre_mm=(0.0, 0.0, 0.0), frame=_EYE, **kw)  # type: ignore[arg-type]


#: name -> case; ``expect`` is the exit code a correct planner gives
PHANTOM_CASES: dict[str, ProbeCase] = {
    c.name: c
    for c in [
        ProbeCase("pv0-c15-2.5", tags=("base",)),
        ProbeCase(
            "pv90-c25-w10-aniso",
            twist_deg=90.0,
            spacing_mm=(1.6, 1.6, 3.0),
            noise_hu=25.0,
            water_hu=10.0,
            head=_head(neck_mm=40.0),
        ),
        ProbeCase(
            "pa120-c10-obl25-fl0",
            kind="angular",
            axis_deg=120.0,
            grid_turn_deg=25.0,
            flips=(0,),
            noise_hu=10.0,
            slope=1.03,
            seed=1,
        ),
        ProbeCase(
            "pa100-p30-lps-noneck",
            kind="angular",
            axis_deg=100.0,
            twist_deg=20.0,
            flips=(0, 1),
            contrast=False,
            noise_hu=30.0,
            table=False,
            head=_head(neck_mm=0.0),
            seed=2,
        ),
        ProbeCase(
            "pv160-c40-thick-boxy-2.0",
            twist_deg=160.0,
            spacing_mm=(2.0, 2.0, 2.0),
            noise_hu=40.0,
            psf_vox=0.8,
            head=_head(power=3.0, skull_mm=3.0, skull_max_mm=6.0, semi_mm=(66.0, 78.0, 70.0)),
            seed=3,
        ),
        ProbeCase(
            "pv30-c8-infant-small-b",
            twist_deg=30.0,
            spacing_mm=(1.5, 1.5, 2.5),
            noise_hu=8.0,
            head_b_scale=0.85,
            head=_head(
                semi_mm=(52.0, 62.0, 55.0),
                skull_mm=1.0,
                skull_max_mm=2.0,
                scalp_mm=3.0,
                neck_mm=30.0,
            ),
            contrast_hu=200.0,
            seed=4,
        ),
        ProbeCase("pv45-c15-scene35", twist_deg=45.0, scene_turn_deg=35.0, seed=5),
        ProbeCase(
            "pa135-c20-3mm",
            kind="angular",
            axis_deg=135.0,
            spacing_mm=(3.0, 3.0, 3.0),
            noise_hu=20.0,
            seed=6,
        ),
        ProbeCase("bad-single-head", kind="single", seed=7),
        ProbeCase("bad-apart-20mm", kind="apart", gap_mm=20.0, seed=8),
        ProbeCase("bad-torso", kind="torso", seed=9, table=True),
    ]
}


def expected_exit(case: ProbeCase) -> int:
    """0 for a craniopagus union, 2 for an input the issue says must be refused."""
    return 2 if case.kind in ("single", "apart", "torso") else 0
