"""The one service both front ends share: ask, search, reload, status, feedback."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
import unicodedata
from datetime import UTC, datetime

from pydantic import BaseModel

from bot.core.answering.answers import Answer, Turn
from bot.core.articles.diff import KnowledgeDiff, Snapshot, diff_loaded
from bot.core.articles.models import Article, KnowledgeBase, Passage
from bot.core.engine import Engine, SearchResult
from bot.errors import BotError, KnowledgeError, NotFoundError, QuestionError
from bot.knowledge.factory import build_engine, load_knowledge_base
from bot.settings import Settings
from bot.store import Store
from bot.store.base import AskedBy

log = logging.getLogger(__name__)

VERSION_RETRY_S = 5.0  # a published version this process could not build is tried again


class ReloadReport(BaseModel):
    """The outcome of a reload, for the admin who asked and for the reloads table."""

    ok: bool
    message: str
    index_version: str
    articles: int
    passages: int
    diff: KnowledgeDiff = KnowledgeDiff()
    problems: list[str] = []
    duration_ms: float = 0.0


class KbStatus(BaseModel):
    articles: int
    passages: int
    index_version: str
    loaded_at: datetime
    problems: list[str]
    answers_served: int
    abstention_rate: float
    feedback_up: int
    feedback_down: int
    last_reload_at: str | None
    last_reload_outcome: str | None
    # Several processes: which database, this process, the version all should serve.
    store: str = ""
    process: str = ""
    published_version: str | None = None
    version_problem: str | None = None


# CSI (`ESC [ 31m`) and OSC (`ESC ] 0;title BEL`) sequences; a lone ESC is a control char.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")


def clean_question(text: str, max_chars: int) -> str:
    """Strip control characters and extra space; refuse empty or over-long questions."""
    text = _ANSI_ESCAPE.sub(" ", text)  # colours pasted from a terminal are not words
    # Lone surrogates (undecodable bytes, JSON "\\ud800") cannot be stored as UTF-8: replace them.
    cleaned = "".join(
        " "
        if (cat := unicodedata.category(ch)) in {"Cc", "Zl", "Zp"}
        else "\ufffd"
        if cat == "Cs"
        else ch
        for ch in text
    )
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QuestionError("Please type a question.")
    if len(cleaned) > max_chars:
        raise QuestionError(
            f"That question is {len(cleaned):,} characters long; the limit is {max_chars:,}. "
            "Please shorten it."
        )
    return cleaned


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
        self.origin = f"{socket.gethostname()}:{os.getpid()}"
        self._version_problem: str | None = None
        self._following: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @classmethod
    async def start(cls, settings: Settings) -> QAService:
        """Load the knowledge base (off the event loop) and open the store."""
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
            engine = await asyncio.to_thread(build_engine, kb, settings)
            await store.sync_knowledge(kb, await store.snapshot(with_passages=False))
            service = cls(settings, store, engine)
            # The newest start (or reload) sets the version every process should serve.
            await store.publish_version(engine.version, service.origin)
        except BaseException:
            await store.close()
            raise
        return service

    @staticmethod
    async def check_database(settings: Settings) -> None:
        """ConfigError/StoreError now if the database cannot be used (before slow work)."""
        await Store.probe(settings.database)

    async def close(self) -> None:
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
        await self.store.close()

    async def __aenter__(self) -> QAService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    # --- questions -------------------------------------------------------------

    async def ask(
        self, question: str, asked_by: AskedBy | None = None, previous: Turn | None = None
    ) -> Answer:
        """Answer (or abstain), store it with its citations, and return it with its id.

        Follow-ups lean on `previous` when given (e.g. the answer a user replied to), else on
        the conversation's last answered turn in the store.
        """
        asked_by = asked_by or AskedBy()
        question = clean_question(question, self.settings.max_question_chars)
        if previous is None and asked_by.conversation_id:
            previous = await self.store.last_turn(asked_by.conversation_id)
        engine = self._engine  # one snapshot for the whole question, even during a reload
        started = time.perf_counter()
        answer = await asyncio.to_thread(engine.answer, question, previous)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        answer.answer_id = await self.store.save_answer(answer, asked_by)
        return answer

    async def search(self, query: str, k: int = 10) -> list[SearchResult]:
        query = clean_question(query, self.settings.max_question_chars)
        return await asyncio.to_thread(self._engine.search, query, k)

    async def answer(self, answer_id: int) -> Answer:
        found = await self.store.answer(answer_id)
        if found is None:
            raise NotFoundError(f"No answer #{answer_id}.")
        return found

    async def latest_answer(self, channel_id: str) -> Answer | None:
        return await self.store.latest_answer(channel_id=channel_id)

    def passage(self, passage_id: str) -> tuple[Passage, Article] | None:
        return self._engine.passage(passage_id)

    async def feedback(self, answer_id: int, user_id: str, value: int) -> None:
        await self.answer(answer_id)  # NotFoundError for unknown ids
        await self.store.add_feedback(answer_id, user_id, value)

    # --- knowledge -------------------------------------------------------------

    async def reload(self, actor: str | None = None) -> ReloadReport:
        """Rebuild from the knowledge folder off the loop; swap only if the new one is usable."""
        async with self._reload_lock:  # concurrent reloads run one after another
            started = time.perf_counter()
            old = self._engine
            try:
                kb = await asyncio.to_thread(load_knowledge_base, self.settings)
                engine = await asyncio.to_thread(build_engine, kb, self.settings)
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
                )
                await self._record(report, actor)
                return report
            # Off the loop: the diff reads the changed articles' passages.
            old_snapshot, change = await asyncio.to_thread(_compare, old.kb, kb)
            await self.store.sync_knowledge(kb, old_snapshot)
            self._engine = engine  # the swap: one reference assignment
            self._loaded_at = datetime.now(UTC)
            report = ReloadReport(
                ok=True,
                message=f"Reloaded: {len(kb.articles)} article(s), {len(kb.passages)} passage(s); "
                f"{change.summary()}.",
                index_version=engine.version,
                articles=len(kb.articles),
                passages=len(kb.passages),
                diff=change,
                problems=[str(p) for p in kb.problems],
                duration_ms=(time.perf_counter() - started) * 1000,
            )
            await self._record(report, actor)
            await self._publish(engine.version)
            # Freeing the replaced engine unmaps its files (~0.2 s at a million passages,
            # in one call): done on a worker thread, unless a question still holds it.
            retiring = [old]
            del old
            await asyncio.to_thread(retiring.clear)
            return report

    async def _record(self, report: ReloadReport, actor: str | None) -> None:
        try:
            await self.store.record_reload(
                actor=actor,
                outcome="ok" if report.ok else "refused",
                message=report.message,
                index_version=report.index_version,
                articles=report.articles,
                passages=report.passages,
                diff=report.diff,
                problems=report.problems,
                duration_ms=report.duration_ms,
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
            store=self.store.description,
            process=self.origin,
            published_version=published.version if published else None,
            version_problem=self._version_problem,
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
        if self._following is None:
            await self.store.listen_versions(self._wake.set)
            self._following = asyncio.create_task(self._follow(), name="follow-versions")

    async def _follow(self) -> None:
        retry_at: dict[str, float] = {}  # a version this process could not build: retry later
        while True:
            try:  # asyncio.timeout, not wait_for: no extra task per wait
                async with asyncio.timeout(self.store.poll_interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._follow_once(retry_at)
            except BotError:
                pass  # the store logs its own outage once
            except Exception:  # a bug must not stop following for the life of the process
                log.exception("following the published knowledge version failed")

    async def _follow_once(self, retry_at: dict[str, float]) -> None:
        published = await self.store.published_version()
        if published is None or published.version == self._engine.version:
            if published is not None:
                self._version_problem = None
            return
        if time.monotonic() < retry_at.get(published.version, 0.0):
            return
        if not await self.adopt(published.version, published.origin):
            retry_at[published.version] = time.monotonic() + VERSION_RETRY_S

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
                engine = await asyncio.to_thread(build_engine, kb, self.settings)
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
                if problem != self._version_problem:
                    log.warning("%s", problem)
                self._version_problem = problem
                return False
            self._engine = engine
            self._loaded_at = datetime.now(UTC)
            self._version_problem = None
            log.info(
                "now serving knowledge version %s (published by %s), built in %.0f ms",
                version,
                origin or "?",
                (time.perf_counter() - started) * 1000,
            )
            return True
