"""Passage and sentence vectors computed in the background after a build, published in two
steps.

A build serves at once (BM25, and the model re-ranking each question's candidates); a
`VectorJob` embeds the passages the vector cache does not have yet on a worker thread at a
lower CPU priority, saves them beside the index and publishes the full matrix to the
engine's `Semantics` in one reference assignment, which switches the dense path on; then it
embeds their sentences (≈ 5 per passage, most of the work) and publishes them too, so a
question no longer embeds its candidate sentences itself. A
reload supersedes the job (cancelled; the next one starts when it has stopped and saved its
partial work, so nothing is embedded twice); the service's close stops it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.core.articles.models import KnowledgeBase
from bot.core.retrieval.dense import Encoder, Semantics
from bot.knowledge.vectors import VectorPlan, plan_vectors, save_vectors

log = logging.getLogger(__name__)

CHUNK = 16  # passages per step: a cancel is seen within one step (~0.1-0.5 s)
SAVE_EVERY_S = 60.0  # partial work saved this often, so a killed process keeps most of it
NICENESS = 10  # added to the worker thread's nice value (Linux schedules threads apart)
# Embedding starts this long after the build: a one-shot command (`ask`, `status`) is done
# and closed by then, so it neither pays for a second model session nor waits for a step.
START_DELAY_S = 2.0

State = Literal["waiting", "embedding", "cancelling", "ready", "cancelled", "failed"]


@dataclass(frozen=True, slots=True)
class VectorProgress:
    """How far the passage vectors are (`done` counts rows reused from the cache too), and
    how many passages have their sentences embedded (`split`, once the passages are done)."""

    done: int
    total: int
    state: State
    split: int | None = None

    def line(self) -> str:
        percent = 100 * self.done // self.total if self.total else 100
        line = f"vectors: {self.done:,} / {self.total:,} passages ({percent} %)"
        if self.split is not None and self.split < self.total:
            line += f", their sentences {100 * self.split // self.total} %"
        return line


def _lower_priority() -> None:
    """Nice the calling thread only: questions keep their priority. Threads it starts
    (onnxruntime's pool, if made here) inherit it."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


class VectorJob:
    """Embed `kb`'s passages not in the cache at `path`, then publish them to `semantics`.

    `encoder` is called on the worker thread (a session of its own, made at low priority).
    `after`: a superseded job this one waits for (it saves its partial work when stopping).
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        semantics: Semantics,
        encoder: Callable[[], Encoder],
        path: Path | None,
        *,
        after: VectorJob | None = None,
    ) -> None:
        self.kb = kb
        self.semantics = semantics
        self._encoder = encoder
        self._path = path
        self._after = after
        self._cancel = threading.Event()
        self.planned = threading.Event()  # `progress` counts the rows the cache had
        self._finished = threading.Event()
        self._done = 0
        self._split: int | None = None
        self._total = len(kb.passages)
        self._state: State = "waiting"
        self._thread = threading.Thread(target=self._run, name="passage-vectors", daemon=True)

    def start(self) -> VectorJob:
        self._thread.start()
        return self

    @property
    def progress(self) -> VectorProgress:
        stopping = self._cancel.is_set() and not self._finished.is_set()
        state = "cancelling" if stopping else self._state
        return VectorProgress(self._done, self._total, state, self._split)

    def cancel(self) -> None:
        """Ask the job to stop at its next step (it saves what it has)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the job has finished (ready, cancelled or failed); False on timeout."""
        return self._finished.wait(timeout)

    def join(self) -> None:
        """Stop the job and wait for its thread to end (blocking: call off the event loop)."""
        self.cancel()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            if self._after is not None:
                self._after.join()
                self._after = None  # the superseded job (and its knowledge base) can go
            _lower_priority()
            self._state = self._embed()
        except Exception:  # the bot answers on without the dense path; said in the status
            log.exception("computing the passage vectors failed")
            self._state = "failed"
        finally:
            self.planned.set()
            self._finished.set()

    def _embed(self) -> State:
        if self._cancel.is_set():
            return "cancelled"
        plan = plan_vectors(self.kb, self.semantics.encoder.dimension, self._path)
        self._done = plan.total - len(plan.missing)
        self._state = "embedding"
        self.planned.set()
        work = bool(plan.missing or plan.unsplit)
        if work and self._cancel.wait(START_DELAY_S):
            return "cancelled"
        encoder = self._encoder() if work else None
        started = time.perf_counter()
        if not self._steps(plan, plan.missing, plan.embed_passages, encoder, self._passages_done):
            return "cancelled"
        # The dense path needs only the passages: on now, the sentences follow.
        self.semantics.publish(plan.vectors, plan.sentence_vectors())
        unsplit = plan.unsplit
        self._split = plan.total - len(unsplit)
        if not self._steps(plan, unsplit, plan.embed_sentences, encoder, self._sentences_done):
            return "cancelled"
        if work or plan.stale:
            save_vectors(plan)
        self.semantics.publish(plan.vectors, plan.sentence_vectors())
        log.info(
            "passage vectors ready: %d embedded, %d from the cache, %d passages' sentences "
            "embedded (%.1f s)",
            len(plan.missing),
            plan.total - len(plan.missing),
            len(unsplit),
            time.perf_counter() - started,
        )
        return "ready"

    def _steps(
        self,
        plan: VectorPlan,
        rows: list[int],
        embed: Callable[[list[int], Encoder], None],
        encoder: Encoder | None,
        done: Callable[[int], None],
    ) -> bool:
        """Embed `rows` a step at a time, telling `done` how many and saving now and then;
        False when cancelled (its work so far saved)."""
        saved = time.perf_counter()
        for n in range(0, len(rows), CHUNK):
            if self._cancel.is_set():
                if n:
                    save_vectors(plan)
                log.info("vectors cancelled at %d / %d of a step's rows", n, len(rows))
                return False
            assert encoder is not None
            step = rows[n : n + CHUNK]
            embed(step, encoder)
            done(len(step))
            if time.perf_counter() - saved > SAVE_EVERY_S:
                save_vectors(plan)
                saved = time.perf_counter()
        return True

    def _passages_done(self, n: int) -> None:
        self._done += n

    def _sentences_done(self, n: int) -> None:
        self._split = (self._split or 0) + n
