"""A re-run of an existing plan after twinsep changed: the plan it starts from
(:class:`EarlierPlan`), the cache key of every stage's result, and which results of
the earlier twinsep it keeps (with a warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from twinsep.plan_cache import CACHE_DIR, KEY_CHARS, _file_digest, stage_key
from twinsep.plan_context import Stage
from twinsep.plan_options import PlanOptions

#: How the warning of a re-run that kept an earlier twinsep's results begins
#: (:class:`EarlierPlan`); made again by every re-run, so not carried over.
KEPT_PREFIX = "re-run: "


@dataclass(frozen=True)
class EarlierPlan:
    """The plan folder a re-run (``twinsep schedule/report DIR``) starts from.

    A stage whose inputs the re-run does not change keeps the plan's own result when
    this twinsep's code differs from the code that made it (every cache key holds the
    code's digest): re-rendering the report or re-scheduling must not need the scan,
    which a plan does not keep (docs/DECISIONS.md, "A re-run after twinsep changed").

    Attributes
    ----------
    options : PlanOptions
        The options the plan was made with (:func:`options_from_plan` without overrides).
    keys : dict
        The cache key of each stage's result in the plan (plan.json ``cache.keys``);
        empty for a plan made before they were recorded (then the one result of each
        stage in the plan's cache is the plan's).
    version : str
        The version of the twinsep that made the kept results.
    """

    options: PlanOptions
    keys: dict[str, str]
    version: str


def _plan_key(plan_dir: Path, name: str, recorded: str | None) -> str | None:
    """The key of stage ``name``'s result in the cache of the published plan
    ``plan_dir``: ``recorded`` (plan.json ``cache.keys``) when its entry is there, else,
    for a plan that recorded none, the stage's only entry (a finished plan holds one per
    stage); None otherwise."""
    cache = plan_dir / CACHE_DIR
    if recorded is not None:
        return recorded if (cache / f"{name}-{recorded}.pkl").is_file() else None
    found = [q.stem[len(name) + 1 :] for q in cache.glob(f"{name}-*.pkl")]
    found = [k for k in found if len(k) == KEY_CHARS and "-" not in k]
    return found[0] if len(found) == 1 else None


def _kept_warning(kept: Sequence[str], version: str) -> str:
    """The plan's warning when a re-run kept results of an earlier twinsep."""
    return (
        f"{KEPT_PREFIX}the results of {', '.join(kept)} are those of the twinsep that made "
        f"this plan (version {version}; this twinsep's code differs), kept as they were: "
        "recomputing them would need the scan. The other stages and the plan's files "
        "(report.html, the schedule, the models) were made by this twinsep from them, so "
        "the plan mixes two versions of twinsep; to recompute it wholly with this one, "
        "give the scan (--scan SCAN) or plan again with 'twinsep plan SCAN --out DIR --force'"
    )


def _plan_keys(
    stage_list: Sequence[Stage],
    options: PlanOptions,
    digests: dict[str, str | None],
    earlier: EarlierPlan | None,
    out_dir: Path,
    cache_dir: Path,
) -> tuple[dict[str, str], list[str]]:
    """The cache key of every stage's result in this run, and the stages that keep the
    result of an earlier twinsep (:class:`EarlierPlan`).

    A stage is kept when the re-run does not change what it reads (its key under
    ``earlier.options`` is its key under ``options``), this twinsep has no result for it,
    and the plan's cache holds one; it then keeps that result's key, and the keys of the
    stages after it hold that key (a result computed from a kept one is never taken for
    one computed from this twinsep's own).
    """
    keys: dict[str, str] = {}
    kept: list[str] = []
    if earlier is not None:
        before = dict(digests)
        # the plan's copies of its team and stage files (None when gone)
        team, stage_file = earlier.options.team_path, earlier.options.stages_path
        before["team"] = _file_digest(team) if team and Path(team).is_file() else None
        before["stages"] = (
            _file_digest(stage_file) if stage_file and Path(stage_file).is_file() else None
        )
    now: dict[str, str] = {}
    then: dict[str, str] = {}
    for s in stage_list:  # a key depends on definitions only, not on results
        key = stage_key(s, options, digests, keys)
        if earlier is not None:
            now[s.name] = stage_key(s, options, digests, now)
            then[s.name] = stage_key(s, earlier.options, before, then)
            if now[s.name] == then[s.name] and not (cache_dir / f"{s.name}-{key}.pkl").is_file():
                old = _plan_key(out_dir, s.name, earlier.keys.get(s.name))
                if old is not None:
                    key = old
                    kept.append(s.name)
        keys[s.name] = key
    return keys, kept
