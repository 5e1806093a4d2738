"""Fixtures shared by the feedback tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded and generated files in a temporary MEDIA_ROOT (recordings, their parts)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def fresh_worker_copies():
    """The worker's per-process copies of frameworks and their assessors start and end empty, so a
    test's frameworks are read from its own database (feedback/services/assessors.py)."""
    from feedback.services import assessors

    assessors._current.clear()
    assessors._assessor_of.clear()
    yield
    assessors._current.clear()
    assessors._assessor_of.clear()
