"""The background thread base (adapters/background.py): start and stop idempotent, a pass
that raises logged and the loop going on, stop ending the wait between passes at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from structlog.testing import capture_logs

from cites_connector.adapters.background import BackgroundWorker


class Counting(BackgroundWorker):
    """Counts passes; raises on the passes listed in ``fail_on`` (1-based)."""

    name = "counting-worker"

    def __init__(self, interval: float, *, fail_on: frozenset[int] = frozenset()) -> None:
        super().__init__(interval)
        self.passes = 0
        self.fail_on = fail_on
        self.done = threading.Event()
        self.finished_in: str | None = None
        self.wait_after: float | None = None

    def run_pass(self) -> float | None:
        self.passes += 1
        if self.passes >= 3:
            self.done.set()
        if self.passes in self.fail_on:
            raise ValueError(f"pass {self.passes} failed")
        return self.wait_after

    def finished(self) -> None:
        self.finished_in = threading.current_thread().name


def test_start_runs_a_named_daemon_thread_and_stop_ends_it() -> None:
    worker = Counting(0.01)
    assert not worker.running
    worker.start()
    try:
        assert worker.running
        thread = worker._thread
        assert thread is not None and thread.daemon and thread.name == "counting-worker"
        assert worker.done.wait(5)
    finally:
        assert worker.stop(5)
    assert not worker.running
    assert worker.finished_in == "counting-worker"


def test_start_and_stop_are_idempotent() -> None:
    worker = Counting(60)
    assert worker.stop(1)  # never started: nothing to do
    worker.start()
    first = worker._thread
    worker.start()  # running: no second thread
    assert worker._thread is first
    assert sum(t.name == "counting-worker" for t in threading.enumerate()) == 1
    assert worker.stop(5)
    assert worker.stop(5)
    assert not worker.running
    worker.start()  # and it starts again after a stop
    try:
        assert worker.running and worker._thread is not first
    finally:
        assert worker.stop(5)


def test_a_pass_that_raises_is_logged_once_and_the_loop_goes_on() -> None:
    worker = Counting(0.01, fail_on=frozenset({1}))
    with capture_logs() as logs:
        worker.start()
        try:
            assert worker.done.wait(5)
            assert worker.running
        finally:
            assert worker.stop(5)
    failed = [e for e in logs if e["event"] == "background.pass_failed"]
    assert len(failed) == 1
    assert failed[0]["worker"] == "counting-worker"
    assert failed[0]["error"] == "ValueError: pass 1 failed"
    assert worker.passes >= 3


def test_stop_wakes_the_wait_between_passes_promptly() -> None:
    worker = Counting(3600)
    worker.first_pass_at_once = True
    worker.start()
    deadline = time.monotonic() + 5
    while worker.passes < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.passes == 1  # the first pass at once, then an hour's wait
    started = time.monotonic()
    assert worker.stop(5)
    assert time.monotonic() - started < 1.0
    assert worker.passes == 1


def test_wake_ends_the_wait_but_sleep_waits_for_stop_only() -> None:
    worker = Counting(3600)
    worker.start()
    try:
        worker.wake()  # the first pass was an hour away
        assert _eventually(lambda: worker.passes == 1)
    finally:
        assert worker.stop(5)
    asleep = Counting(3600)
    woken = threading.Event()

    def sleeper() -> None:
        asleep.sleep(3600)
        woken.set()

    thread = threading.Thread(target=sleeper, daemon=True)
    thread.start()
    asleep.wake()
    assert not woken.wait(0.2)
    asleep.signal_stop()
    assert woken.wait(5)


def test_a_pass_returns_its_own_wait() -> None:
    worker = Counting(3600)
    worker.wait_after = 0.0  # work left: the next pass at once, not an hour later
    worker.first_pass_at_once = True
    worker.start()
    try:
        assert worker.done.wait(5)
    finally:
        assert worker.stop(5)


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False
