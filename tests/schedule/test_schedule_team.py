"""team.yaml validation: good files load; every error names the line and the field."""

from __future__ import annotations

import hashlib
import textwrap

import pytest

from twinsep.errors import ConfigError, InputError
from twinsep.schedule.team import load_team, parse_team, team_to_yaml
from twinsep.schedule.template import default_team

GOOD = textwrap.dedent(
    """\
    people:
      - {name: NS-1, skills: [neurosurgeon], team: shared, max_continuous_h: 12, handover_min: 15}
      - name: AN-A1
        skills: [anaesthetist]
        team: A
        max_continuous_h: 10
        handover_min: 10
    rooms: [OR-1]
    tables:
      - {name: joint, room: OR-1, twin: joint, fields: 2}
    equipment: {microscope: 2}
    tasks:
      - name: induction A
        duration_min: [30, 45, 60]
        needs: {anaesthetist: 1}
        twin: A
        table: joint
      - name: craniotomy
        duration_min: 90
        needs: {neurosurgeon: 1, anaesthetist@A: 1}
        equipment: {microscope: 1}
        after: [induction A]
    """
)


def test_good_file_loads():
    team = parse_team(GOOD)
    assert [p.name for p in team.people] == ["NS-1", "AN-A1"]
    assert team.person("AN-A1").max_continuous_min == 600  # 10 h in minutes
    assert team.tasks[1].duration_min == (90, 90, 90)  # one number = fixed duration
    assert team.tasks[1].after == ("induction A",)


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_team(text, source="team.yaml")
    assert isinstance(info.value, InputError)  # exit code 2 in the CLI
    msg = info.value.one_line()
    assert "\n" not in msg
    return msg


def test_wrong_type_names_line_and_field():
    bad = GOOD.replace("max_continuous_h: 10", "max_continuous_h: ten")
    msg = _error(bad)
    assert msg.startswith("team.yaml: line 6, field people[1].max_continuous_h")
    assert "'ten'" in msg


def test_bad_enum_names_line_and_field():
    msg = _error(GOOD.replace("team: A\n", "team: C\n"))
    assert "line 5, field people[1].team" in msg


def test_durations_out_of_order():
    msg = _error(GOOD.replace("[30, 45, 60]", "[30, 70, 60]"))
    assert "line 14, field tasks[0].duration_min" in msg
    assert "min <= most likely <= max" in msg


def test_unknown_predecessor_and_table_and_equipment():
    assert "line 22, field tasks[1].after[0]: unknown predecessor task 'induction B'" in _error(
        GOOD.replace("after: [induction A]", "after: [induction B]")
    )
    assert "line 17, field tasks[0].table: table 'A-table'" in _error(
        GOOD.replace("table: joint", "table: A-table")
    )
    assert "field tasks[1].equipment.laser" in _error(GOOD.replace("{microscope: 1}", "{laser: 1}"))


def test_duplicate_person_and_missing_section():
    dup = GOOD.replace("name: AN-A1", "name: NS-1")
    assert "line 3, field people[1].name: duplicate name 'NS-1'" in _error(dup)
    no_rooms = GOOD.replace("rooms: [OR-1]\n", "")
    assert "field rooms: Field required" in _error(no_rooms)


def test_invalid_yaml_and_non_mapping():
    # the parser reports the problem where the flow sequence should have closed
    assert "line 3: not valid YAML" in _error("people:\n  - [unclosed\n")
    assert "must be a mapping" in _error("- a\n- b\n")


def test_load_team_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="team file does not exist"):
        load_team(tmp_path / "nope.yaml")


def test_load_does_not_modify_file(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(GOOD)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    load_team(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_default_team_round_trips_through_yaml():
    team = default_team()
    again = parse_team(team_to_yaml(team))
    assert again == team
    assert 30 <= len(team.people) <= 45  # "more than 30 people" (UC Davis 2020)
    assert {p.team for p in team.people} == {"A", "B", "shared"}


def test_example_team_file_in_docs_is_the_default_team():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "team.example.yaml"
    assert load_team(path) == default_team()
