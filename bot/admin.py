"""The admin's knowledge loop, shared by the CLI and Discord: gaps, add, remove, versions,
rollback. Every change is validated before anything is written, and undone when the reload
after it is refused, so the folder always matches the index that serves."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.answering.answers import Answer
from bot.core.answering.gaps import GapGroup, group_gaps
from bot.core.articles.loader import (
    ArticleRefused,
    check_article_name,
    check_size,
    validate_article_file,
)
from bot.errors import ArticleError, NotFoundError
from bot.knowledge.versions import Version, manifest_id, write_article_file
from bot.knowledge.watch import watch_knowledge

if TYPE_CHECKING:
    from bot.service import QAService, ReloadReport

log = logging.getLogger(__name__)

DIGEST_JOB = "gaps_digest"  # its last run in the store's scheduled_runs
GAP_QUESTIONS = 5_000  # the newest questions looked at for gaps: enough to rank, bounded


class AdminService:
    """Knowledge administration on top of a QAService (its store, engine and reload)."""

    def __init__(self, service: QAService) -> None:
        self.service = service
        self._changing = asyncio.Lock()  # one change to the folder at a time

    @property
    def folder(self) -> Path:
        return self.service.settings.knowledge_dir

    # --- gaps ---------------------------------------------------------------------------

    async def gaps(self, since: timedelta | None = None) -> list[GapGroup]:
        """Questions abstained on or rated 👎, near-duplicates grouped, most frequent first."""
        start = datetime.now(UTC) - since if since is not None else None
        questions = await self.service.store.gap_questions(since=start, limit=GAP_QUESTIONS)
        return await asyncio.to_thread(group_gaps, questions)

    async def next_digest(self, every: timedelta) -> datetime:
        """When the gaps digest is next due, by the clock every process shares (kept in the
        store across restarts); the first call starts that clock."""
        store = self.service.store
        last = await store.last_run(DIGEST_JOB)
        if last is None:
            now = datetime.now(UTC)
            await store.claim_run(DIGEST_JOB, every, now)
            last = await store.last_run(DIGEST_JOB) or now
        return last + every

    async def claim_digest(self, every: timedelta) -> datetime | None:
        """Claim a due digest for this process: the start of the window it covers, or None
        (not due yet, or another process took it)."""
        return await self.service.store.claim_run(DIGEST_JOB, every, datetime.now(UTC))

    # --- adding and removing articles -----------------------------------------------

    def check_upload(self, name: str, size: int) -> None:
        """Refuse, before downloading, a file whose name or announced size the loader would."""
        try:
            check_article_name(name)
            check_size(size, self.service.settings.max_file_bytes)
        except ArticleRefused as exc:
            raise ArticleError(f"{_shown(name)} was refused: {exc}. Nothing was changed.") from None

    async def add_article(
        self, name: str, data: bytes, *, replace: bool = False, actor: str | None = None
    ) -> ReloadReport:
        """Validate a file as the loader would, write it atomically, reload; the report."""
        max_bytes = self.service.settings.max_file_bytes
        try:
            await asyncio.to_thread(validate_article_file, name, data, max_bytes)
        except ArticleRefused as exc:
            raise ArticleError(f"{_shown(name)} was refused: {exc}. Nothing was changed.") from None
        async with self._changing:
            path = self.folder / name
            if path.is_symlink() or (path.exists() and not path.is_file()):
                raise ArticleError(f"{name} exists and is not a plain file. Nothing was changed.")
            previous = await asyncio.to_thread(path.read_bytes) if path.exists() else None
            if previous is not None and not replace:
                raise ArticleError(
                    f"{name} already exists; send it again with replace:True to overwrite it. "
                    "Nothing was changed."
                )
            await asyncio.to_thread(write_article_file, path, data)
            report = await self.service.reload(actor, "add")
            if not report.ok:  # leave the folder as the index that still serves it
                await asyncio.to_thread(_put_back, path, previous)
            return report

    def article_choices(self, typed: str, limit: int = 25) -> list[tuple[str, str]]:
        """(title, article id) of the articles whose title or file name contains `typed`."""
        needle = typed.casefold().strip()
        found = []
        for article in self.service.engine.kb.articles:
            if needle in article.title.casefold() or needle in article.id.casefold():
                found.append((article.title, article.id))
                if len(found) >= limit:
                    break
        return found

    def article(self, article_id: str) -> tuple[str, str]:
        """(title, id) of a served article; NotFoundError otherwise."""
        for article in self.service.engine.kb.articles:
            if article.id == article_id:
                return article.title, article.id
        raise NotFoundError("No such article in the knowledge base; pick one from the list.")

    async def remove_article(self, article_id: str, *, actor: str | None = None) -> ReloadReport:
        """Delete a served article's file, then reload; put it back if the reload is refused."""
        async with self._changing:
            self.article(article_id)
            path = self.folder / article_id
            inside = self.folder.resolve()
            if path.is_symlink() or not path.resolve().is_relative_to(inside):
                raise ArticleError("That article's file cannot be removed. Nothing was changed.")
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except FileNotFoundError:
                raise NotFoundError("That article's file is already gone; reload.") from None
            await asyncio.to_thread(path.unlink)
            report = await self.service.reload(actor, "remove")
            if not report.ok:
                await asyncio.to_thread(_put_back, path, data)
            return report

    # --- versions -----------------------------------------------------------------------

    async def versions(self) -> list[Version]:
        """Recorded knowledge base versions, newest first."""
        return await asyncio.to_thread(self.service.versions.all)

    async def current_version(self) -> str:
        """The id of the version the folder holds now (recorded or not)."""
        return manifest_id(await asyncio.to_thread(self.service.versions.capture))

    async def rollback(self, version_id: str, *, actor: str | None = None) -> ReloadReport:
        """Restore the folder's files to a recorded version (byte for byte), then reload.

        A refused reload puts the files back as they were before.
        """
        versions = self.service.versions
        async with self._changing:
            target = await asyncio.to_thread(versions.get, version_id)
            before = await asyncio.to_thread(versions.capture)
            await asyncio.to_thread(versions.restore, target.files)
            report = await self.service.reload(actor, "rollback")
            if not report.ok:
                await asyncio.to_thread(versions.restore, before)
            return report

    async def serving_version(self) -> str | None:
        """The id of the recorded version the live index was built from, if recorded."""
        versions = self.service.versions
        found = await asyncio.to_thread(versions.for_index, self.service.engine.version)
        return found.id if found else None

    async def reload_if_changed(self, actor: str = "watch") -> ReloadReport | None:
        """Reload unless the folder still holds the newest recorded version (None then).

        Waits for an admin change in progress: the files `/kb add` just wrote are reloaded
        (and recorded) by it, and then seen here as unchanged.
        """
        async with self._changing:
            versions = self.service.versions
            latest = await asyncio.to_thread(versions.latest)
            if latest is not None and latest.id == await self.current_version():
                return None
            return await self.service.reload(actor, "watch")

    async def watch(self, stop: asyncio.Event) -> None:
        """Watch mode: reload on each burst of changes in the folder until `stop` is set."""
        await watch_knowledge(self.folder, self._reload_on_change, stop=stop)

    async def _reload_on_change(self) -> None:
        report = await self.reload_if_changed("watch")
        if report is None:
            log.info("the folder holds the version already served: no reload")
        elif not report.ok:  # reported to the listeners; not retried until the next change
            log.warning("automatic reload refused: %s", report.message)

    async def cited_text(self, answer: Answer, n: int) -> str | None:
        """The source text that citation `n` quoted, as it was in the version that answered
        (None if that version is no longer kept)."""
        citation = next((c for c in answer.citations if c.n == n), None)
        if citation is None:
            raise NotFoundError(f"Answer #{answer.answer_id} has no citation [{n}].")
        versions = self.service.versions
        version = await asyncio.to_thread(versions.for_index, answer.index_version)
        if version is None:
            return None
        return await asyncio.to_thread(versions.file_text, version, citation.article_id)


def _put_back(path: Path, data: bytes | None) -> None:
    if data is None:
        path.unlink(missing_ok=True)
    else:
        write_article_file(path, data)


def _shown(name: str) -> str:
    """A file name safe to echo in one line."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in name)
    return printable[:100] or "(no name)"


def parse_since(text: str) -> timedelta:
    """`7d`, `12h`, `30m` or `2w` as a time span; ValueError otherwise."""
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    text = text.strip().lower()
    if not _SPAN.fullmatch(text):
        raise ValueError(f"{text[:20]!r} is not a time span like 7d, 12h, 30m or 2w")
    return timedelta(**{units[text[-1]]: int(text[:-1])})


_SPAN = re.compile(r"[0-9]{1,5}[mhdw]")  # the same shape the gaps page buttons carry
