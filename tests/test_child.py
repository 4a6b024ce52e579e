"""Follow-up calls on a child process (``ChildJob.then``, issue 10).

A follow-up runs in the same child after the first call, with the first call's result
and arguments; its reply is used only when the first result was taken from the child,
and every failure path ends in the caller's own fallback, never in a hang or a wrong
result.
"""

from __future__ import annotations

import sys

import numpy as np

from twinsep.child import start_child, start_spare


def _total(values: np.ndarray, offset: float) -> float:
    return float(values.sum()) + offset


def _describe(result: float, values: np.ndarray, offset: float, *, scale: float) -> tuple:
    # the first result and the first call's arguments, as the child holds them
    return result * scale, values.shape, float(values[-1]), offset


def _fail(values: np.ndarray) -> float:
    raise ValueError("no")


def _values() -> np.ndarray:
    return np.arange(1000, dtype=np.float64)


def test_follow_up_gets_the_first_result_and_arguments() -> None:
    job = start_child(_total, _values(), 0.5, name="total")
    assert job is not None
    follow = job.then(_describe, name="describe", scale=2.0)
    assert follow is not None
    assert job.result(lambda: -1.0) == 499500.5
    # fallbacks that differ from the child's answers: a pass proves the child replied
    assert follow.result(lambda: ()) == (999001.0, (1000,), 999.0, 0.5)
    assert not job._process.is_alive()  # no call waits: the child has ended


def test_follow_up_of_a_failed_first_call_is_computed_by_the_caller() -> None:
    job = start_child(_fail, _values(), name="fail")
    assert job is not None
    follow = job.then(_describe, name="describe", scale=2.0)
    assert follow is not None
    assert job.result(lambda: 7.0) == 7.0  # not a passthrough error: the fallback
    assert follow.result(lambda: ("own",)) == ("own",)


def test_follow_up_of_a_lost_first_call_is_computed_by_the_caller() -> None:
    job = start_child(_total, _values(), 0.0, name="total")
    assert job is not None
    follow = job.then(_describe, name="describe", scale=1.0)
    assert follow is not None
    job.kill_for_test()  # as if killed for memory
    assert job.result(lambda: -1.0) == -1.0
    assert follow.result(lambda: ("own",)) == ("own",)


def test_cancelling_the_first_call_stops_the_follow_ups() -> None:
    job = start_child(_total, _values(), 0.0, name="total")
    assert job is not None
    follow = job.then(_describe, name="describe", scale=1.0)
    assert follow is not None
    job.cancel()
    assert not job._process.is_alive()
    # its first result was not used: the follow-up must not be either
    assert follow.result(lambda: ("own",)) == ("own",)


def test_no_follow_up_once_the_first_result_is_taken() -> None:
    job = start_child(_total, _values(), 0.0, name="total")
    assert job is not None
    assert job.result(lambda: -1.0) == 499500.0
    assert job.then(_describe, name="describe", scale=1.0) is None
    assert not job._process.is_alive()


def test_cancelled_follow_up_leaves_the_first_call() -> None:
    job = start_child(_total, _values(), 1.0, name="total")
    assert job is not None
    follow = job.then(_describe, name="describe", scale=1.0)
    assert follow is not None
    follow.cancel()
    assert job.result(lambda: -1.0) == 499501.0
    assert not job._process.is_alive()


def _loaded(module: str) -> bool:
    return module in sys.modules


def _loaded_and_total(module: str, values: np.ndarray, offset: float) -> tuple[bool, float]:
    return module in sys.modules, float(values.sum()) + offset


def _describe_all(
    result: tuple[bool, float], module: str, values: np.ndarray, offset: float, *, scale: float
) -> tuple:
    return result, module, values.shape, offset * scale


def test_spare_process_takes_the_first_call_with_its_modules_and_leading_args() -> None:
    # control: a fresh child has not imported the module (nor has this test's module)
    fresh = start_child(_loaded, "colorsys", name="fresh")
    assert fresh is not None
    assert fresh.result(lambda: True) is False
    values = _values()
    spare = start_spare(name="spare", preload=("colorsys",), head=("colorsys", values))
    assert spare is not None
    job = start_child(_loaded_and_total, "colorsys", values, 0.5, name="loaded", spare=spare)
    assert job is not None
    assert job._process is spare.process  # no second interpreter
    follow = job.then(_describe_all, name="describe", scale=2.0)
    assert follow is not None
    # fallbacks that differ from the child's answers: a pass proves the child replied
    assert job.result(lambda: (False, -1.0)) == (True, 499500.5)
    # the follow-up gets every argument, the leading ones sent ahead included
    assert follow.result(lambda: ()) == ((True, 499500.5), "colorsys", (1000,), 1.0)
    spare.cancel()  # taken already: leaves the job's process alone, which has ended
    assert not job._process.is_alive()


def test_spare_is_not_used_for_other_leading_args_or_once_cancelled() -> None:
    values = _values()
    spare = start_spare(name="spare", head=(values,))
    assert spare is not None
    # equal values but not the objects sent ahead: a fresh process, the spare ended
    job = start_child(_total, _values(), 0.0, name="total", spare=spare)
    assert job is not None
    assert job._process is not spare.process
    assert not spare.process.is_alive()
    assert job.result(lambda: -1.0) == 499500.0
    spare = start_spare(name="spare", head=(values,))
    assert spare is not None
    spare.cancel()
    assert not spare.process.is_alive()
    job = start_child(_total, values, 1.0, name="total", spare=spare)
    assert job is not None
    assert job._process is not spare.process
    assert job.result(lambda: -1.0) == 499501.0


def test_spare_cancelled_while_sending_its_head_ends_quietly(monkeypatch) -> None:
    # a plan refused in the twins stage cancels the min-cut's spare while it still sends
    # the labels (ch2better, 35 MB): the pipe was closed under the sending thread, whose
    # write then died with a TypeError traceback on stderr beside the one-line refusal
    import threading

    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda a: died.append(a.exc_value))
    big = np.zeros(64_000_000, np.uint8)  # far more than a pipe's buffer
    spare = start_spare(name="spare", head=(big,))
    assert spare is not None
    spare.cancel()
    assert not spare.sender.is_alive()
    assert not spare.process.is_alive()
    assert died == []
