"""The results store's writes run on one thread off the event loop: in order, and a failure stops the run."""
import threading

import pytest

from stt_arena.eval.runner import SinkThread


def test_writes_keep_their_order_and_run_off_the_calling_thread():
    seen, threads = [], set()
    w = SinkThread()
    put = w.wrap(lambda x: (seen.append(x), threads.add(threading.get_ident())))
    for i in range(500):
        put(i)
    w.close()  # everything handed over is written first
    assert seen == list(range(500)) and threading.get_ident() not in threads


def test_a_failed_write_is_raised_at_the_next_hand_over_and_at_close():
    w = SinkThread()
    gate = threading.Event()

    def write(x):
        gate.wait(5)
        if x == 1:
            raise OSError(28, "No space left on device")
    put = w.wrap(write)
    put(0)
    put(1)
    put(2)  # queued behind the failing write: never written
    gate.set()
    with pytest.raises(OSError, match="No space"):
        w.close()
    with pytest.raises(OSError):
        put(3)
