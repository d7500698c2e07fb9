"""The local sentence-embedding model: install, locate and load it (an adapter around the core).

`load_encoder` never raises: a missing or broken model gives `None` and one notice saying how to
fix it, and the bot answers lexically.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.core.retrieval.dense import Encoder
from bot.embedding.files import INSTALL_COMMAND, default_model_dir, is_installed
from bot.embedding.lazy import LazyEncoder

log = logging.getLogger(__name__)

OFF = frozenset({"off", "none", "false", "0", "no", ""})


@dataclass(frozen=True, slots=True)
class EncoderState:
    """What was loaded, or why nothing was: `notice` is the one line shown to people."""

    encoder: Encoder | None
    notice: str
    enabled: bool  # False: turned off by the setting (not a problem to report)

    @property
    def status(self) -> str:
        """The notice now: a model loading in the background says how far it is."""
        return self.encoder.notice if isinstance(self.encoder, LazyEncoder) else self.notice

    def wait(self, timeout: float | None = None) -> bool:
        """Until a model loading in the background is loaded (or failed); whether usable."""
        if isinstance(self.encoder, LazyEncoder):
            return self.encoder.wait(timeout)
        return self.encoder is not None


def model_dir(setting: str, models_dir: Path) -> Path | None:
    """The folder a BOT_EMBEDDING_MODEL value names; None when it turns the model off."""
    value = setting.strip()
    if value.lower() in OFF:
        return None
    if value.lower() == "default":
        return default_model_dir(models_dir)
    return Path(value).expanduser()


def load_encoder(
    setting: str, models_dir: Path, *, quantized: bool = True, wait: bool = True
) -> EncoderState:
    """The model a setting names, loading on its own thread (`wait`: until it has loaded; a
    load that fails then gives no encoder and the notice that says how to fix it)."""
    folder = model_dir(setting, models_dir)
    if folder is None:
        return EncoderState(None, "embedding model off (BOT_EMBEDDING_MODEL): lexical only", False)
    if not is_installed(folder):
        notice = (
            f"embedding model not installed in {folder}: answering lexically; "
            f"run `{INSTALL_COMMAND}`"
        )
        # INFO: `index`, `/kb` and the bot's log (INFO) say it; a CLI answer stays clean.
        log.info(notice)
        return EncoderState(None, notice, True)
    encoder = LazyEncoder(folder, quantized=quantized)
    if wait and not encoder.wait():
        return EncoderState(None, encoder.notice, True)
    return EncoderState(encoder, f"embedding model {encoder.name}", True)


@functools.lru_cache(maxsize=4)
def shared_encoder(setting: str, models_dir: Path, quantized: bool = True) -> EncoderState:
    """One load per process and setting, shared by every engine built after a reload.

    The model loads on a background thread (0.3-0.7 s, more on a loaded machine): start-up
    does not wait for it, and questions are answered lexically until it is ready.
    """
    return load_encoder(setting, models_dir, quantized=quantized, wait=False)
