"""The Rust work runs without the GIL: a Python thread keeps counting while a large export (and a
flush) runs in Rust.

No assertion is on time. The counter's progress during a call is compared with its progress over
an equally long stretch in which this thread sleeps (GIL released): a call that held the GIL would
let the counter run only in the few switch intervals of the call's Python parts (well under a
tenth of the baseline); a call that releases it lets the counter run throughout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bindings_helpers import T0, batch, dumps, event, open_library, rows, span

SPANS = 50_000


class Counter(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="gil-counter", daemon=True)
        self.count = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.count += 1


@pytest.fixture
def counter() -> Iterator[Counter]:
    thread = Counter()
    thread.start()
    while thread.count == 0:
        time.sleep(0.001)
    yield thread
    thread.done.set()
    thread.join()


def progress(counter: Counter, call: Callable[[], object]) -> tuple[int, int]:
    """How far the counter got during ``call``, and during an equally long GIL-free sleep."""
    before = counter.count
    started = time.perf_counter()
    call()
    elapsed = time.perf_counter() - started
    during = counter.count - before
    before = counter.count
    time.sleep(elapsed)
    return during, counter.count - before


def test_export_and_flush_run_without_the_gil(counter: Counter, store: Path) -> None:
    spans = [
        span(
            span_id=i.to_bytes(8, "big"),
            name=f"op{i % 7}",
            start=T0 + i,
            end=T0 + i + 1_000,
            attributes={"i": i, "s": "x" * 20, "f": i / 3, "tags": ["a", "b"]},
            events=[event("e", T0 + i, {"n": i})],
        )
        for i in range(SPANS)
    ]
    data = dumps(batch(spans))
    # 50,000 spans are counted as their rows and as the request held until the writer takes it.
    library = open_library(store, max_buffer_bytes=512 << 20)
    # The scheduler may not hand the GIL to the counter within one short call: a call passes when
    # the counter keeps up in any of three tries (a call that held the GIL would fail all three).
    seen: dict[str, list[tuple[int, int]]] = {"export_traces": [], "flush": []}
    exported: list[int] = []
    try:
        for _ in range(3):
            seen["export_traces"].append(progress(counter, lambda: exported.append(library.export_traces(data))))
            seen["flush"].append(progress(counter, library.flush))
            if all(any(during >= baseline // 4 for during, baseline in tries) for tries in seen.values()):
                break
    finally:
        library.shutdown()
    for call, tries in seen.items():
        assert any(during >= baseline // 4 for during, baseline in tries), (
            f"the counter advanced (during {call}, during an equally long sleep): {tries}"
        )
    assert exported == [SPANS] * len(seen["flush"])
    assert len(rows(store, "traces")) == SPANS * len(seen["flush"])
