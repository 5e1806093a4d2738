"""Fixtures shared by the feedback tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded and generated files in a temporary MEDIA_ROOT (recordings, their parts)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT
