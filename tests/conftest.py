"""Fixtures the cross-language tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_process import Serve


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    server = Serve(tmp_path / "served")
    yield server
    if server.process.poll() is None:
        server.process.kill()
