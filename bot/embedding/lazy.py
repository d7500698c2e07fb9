"""The model loaded on a background thread, so start-up never waits for it.

The bot answers lexically until `ready` (the core's `Semantics.ready` asks); a caller that
wants the model's answer (a one-shot CLI `ask`) waits for it. A load that fails leaves the
bot lexical and says why in its notice, as an eager load would.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from bot.embedding.encoder import DIMENSION, OnnxEncoder, encoder_name
from bot.embedding.files import INSTALL_COMMAND

log = logging.getLogger(__name__)


class LazyEncoder:
    """Satisfies the core's `Encoder` at once (name and dimension need no load); embeds once
    the model has loaded on its own thread (`encode` before then waits)."""

    def __init__(self, folder: Path, *, quantized: bool = True) -> None:
        self.name = encoder_name(folder, quantized)
        self.dimension = DIMENSION
        self._folder = folder
        self._quantized = quantized
        self._encoder: OnnxEncoder | None = None
        self.problem: str | None = None
        self._loaded = threading.Event()
        # Not a daemon: a process that exits mid-load waits for it (onnxruntime aborts the
        # process if torn down while building a session).
        threading.Thread(target=self._load, name="model-load").start()

    def _load(self) -> None:
        try:
            encoder = OnnxEncoder(self._folder, quantized=self._quantized)
            encoder.encode(["warm up"])
            self._encoder = encoder
        except Exception as exc:  # any failure to load degrades to lexical, reported once
            self.problem = (
                f"embedding model in {self._folder} failed to load ({type(exc).__name__}): "
                f"answering lexically; run `{INSTALL_COMMAND}` again"
            )
            log.warning("%s: %s", self.problem, exc)
        finally:
            self._loaded.set()

    @property
    def ready(self) -> bool:
        """Loaded and warmed up: questions may use it."""
        return self._encoder is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Until the load has ended; whether the model is usable."""
        self._loaded.wait(timeout)
        return self.ready

    @property
    def notice(self) -> str:
        if self.problem is not None:
            return self.problem
        if not self.ready:
            return f"embedding model {self.name} loading: answering lexically until it is ready"
        return f"embedding model {self.name}"

    def encode(self, texts: list[str]) -> np.ndarray:
        self.wait()
        if self._encoder is None:
            raise RuntimeError(self.problem or "the embedding model did not load")
        return self._encoder.encode(texts)
