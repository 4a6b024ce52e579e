"""How ``make test`` spreads the suite over pytest-xdist workers.

``make test`` runs ``pytest -n 2 --dist loadscope``; with this conftest the unit of work
handed to a worker is a whole test module (so a module fixture is built once), or all
the modules of one entry of ``SAME_WORKER`` together (so a cache that they share, such
as ``real_cases.colin_case``, is filled once). Modules with tests marked
``pytest.mark.slow`` are handed out first, so that no long module starts last while the
other worker sits idle. Without ``-n`` nothing here changes the run.

A plan that several modules read is made once by a session fixture
(``vertical_ii_plan``), its modules in one ``SAME_WORKER`` group.

``SAME_WORKER`` is a table, not ``xdist_group`` marks: with pytest 9.2 and
pytest-xdist 3.8 ``--dist loadgroup`` no longer sees those marks and spreads the tests
one by one (pytest-dev/pytest-xdist#1386).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tree_digest import tree_digest

#: Modules (path from the repository root) that must run on one worker, by group name.
SAME_WORKER: dict[str, str] = {
    # both build the Colin27 real-vertical case through real_cases.colin_case
    "tests/segment/test_realdata.py": "colin27",
    "tests/fusion/test_axes_real.py": "colin27",
    # both use the plan of the fixture vertical_ii_plan below
    "tests/test_e2e.py": "vertical-ii-80",
    "tests/test_plan_edited.py": "vertical-ii-80",
    "tests/anaesthesia/test_blood_plan.py": "vertical-ii-80",
}


#: Where ``vertical_ii_plan`` puts the CT it plans, beside ``nifti/``: a file and folder
#: named after a patient (a NIfTI says nothing else about whose it is).
NAMED_SCAN = "Zzdoe^Zzjohn_MRN12345678/ZZDOE_ZZJOHN_87654321_ct.nii.gz"


@pytest.fixture(scope="session")
def vertical_ii_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The vertical-II phantom (80 voxels, seed 3) written as NIfTI (``ct``, ``labels``,
    ``twins``) and planned once by ``python -m twinsep.cli --quiet plan``, checked to leave
    its input as it was: ``(folder of the NIfTI files, plan folder)``, read-only for the
    tests (``test_e2e.py``, ``test_plan_edited.py``, ``anaesthesia/test_blood_plan.py``).

    The CT planned is a copy of ``ct.nii.gz`` named after a patient, in a folder named
    after the patient (:data:`NAMED_SCAN`; ``test_e2e.py`` searches the whole plan for
    those names). The CLI's stdout and stderr are kept beside the plan folder
    (``cli_output.txt``)."""
    from twinsep.phantom import make_phantom, write_phantom

    nifti = tmp_path_factory.mktemp("vertical_ii_80") / "nifti"
    write_phantom(make_phantom("vertical-II", size=80, seed=3), nifti)
    named = nifti.parent / NAMED_SCAN
    named.parent.mkdir()
    named.write_bytes((nifti / "ct.nii.gz").read_bytes())
    out = tmp_path_factory.mktemp("vertical_ii_80_ref") / "plan"
    before = tree_digest(nifti.parent)
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "--quiet", "plan", str(named), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(nifti.parent) == before, "the input was modified"
    (out.parent / "cli_output.txt").write_text(proc.stdout + proc.stderr)
    return nifti, out


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
