"""Cache keys and the cache of stage results.

A stage's key (:func:`stage_key`) hashes the input checksums, the package version and a
digest of its source code (:func:`code_digest`), the stage's parameters, the options it
uses and the keys of the stages it depends on; its result is cached in
``.cache/<stage>-<key>.pkl``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twinsep import __version__
from twinsep.plan_options import PlanOptions

if TYPE_CHECKING:  # the context module reads CACHE_DIR from here
    from twinsep.plan_context import Stage

logger = logging.getLogger(__name__)


CACHE_DIR = ".cache"
#: Hex characters of a stage's cache key (:func:`stage_key`).
KEY_CHARS = 24


def _stable(obj: Any) -> Any:
    """Convert parameters/options to a JSON-stable structure for hashing."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _stable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _stable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_stable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    if hasattr(obj, "value") and hasattr(obj, "name"):  # enums
        return obj.value
    return obj


def params_to_json(params: Any) -> Any:
    """JSON-ready view of a stage's parameter dataclass (None stays None)."""
    if params is None:
        return None
    return json.loads(json.dumps(_stable(params), default=str))


def _file_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (sorted by relative path)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(str(p.relative_to(path)).encode())
            h.update(_file_digest(p).encode())
        return h.hexdigest()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _segmentation_digest(input_info: dict[str, Any]) -> str | None:
    """Checksum of the user's segmentation and twin map (``input.segmentation``), or None
    for a plan made without them."""
    seg = input_info.get("segmentation")
    if not seg:
        return None
    twin_map = seg.get("twin_map") or {}
    return hashlib.sha256(f"{seg['sha256']}:{twin_map.get('sha256', '')}".encode()).hexdigest()


def _team_digest(options: PlanOptions) -> str | None:
    return None if options.team_path is None else _file_digest(options.team_path)


@functools.cache
def code_digest() -> str:
    """sha256 of twinsep's own source files (relative path and bytes, sorted by path).

    Part of every cache key: the package version alone is not bumped for every change,
    so a plan re-run after an update (or on another checkout) would reuse results that
    older code computed. Read once per process (~140 small files, a few ms).
    """
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def stage_key(
    stage: Stage, options: PlanOptions, digests: dict[str, str | None], dep_keys: dict[str, str]
) -> str:
    """Cache key of a stage: hash of everything its result depends on (the inputs, the
    package version and source code, the stage's parameters and options, and the keys of
    the stages it depends on)."""
    payload = {
        "stage": stage.name,
        "version": __version__,
        "code": code_digest(),
        "params": _stable(stage.params),
        "deps": {d: dep_keys[d] for d in stage.depends},
        # Every result is about one scan: its checksum always enters the key.
        "scan": digests.get("scan"),
        "uses": {},
    }
    for u in stage.uses:
        if u in ("scan", "mr"):
            payload["uses"][u] = digests.get(u)
        elif u == "team_path":
            payload["uses"][u] = digests.get("team")
        elif u == "stages_path":
            payload["uses"][u] = digests.get("stages")
        elif u in ("segmentation_path", "twin_map_path"):
            # the files' checksums (the file and its twin map), not their paths
            payload["uses"][u] = digests.get("segmentation")
        else:
            payload["uses"][u] = _stable(getattr(options, u))
    blob = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:KEY_CHARS]


def _cache_load(cache_dir: Path, name: str, key: str) -> Any | None:
    path = cache_dir / f"{name}-{key}.pkl"
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            payload = pickle.load(fh)  # noqa: S301 - our own cache files
        logger.debug("cache hit %s", path.name)
        return payload
    except Exception as exc:  # a damaged cache entry is recomputed
        logger.warning("ignoring damaged cache entry %s (%s)", path.name, exc)
        return None


def _cache_store(cache_dir: Path, name: str, key: str, payload: Any) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(f"{name}-*.pkl"):
        if old.name != f"{name}-{key}.pkl":
            old.unlink(missing_ok=True)
    tmp = cache_dir / f".{name}-{key}.pkl.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, cache_dir / f"{name}-{key}.pkl")
