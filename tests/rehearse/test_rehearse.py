"""Rehearsal: the plan ends separated; broken stage files say what still connects."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from twinsep.errors import ConfigError, InputError
from twinsep.rehearse import rehearse_plan
from twinsep.rehearse.core import apply_stages, contacts, tissue_words

from .conftest import joined_heads


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


def test_plan_order_ends_separated(plan_dir: Path) -> None:
    before = _digest(plan_dir)
    r = rehearse_plan(plan_dir)
    assert r.separated
    assert [s.number for s in r.steps] == [1, 2]
    # stage 1 divides only the vessel; the twins are still joined by the rest
    assert set(r.steps[0].divided_mm2) == {"vessel"}
    assert not r.steps[0].separated and r.steps[0].joined_components == 1
    assert r.steps[1].separated and r.steps[1].bridges == []
    assert r.problems == []
    # inputs untouched; pictures and json written
    assert _digest(plan_dir) == before
    for s in r.steps:
        assert s.picture and (plan_dir / s.picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((plan_dir / "rehearsal" / "rehearsal.json").read_text())
    assert saved["separated"] is True and len(saved["steps"]) == 2
    assert "SEPARATED" in r.describe()


def test_contact_areas_match_geometry() -> None:
    """The vessel tube crosses the interface in the 13 voxels of a disc of radius 2 vx;
    each A-B voxel face is 2 mm x 2 mm = 4 mm^2."""
    labels, twins, _ = joined_heads()
    br = {b.tissue: b.area_mm2 for b in contacts(labels.array, twins.array, labels)}
    assert br["vessel"] == pytest.approx(13 * 4.0)
    # total contact = every head voxel of the interface layer (counted on the grid)
    n = labels.shape[0]
    layer = (labels.array[n // 2 - 1] > 0) & (labels.array[n // 2] > 0)
    assert sum(br.values()) == pytest.approx(int(layer.sum()) * 4.0)


def test_missing_stage_names_the_vessel(plan_dir: Path, tmp_path: Path) -> None:
    sf = tmp_path / "stages.yaml"
    sf.write_text("stages:\n  - number: 2\n")
    r = rehearse_plan(plan_dir, stages_path=sf, render=False)
    assert not r.separated
    assert [b.tissue for b in r.steps[-1].bridges] == ["vessel"]
    text = " ".join(r.problems)
    assert "stage 1" in text and "vessel" in text
    assert "NOT SEPARATED" in r.describe()


def test_wrong_order_shows_what_connects_after_each_step(plan_dir: Path, tmp_path: Path) -> None:
    sf = tmp_path / "stages.yaml"
    sf.write_text("[2, 1]\n")
    r = rehearse_plan(plan_dir, stages_path=sf, render=False)
    # the last step still separates, but the first shows the shared vessel still joining
    assert r.separated
    assert not r.steps[0].separated
    assert [b.tissue for b in r.steps[0].bridges] == ["vessel"]
    assert any("order" in p for p in r.problems)
    j = r.to_json()
    assert j["steps"][0]["remaining"][0]["tissue"] == "vessel"
    assert j["steps"][0]["remaining_area_mm2"] == pytest.approx(52.0)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[7]\n", "not in the plan"),
        ("[1, 1]\n", "twice"),
        ("- foo\n", "no integer"),
        ("{}\n", "must list"),
    ],
)
def test_bad_stage_file(plan_dir: Path, tmp_path: Path, text: str, needle: str) -> None:
    sf = tmp_path / "stages.yaml"
    sf.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        rehearse_plan(plan_dir, stages_path=sf, render=False)


def test_not_a_plan_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="plan.json"):
        rehearse_plan(tmp_path)


def test_missing_label_map(plan_dir: Path) -> None:
    (plan_dir / "separation.nii.gz").unlink()
    with pytest.raises(InputError, match="separation.nii.gz"):
        rehearse_plan(plan_dir)


def test_grid_mismatch_is_input_error() -> None:
    labels, twins, cut = joined_heads()
    from twinsep.volume import Volume

    shifted = Volume(cut.array, cut.affine + [[0, 0, 0, 1.0], [0] * 4, [0] * 4, [0] * 4])
    with pytest.raises(InputError, match="grid"):
        apply_stages(labels, twins, shifted, [1, 2])


def test_cli_rehearse_json(plan_dir: Path) -> None:
    from typer.testing import CliRunner

    from twinsep.cli import app

    res = CliRunner().invoke(app, ["--json", "rehearse", str(plan_dir)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["separated"] is True


def test_contacts_are_described_in_words(plan_dir: Path, tmp_path: Path) -> None:
    assert tissue_words("soft_tissue+bone") == "soft tissue against bone"
    assert tissue_words("brain+csf") == "brain against CSF" and tissue_words("vessel") == "vessel"
    sf = tmp_path / "stages.yaml"
    sf.write_text("stages:\n  - number: 2\n")
    r = rehearse_plan(plan_dir, stages_path=sf, render=False)
    text = r.describe() + " ".join(r.problems)
    assert "soft tissue" in text
    assert "_" not in text and "+" not in text and "csf" not in text
    assert r.initial_bridges and all(  # the saved keys are unchanged
        "+" in b.tissue or " " not in b.tissue for b in r.initial_bridges
    )
