"""The installed embedding model (`python -m bot model install`), for the tests that need it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.embedding.files import default_model_dir, is_installed

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = default_model_dir(REPO / "data" / "models")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The model `python -m bot model install` put in the repo's data/models (CI installs it)."""
    if not is_installed(MODEL_DIR):
        message = f"embedding model not installed in {MODEL_DIR}: run `python -m bot model install`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return MODEL_DIR
