"""Fixtures of the bindings' tests (they test the installed wheel, never the source tree)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from bindings_helpers import open_library

from opentelemetry_parquet import OtlpLibrary


@pytest.fixture(autouse=True)
def _no_parquet_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTEL_PARQUET_* variable of the caller's environment leaks into a test."""
    for name in list(os.environ):
        if name.startswith("OTEL_PARQUET_"):
            monkeypatch.delenv(name)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store directory that does not exist yet (the library creates it)."""
    return tmp_path / "store"


@pytest.fixture
def library(store: Path) -> Iterator[OtlpLibrary]:
    """A library writing into ``store``, shut down after the test."""
    lib = open_library(store)
    yield lib
    if not lib.is_shutdown():
        lib.shutdown()
