"""The one service both front ends share: every action a user can take is a method here.

The CLI and the Discord cogs only parse input and render the models returned (Answer,
SearchReport, CitedPassage, ReloadReport, KbStatus); `QAService.start` and `QAService.index`
are the composition root that wires the store, the knowledge loader and the engine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.admin import AdminService, parse_since
from bot.core.answering.answers import Answer, Turn
from bot.core.answering.gaps import GapGroup
from bot.core.articles.diff import KnowledgeDiff, Snapshot, diff, diff_loaded
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine
from bot.core.requests import AskedBy
from bot.errors import BotError, KnowledgeError, NotFoundError, QuestionError
from bot.following import VersionFollower
from bot.inputs import clean_question
from bot.knowledge.background import VectorJob, VectorProgress
from bot.knowledge.factory import (
    build_engine,
    dense_notice,
    load_knowledge_base,
    start_vectors,
    wait_for_model,
)
from bot.knowledge.versions import Version, VersionStore, manifest_id
from bot.reports import fewer_hits, loaded_report, quote_at
from bot.results import (
    VOTE_VALUES,
    CitedPassage,
    KbStatus,
    ReloadReport,
    SearchHit,
    SearchReport,
    Vote,
)
from bot.settings import Settings
from bot.store import Store
from bot.store.base import ReloadRecord

log = logging.getLogger(__name__)

# The admin loop's boundary, for the front ends (which import only this module for behaviour).
__all__ = [
    "AdminService",
    "GapGroup",
    "KbStatus",
    "QAService",
    "ReloadReport",
    "VectorProgress",
    "Version",
    "clean_question",
    "parse_since",
]

MAX_REASON_CHARS = 300  # a 👎 reason is a hint for the admins, not an essay


# Told of every reload, done or refused (admin notifications); must not raise.
ReloadListener = Callable[[ReloadReport], Awaitable[None]]

# Told how far the passage vectors are while `index` waits for them.
VectorListener = Callable[[VectorProgress], None]


def _discard(task: asyncio.Future[KnowledgeBase]) -> None:
    """Drop a load nobody will use, its error included (no "never retrieved" warning)."""
    task.cancel()  # a running thread cannot be stopped; its result is just not wanted
    if task.done() and not task.cancelled():
        task.exception()


def _compare(old: KnowledgeBase, new: KnowledgeBase) -> tuple[Snapshot, KnowledgeDiff]:
    """Return the old knowledge base's article hashes (what the store syncs against) and
    what changed since."""
    return Snapshot.of(old, with_passages=False), diff_loaded(old, new)


class QAService:
    """Owns the current engine (swapped atomically on reload) and the store."""

    def __init__(self, settings: Settings, store: Store, engine: Engine) -> None:
        self.settings = settings
        self.store = store
        self._engine = engine
        self._loaded_at = datetime.now(UTC)
        self._reload_lock = asyncio.Lock()
        self.versions = VersionStore(
            settings.versions_dir,
            settings.knowledge_dir,
            keep=settings.versions_keep,
            max_file_bytes=settings.max_file_bytes,
        )
        self.reload_listeners: list[ReloadListener] = []
        self.admin = AdminService(self)  # the admin loop, built on this service
        self._vectors: VectorJob | None = None  # the engine's passage vectors, if pending
        # Several processes: the version a reload publishes, and following it (issue 15).
        self.origin = f"{socket.gethostname()}:{os.getpid()}"
        self.version_problem: str | None = None  # why this process is behind, for /kb
        self.following = VersionFollower(self)

    @classmethod
    async def start(cls, settings: Settings) -> QAService:
        """Load the knowledge base (off the event loop) and open the store."""
        service, _before = await cls._open(settings, passages_before=False)
        await service._record_version("start", None, "loaded at start-up")
        return service

    @classmethod
    async def index(
        cls,
        settings: Settings,
        actor: str | None = "cli",
        on_vectors: VectorListener | None = None,
    ) -> ReloadReport:
        """Validate and index the knowledge folder, bring the store in line, record it as a
        reload (and the folder as a version) and report what changed since the store's last
        build (nothing keeps serving). Waits for the passage vectors, telling `on_vectors`.

        KnowledgeError when nothing usable loaded, as at start-up.
        """
        started = time.perf_counter()
        service, before = await cls._open(settings, passages_before=True)
        async with service:
            engine = service.engine
            kb = engine.kb
            change = await asyncio.to_thread(lambda: diff(before, Snapshot.of(kb)))
            await service.wait_for_vectors(on_vectors)
            report = loaded_report("Indexed", engine, change, started, actor=actor, action="index")
            report.embedding = dense_notice(engine, settings, service._vectors)
            report.version = await service._record_version("index", actor, change.summary())
            await service._record(report)
        return report

    @classmethod
    async def _open(
        cls, settings: Settings, *, passages_before: bool
    ) -> tuple[QAService, Snapshot]:
        """The service on a synced store, and the store's snapshot from before the sync
        (passage ids only when asked: a million rows, for reports that count them)."""
        # The store's integrity check (~0.8-1 s at a million passages) runs while the folder
        # loads. A database that cannot be opened at all fails before the load; a damaged
        # one before any index is built, having waited for the load at most.
        await Store.probe(settings.database)
        loading = asyncio.ensure_future(asyncio.to_thread(load_knowledge_base, settings))
        try:
            store = await Store.open(settings.database, pool_size=settings.db_pool_size)
        except BaseException:
            _discard(loading)
            raise
        try:
            kb = await loading
            engine = await asyncio.to_thread(build_engine, kb, settings, background=True)
            before = await store.snapshot(with_passages=passages_before)
            await store.sync_knowledge(kb, before)
            service = cls(settings, store, engine)
            # The newest start (or reload) sets the version every process should serve.
            await store.publish_version(engine.version, service.origin)
        except BaseException:
            await store.close()
            raise
        service._vectors = start_vectors(engine, settings)
        return service, before

    @staticmethod
    async def check_database(settings: Settings) -> None:
        """ConfigError/StoreError now if the database cannot be used (before slow work)."""
        await Store.probe(settings.database)

    async def close(self) -> None:
        await self.following.stop()
        if self._vectors is not None:  # stop the background embedding (it saves its work)
            await asyncio.to_thread(self._vectors.join)
        await self.store.close()

    # --- passage vectors (computed in the background after each build) --------

    @property
    def vectors(self) -> VectorProgress | None:
        """How far the current engine's passage vectors are (None: none being computed)."""
        job = self._vectors
        if job is None or job.semantics is not self._engine.semantics:
            return None
        return job.progress

    async def wait_for_vectors(
        self, on_progress: VectorListener | None = None, every: float = 1.0
    ) -> VectorProgress | None:
        """Until the current engine's passage vectors are ready (or the job ended), telling
        `on_progress` every `every` seconds; questions are answered meanwhile."""
        while (job := self._vectors) is not None and job.semantics is self._engine.semantics:
            done = await asyncio.to_thread(job.wait, every)
            if on_progress is not None:
                on_progress(job.progress)
            if done:
                return job.progress
        return None

    async def wait_for_model(self) -> bool:
        """Until the embedding model (loaded in the background; questions are answered
        lexically meanwhile) is ready; whether it is usable. For one-shot answers that
        should have the model's."""
        if self._engine.semantics is None:
            return False
        return await asyncio.to_thread(wait_for_model, self.settings)

    async def __aenter__(self) -> QAService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    # --- questions -------------------------------------------------------------

    async def ask(
        self, question: str, asked_by: AskedBy | None = None, reply_to: int | None = None
    ) -> Answer:
        """Answer (or abstain), store it with its citations, and return it with its id.

        A follow-up leans on the answer it replies to (`reply_to`, an answer id, e.g. a
        Discord reply under an /ask answer) when given, else on the conversation's last
        answered turn in the store.
        """
        asked_by = asked_by or AskedBy()
        question = clean_question(question, self.settings.max_question_chars)
        previous = await self._previous_turn(asked_by, reply_to)
        engine = self._engine  # one snapshot for the whole question, even during a reload
        started = time.perf_counter()
        answer = await asyncio.to_thread(engine.answer, question, previous)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        answer.answer_id = await self.store.save_answer(answer, asked_by)
        return answer

    async def _previous_turn(self, asked_by: AskedBy, reply_to: int | None) -> Turn | None:
        if reply_to is not None:
            replied = await self.store.answer(reply_to)
            if replied is not None:
                return replied.as_turn()
        if asked_by.conversation_id:
            return await self.store.last_turn(asked_by.conversation_id)
        return None

    async def search(self, query: str, k: int = 10) -> SearchReport:
        """The best k passages for a query; fewer only with a reason (same limits as ask)."""
        if k < 1:
            raise QuestionError("Ask for at least one passage.")
        query = clean_question(query, self.settings.max_question_chars)
        engine = self._engine
        found = await asyncio.to_thread(engine.search, query, k)
        hits = [
            SearchHit(
                passage_id=h.passage.id,
                article_id=h.article.id,
                title=h.article.title,
                url=h.article.url,
                score=h.score,
                text=h.passage.text,
            )
            for h in found
        ]
        reason = (
            None
            if len(hits) >= k
            else fewer_hits(query, len(hits), engine.passage_count, engine.search_by_meaning())
        )
        return SearchReport(query=query, top_k=k, hits=hits, reason=reason)

    async def answer(self, answer_id: int) -> Answer:
        found = await self.store.answer(answer_id)
        if found is None:
            raise NotFoundError(f"No answer #{answer_id}.")
        return found

    async def source(
        self, n: int, *, channel_id: str | None = None, answer_id: int | None = None
    ) -> CitedPassage:
        """The passage behind citation n of an answer: the one given, else the latest answer
        in the channel (None: the latest asked outside any channel, as on the command line)."""
        if answer_id is not None:
            latest = await self.answer(answer_id)
            which = f"Answer #{answer_id}"
        else:
            found = await self.store.latest_answer(channel_id=channel_id)
            if found is None:
                raise NotFoundError(
                    "There is no answer in this channel yet; ask one with /ask."
                    if channel_id is not None
                    else "There is no answer yet; ask a question first."
                )
            latest = found
            which = f"The latest answer here (#{latest.answer_id})"
        citation = next((c for c in latest.citations if c.n == n), None)
        if citation is None:
            if not latest.citations:
                raise NotFoundError(f"{which} has no citations.")
            raise NotFoundError(
                f"{which} has citations 1–{len(latest.citations)}; there is no [{n}]."
            )
        assert latest.answer_id is not None  # stored answers have ids
        passage = self._engine.passage(citation.passage_id)
        if passage is None:
            return CitedPassage(answer_id=latest.answer_id, citation=citation, passage=None)
        current, _article = passage
        return CitedPassage(
            answer_id=latest.answer_id,
            citation=citation,
            passage=current.text,
            quote_at=quote_at(current.text, citation.quote, citation.start - current.start),
            changed=current.text_hash != citation.passage_hash,
        )

    async def feedback(
        self, answer_id: int, user_id: str, vote: Vote, reason: str | None = None
    ) -> None:
        """Record (or change) one user's 👍/👎 on a stored answer, with the reason a user gave
        for a 👎 (shown in the gaps)."""
        await self.answer(answer_id)  # NotFoundError for unknown ids
        if reason is not None:
            reason = " ".join(reason.split())[:MAX_REASON_CHARS] or None
        await self.store.add_feedback(answer_id, user_id, VOTE_VALUES[vote], reason)

    # --- knowledge -------------------------------------------------------------

    async def reload(self, actor: str | None = None, action: str = "reload") -> ReloadReport:
        """Rebuild from the knowledge folder off the loop; swap only if the new one is usable.

        A successful reload records the folder as a version; listeners hear of every outcome.
        """
        async with self._reload_lock:  # concurrent reloads run one after another
            report = await self._reload(actor, action)
        for listener in self.reload_listeners:
            try:
                await listener(report)
            except Exception:  # a notice that failed must not fail the reload
                log.exception("a reload listener failed")
        return report

    async def _reload(self, actor: str | None, action: str) -> ReloadReport:
        started = time.perf_counter()
        old = self._engine
        try:
            kb = await asyncio.to_thread(load_knowledge_base, self.settings)
            engine = await asyncio.to_thread(build_engine, kb, self.settings, background=True)
        except Exception as exc:  # a bug, too, must leave the old index serving, recorded
            reason = str(exc)
            if not isinstance(exc, KnowledgeError):
                log.exception("reload failed")
                reason = "an unexpected error while building (details in the log)"
            report = ReloadReport(
                ok=False,
                message=f"Reload refused: {reason}. Still serving index {old.version}.",
                index_version=old.version,
                articles=len(old.kb.articles),
                passages=old.passage_count,
                duration_ms=(time.perf_counter() - started) * 1000,
                actor=actor,
                action=action,
            )
            await self._record(report)
            return report
        # Off the loop: the diff reads the changed articles' passages.
        old_snapshot, change = await asyncio.to_thread(_compare, old.kb, kb)
        await self.store.sync_knowledge(kb, old_snapshot)
        self._engine = engine  # the swap: one reference assignment
        self._loaded_at = datetime.now(UTC)
        self._supersede_vectors(engine)
        report = loaded_report("Reloaded", engine, change, started, actor=actor, action=action)
        report.version = await self._record_version(action, actor, change.summary())
        await self._record(report)
        await self._publish(engine.version)
        # Freeing the replaced engine unmaps its files (~0.2 s at a million passages,
        # in one call): done on a worker thread, unless a question still holds it.
        retiring = [old]
        del old
        await asyncio.to_thread(retiring.clear)
        return report

    def _supersede_vectors(self, engine: Engine) -> None:
        """Cancel the replaced engine's vector job; the new one starts once it has stopped
        (and saved what it had), so no two run at once and nothing is embedded twice."""
        old = self._vectors
        if old is not None:
            old.cancel()
        new = start_vectors(engine, self.settings, after=old)
        # Nothing new to compute: a job still stopping is kept for close() to join.
        self._vectors = new or (old if old is not None and not old.wait(0) else None)

    async def _record_version(self, action: str, actor: str | None, summary: str) -> str | None:
        """Snapshot the folder just loaded as a version; return its id (None if it failed)."""
        index_version = self._engine.version

        def record() -> str | None:
            files = self.versions.capture()
            version = self.versions.record(
                files, actor=actor, action=action, summary=summary, index_version=index_version
            )
            return version.id if version else manifest_id(files)

        try:
            return await asyncio.to_thread(record)
        except OSError as exc:  # versions are a convenience: a full disk must not stop serving
            log.warning("could not record the knowledge base version: %s", exc)
            return None

    async def _record(self, report: ReloadReport) -> None:
        try:
            await self.store.record_reload(
                ReloadRecord(
                    actor=report.actor,
                    action=report.action,
                    outcome="ok" if report.ok else "refused",
                    message=report.message,
                    index_version=report.index_version,
                    articles=report.articles,
                    passages=report.passages,
                    diff=report.diff,
                    problems=report.problems,
                    duration_ms=report.duration_ms,
                )
            )
        except BotError:
            log.exception("could not record the reload")

    async def status(self) -> KbStatus:
        engine = self._engine
        stats = await self.store.stats()
        published = await self.store.published_version()
        return KbStatus(
            articles=len(engine.kb.articles),
            passages=engine.passage_count,
            index_version=engine.version,
            loaded_at=self._loaded_at,
            problems=[str(p) for p in engine.kb.problems],
            answers_served=stats.answers,
            abstention_rate=stats.abstained / stats.answers if stats.answers else 0.0,
            feedback_up=stats.feedback_up,
            feedback_down=stats.feedback_down,
            last_reload_at=stats.last_reload_at,
            last_reload_outcome=stats.last_reload_outcome,
            embedding=await self._vector_notice(engine),
            store=self.store.description,
            process=self.origin,
            published_version=published.version if published else None,
            version_problem=self.version_problem,
        )

    # --- one knowledge version across processes ----------------------------------------

    async def _publish(self, version: str) -> None:
        """Tell the other processes (the reload itself already succeeded here)."""
        try:
            await self.store.publish_version(version, self.origin)
        except BotError as exc:
            log.warning("reloaded, but could not tell other processes (%s)", exc)

    async def follow_versions(self) -> None:
        """Serve the version a reload in any process published (LISTEN/NOTIFY or polling)."""
        await self.following.start()

    async def adopt(self, version: str, origin: str | None = None) -> bool:
        """Rebuild from this process's folder and swap only if it gives exactly `version`;
        otherwise keep serving and report why (in /kb and the log)."""
        async with self._reload_lock:
            current = self._engine.version
            if current == version:
                return True
            started = time.perf_counter()
            try:
                kb = await asyncio.to_thread(load_knowledge_base, self.settings)
                engine = await asyncio.to_thread(build_engine, kb, self.settings, background=True)
            except Exception as exc:  # any failure: keep serving, report it
                reason = str(exc) if isinstance(exc, KnowledgeError) else type(exc).__name__
                built = None
            else:
                built = engine.version
                reason = f"this process's knowledge folder gives {built}"
            if built != version:
                problem = (
                    f"cannot serve knowledge version {version} (published by {origin or '?'}): "
                    f"{reason}; still serving {current}"
                )
                if problem != self.version_problem:
                    log.warning("%s", problem)
                self.version_problem = problem
                return False
            self._engine = engine
            self._loaded_at = datetime.now(UTC)
            self._supersede_vectors(engine)
            self.version_problem = None
            log.info(
                "now serving knowledge version %s (published by %s), built in %.0f ms",
                version,
                origin or "?",
                (time.perf_counter() - started) * 1000,
            )
            return True

    async def _vector_notice(self, engine: Engine) -> str:
        job = self._vectors
        if job is not None and not job.planned.is_set():  # just started: let it read its cache
            await asyncio.to_thread(job.planned.wait, 2.0)
        return dense_notice(engine, self.settings, job)
