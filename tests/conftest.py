"""How ``make test`` spreads the suite over pytest-xdist workers.

``make test`` runs ``pytest -n 2 --dist loadscope``; with this conftest the unit of work
handed to a worker is a whole test module (so a module fixture is built once), or all
the modules of one entry of ``SAME_WORKER`` together (so a cache that they share, such
as ``real_cases.colin_case``, is filled once). Modules with tests marked
``pytest.mark.slow`` are handed out first, so that no long module starts last while the
other worker sits idle. Without ``-n`` nothing here changes the run.

``SAME_WORKER`` is a table, not ``xdist_group`` marks: with pytest 9.2 and
pytest-xdist 3.8 ``--dist loadgroup`` no longer sees those marks and spreads the tests
one by one (pytest-dev/pytest-xdist#1386).
"""

from __future__ import annotations

from typing import Any

import pytest

#: Modules (path from the repository root) that must run on one worker, by group name.
SAME_WORKER: dict[str, str] = {
    # both build the Colin27 real-vertical case through real_cases.colin_case
    "tests/segment/test_realdata.py": "colin27",
    "tests/fusion/test_axes_real.py": "colin27",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the slow-marked tests first (a stable sort: otherwise the
    collection order)."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope`` with whole modules (or ``SAME_WORKER`` groups) as units,
    in collection order (slow first) rather than most-tests-first."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return SAME_WORKER.get(module, module)

    return ModuleScheduling(config, log)
