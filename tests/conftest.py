"""Shared fixtures: a clean environment for settings, and loguru output captured per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from adaptive_stream.settings import ENV_PREFIX

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ADAPTIVE_STREAM_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every loguru message emitted during the test, formatted as ``LEVEL message``."""
    lines: list[str] = []
    handler = logger.add(lambda m: lines.append(f"{m.record['level'].name} {m.record['message']}"))
    try:
        yield lines
    finally:
        logger.remove(handler)
