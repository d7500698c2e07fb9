"""Run the sentence encoder: Hugging Face `tokenizers` in, onnxruntime graph out."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bot.embedding.files import FP32_GRAPH, INT8_GRAPH, MODEL_NAME

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
DIMENSION = 384


def encoder_name(folder: Path, quantized: bool) -> str:
    """What vectors are cached under: the model, its precision and its folder."""
    return f"{MODEL_NAME} ({'int8' if quantized else 'fp32'}, {folder})"


class OnnxEncoder:
    """Texts → unit-length float32 vectors (batch × 384); satisfies bot.core's `Encoder`."""

    def __init__(
        self,
        folder: Path,
        *,
        quantized: bool = True,
        threads: int | None = None,
        spinning: bool = True,
    ) -> None:
        """`spinning=False`: idle pool threads sleep instead of spinning (background work)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        graph = folder / (INT8_GRAPH if quantized else FP32_GRAPH)
        self.name = encoder_name(folder, quantized)
        self.dimension = DIMENSION
        self.quantized = quantized
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        # Few threads: the bot shares its cores with the event loop and other work.
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text, each a function of that text alone.

        int8: activations are quantised per run, so a text batched with others would get a
        slightly different vector each time; one text per run keeps the bot deterministic
        and, measured here, costs no throughput (no padding). fp32 batches by length.
        """
        batch = 1 if self.quantized else 32
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[chunk] = vectors
        return out
