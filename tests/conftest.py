"""Fixtures the cross-language tests share."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_process import Serve


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    if sys.platform == "win32":
        pytest.skip("SIGTERM is how this test stops the server; Windows has no SIGTERM to send")
    server = Serve(tmp_path / "served")
    yield server
    if server.process.poll() is None:
        server.process.kill()
