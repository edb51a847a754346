"""Fixtures of the adapter tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Plain asserts in the shared helper modules explain their failures too.
pytest.register_assert_rewrite("parquet_store", "log_records")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ``OTEL_PARQUET_*`` variable of the caller's environment leaks into a test."""
    for name in list(os.environ):
        if name.startswith("OTEL_PARQUET_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A fresh store directory (not created yet: the library creates it)."""
    return str(tmp_path / "store")
