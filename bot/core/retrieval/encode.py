"""Passages → term ids for the index, analysed on several processes for large corpora.

Analysing passages was ~90 % of a cold build and pure CPU in Python: worker processes
analyse tasks of a few thousand passages, each returning its own small vocabulary and int32
ids; the results are merged in task order, which gives exactly the term ids (order of first
occurrence) of analysing everything in one process. Workers are spawned, not forked: a
reload builds in a thread of a running bot, and forking a threaded process is unsafe. Like
any spawned process they import the parent's main script, so scripts that build an engine
keep the ``if __name__ == "__main__":`` guard (``python -m bot`` needs none). Anything going
wrong with the workers falls back to analysing in this process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice

import numpy as np
import numpy.typing as npt

from bot.core.retrieval.build import CHUNK_TOKENS, EncodedCorpus, GrowingVocabulary
from bot.core.storage.strings import Packed, pack_strings, unpack_strings
from bot.core.text.analysis import analyze

log = logging.getLogger(__name__)

# Passages per task: ~0.1-0.2 s of analysis, so merging in order never waits long.
_TASK_PASSAGES = 2_000
# Below this, starting processes (~0.5 s each, in parallel) costs more than it saves.
MIN_PARALLEL_PASSAGES = 30_000
# Each worker holds ~100-150 MiB (interpreter, analyzer caches): more rarely pays.
_MAX_WORKERS = 8
# Workers run at a lower priority than the bot (see _lower_priority).
_WORKER_NICENESS = 10
# Tasks handed to the pool ahead of the one being merged (bounds memory in flight).
_AHEAD_PER_WORKER = 2

# (terms of the task in order of first occurrence, int32 ids into them, tokens per passage)
TaskResult = tuple[list[str], npt.NDArray[np.int32], npt.NDArray[np.int64]]
Task = tuple[Sequence[str], Sequence[str]]  # (titles, texts) of some passages


def default_workers() -> int:
    """Processes to analyse with: one per CPU this process may run on (up to _MAX_WORKERS)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_WORKERS))


def encode_passages(
    titles: Sequence[str],
    texts: Sequence[str],
    *,
    workers: int | None = None,
    min_parallel: int | None = None,
    chunk_tokens: int = CHUNK_TOKENS,
) -> EncodedCorpus:
    """Term ids of each passage's ``analyze(title) + analyze(text)`` (``passage_terms``).

    With fewer than `min_parallel` passages (default MIN_PARALLEL_PASSAGES) or one worker,
    everything is analysed in this process. The chunks (of about `chunk_tokens` tokens) are
    produced lazily, as the index consumes them.
    """
    if len(titles) != len(texts):
        raise ValueError("need one title per passage")
    n_workers = default_workers() if workers is None else workers
    if len(texts) < (MIN_PARALLEL_PASSAGES if min_parallel is None else min_parallel):
        n_workers = 1
    vocabulary = GrowingVocabulary()
    tasks = _Tasks(titles, texts)
    chunks = _merged_chunks(_results(tasks, n_workers), vocabulary, chunk_tokens)
    return EncodedCorpus(vocabulary, chunks)


class _Tasks:
    """The passages in tasks of _TASK_PASSAGES, each made only when it is handed out: texts
    may be made on access (columns.py), and a million at once took ~0.5 GiB."""

    def __init__(self, titles: Sequence[str], texts: Sequence[str]) -> None:
        self._titles, self._texts = titles, texts

    def __len__(self) -> int:
        return -(-len(self._texts) // _TASK_PASSAGES)

    def __iter__(self) -> Iterator[Task]:
        texts = iter(self._texts)
        for start in range(0, len(self._texts), _TASK_PASSAGES):
            chunk = self._titles[start : start + _TASK_PASSAGES]
            yield chunk, list(islice(texts, len(chunk)))


def encode_task(titles: Sequence[str], texts: Sequence[str]) -> TaskResult:
    """Analyse one task's passages into its own vocabulary (runs in a worker process)."""
    vocabulary = GrowingVocabulary()
    lookup = vocabulary.__getitem__
    title_terms: dict[str, list[str]] = {}  # a title is shared by all of an article's passages
    lengths = np.empty(len(texts), dtype=np.int64)
    ids: list[int] = []
    for i, (title, text) in enumerate(zip(titles, texts, strict=True)):
        head = title_terms.get(title)
        if head is None:
            head = title_terms[title] = analyze(title)
        body = analyze(text)
        ids.extend(map(lookup, chain(head, body)))
        lengths[i] = len(head) + len(body)
    return list(vocabulary), np.array(ids, dtype=np.int32), lengths


def _encode_packed(titles: Packed, texts: Packed) -> TaskResult:
    """`encode_task` on packed strings (what a worker is sent).

    Pickling each str instead would leave a cached UTF-8 copy inside every non-ASCII passage
    text for the life of the knowledge base (~150 MiB at 1M passages).
    """
    return encode_task(unpack_strings(*titles), unpack_strings(*texts))


def _merged_chunks(
    results: Iterator[TaskResult], vocabulary: GrowingVocabulary, chunk_tokens: int
) -> Iterator[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]]:
    """Map each task's ids to global ones, in task order, and batch them into index chunks.

    A task's new terms are met in its own order of first occurrence, after every term of
    the tasks before it: the ids are those of one pass over the whole corpus.
    """
    ids: list[npt.NDArray[np.int32]] = []
    lengths: list[npt.NDArray[np.int64]] = []
    n_tokens = 0
    for terms, local_ids, local_lengths in results:
        to_global = np.fromiter(map(vocabulary.__getitem__, terms), np.int32, count=len(terms))
        ids.append(to_global[local_ids])
        lengths.append(local_lengths)
        n_tokens += len(local_ids)
        if n_tokens >= chunk_tokens:
            yield np.concatenate(ids), np.concatenate(lengths)
            ids, lengths, n_tokens = [], [], 0
    if lengths:
        yield np.concatenate(ids), np.concatenate(lengths)


def _results(tasks: _Tasks, workers: int) -> Iterator[TaskResult]:
    """Each task's result, in order: from worker processes, or here if they cannot be used."""
    if workers <= 1 or len(tasks) <= 1:
        yield from (encode_task(*task) for task in tasks)
        return
    try:
        pool = ProcessPoolExecutor(
            workers, multiprocessing.get_context("spawn"), initializer=_lower_priority
        )
    except Exception as exc:  # no processes here (a sandbox, a daemon): analyse in this one
        log.warning("cannot start analysis workers (%s); analysing in one process", exc)
        yield from (encode_task(*task) for task in tasks)
        return
    try:
        yield from _pooled_results(pool, tasks, workers * _AHEAD_PER_WORKER)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _lower_priority() -> None:
    """Yield the CPUs to the serving process: a reload analyses while the bot answers, and on
    two cores two busy workers would otherwise delay its event loop by a time slice or more.

    Ctrl-C is the parent's to handle: workers dying of it would only make it analyse alone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # not permitted: run at the same priority
        os.nice(_WORKER_NICENESS)


def _pooled_results(pool: ProcessPoolExecutor, tasks: _Tasks, ahead: int) -> Iterator[TaskResult]:
    """Keep `ahead` tasks in the pool; a failed task (a worker died, could not start, could
    not take the data) is analysed here, and so is every task after it."""
    pending: deque[tuple[Task, Future[TaskResult] | None]] = deque()
    queue = iter(tasks)
    broken = False

    def submit(task: Task) -> Future[TaskResult] | None:
        nonlocal broken
        if broken:
            return None
        try:
            return pool.submit(_encode_packed, pack_strings(task[0]), pack_strings(task[1]))
        except Exception as exc:
            broken = True
            log.warning("analysis workers unavailable (%s); analysing in one process", exc)
            return None

    for task in queue:
        pending.append((task, submit(task)))
        if len(pending) >= ahead:
            break
    while pending:
        task, future = pending.popleft()
        result = None
        if future is not None:
            try:
                result = future.result()
            except Exception as exc:
                if not broken:
                    log.warning("analysis worker failed (%r); analysing in one process", exc)
                broken = True
        yield result if result is not None else encode_task(*task)
        for next_task in queue:
            pending.append((next_task, submit(next_task)))
            break
