"""The report's Parameters appendix: every stage's settings as name/value rows in words
and numbers, never a Python repr of a nested dict."""

from __future__ import annotations

import html
import re

from test_report import _plan

from twinsep.plan_cache import params_to_json
from twinsep.report.render import parameter_rows, render_report
from twinsep.stages import pipeline

_ROW = re.compile(r'<tr><td class="mono">([^<]*)</td><td class="mono">([^<]*)</td></tr>')


def _methods_rows(page: str) -> dict[str, str]:
    methods = page.split('<section id="methods"', 1)[1]
    return {html.unescape(k): html.unescape(v) for k, v in _ROW.findall(methods)}


def test_nested_settings_are_rows_of_plain_values() -> None:
    plan = _plan()
    plan["parameters"] = {
        "segment": {
            "tissues": {"smooth_sigma_mm": 0.6, "ratio": 1 / 3, "fill": True, "cap_ml": None},
            "kernel": {"profile_mm": [-3.0, 12.0], "pairs": [[1, 2], [3, 4]]},
        },
        "reconstruct": {"catalogue": [{"code": "O40", "width_mm": 40, "custom": False}]},
    }
    rows = _methods_rows(render_report(plan, {}))
    assert rows["tissues.smooth_sigma_mm"] == "0.6"
    assert rows["tissues.ratio"] == "0.333333"  # six significant digits, not 16
    assert rows["tissues.fill"] == "yes" and rows["tissues.cap_ml"] == "none"
    assert rows["kernel.profile_mm"] == "-3, 12"
    assert rows["kernel.pairs"] == "(1, 2), (3, 4)"
    assert rows["catalogue[0]"] == "code O40 · width_mm 40 · custom no"


def test_every_stage_default_parameters_render_without_python_reprs() -> None:
    """The real parameter sets of every stage, as plan.json records them: the Methods
    section showed ``{'smooth_sigma_mm': 0.6, ...}`` and ``0.333333333333333``."""
    plan = _plan()
    plan["parameters"] = {s.name: params_to_json(s.params) for s in pipeline()}
    page = render_report(plan, {})
    methods = html.unescape(page.split('<section id="methods"', 1)[1])
    for repr_mark in ("{'", "['", "None", "True", "False", "333333333"):
        assert repr_mark not in methods, repr_mark
    # every leaf setting is one row: the count of rows is the count of leaves
    n_rows = len(_ROW.findall(page.split('<section id="methods"', 1)[1]))
    n_leaves = sum(len(parameter_rows(p)) for p in plan["parameters"].values() if p)
    assert n_rows == n_leaves > 100
