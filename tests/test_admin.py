"""The admin loop in the service: add, remove, versions and rollback leave the folder, the
index and the database consistent, and old answers still prove their quotes."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from bot.admin import parse_since
from bot.core.answering.answers import Answer
from bot.errors import ArticleError, NotFoundError
from bot.service import QAService
from bot.settings import Settings

QUESTION = "When did the Skerryvore lighthouse show its first light?"
ARTICLE = (
    b"---\ntitle: Skerryvore lighthouse\n---\n"
    b"The Skerryvore lighthouse showed its first light on 1 February 1844.\n"
)
REVISED = (
    b"---\ntitle: Skerryvore lighthouse\n---\n"
    b"Alan Stevenson's Skerryvore lighthouse showed its first light in February 1844.\n"
)


@pytest.fixture
async def service(knowledge_dir: Path, db_path: Path) -> AsyncIterator[QAService]:
    settings = Settings(knowledge_dir=knowledge_dir, db_path=db_path, _env_file=None)  # type: ignore[call-arg]
    async with await QAService.start(settings) as svc:
        yield svc


def folder_state(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def reload_rows(db_path: Path) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(db_path)) as db:
        return db.execute("SELECT action, outcome, actor FROM reloads ORDER BY id").fetchall()


async def quote_holds(service: QAService, answer: Answer) -> bool:
    """Every citation's quote is at its offsets in the file as it was when answered."""
    for c in answer.citations:
        text = await service.admin.cited_text(answer, c.n)
        if text is None or text[c.start : c.end] != c.quote:
            return False
    return bool(answer.citations)


async def test_a_refused_file_changes_nothing(
    service: QAService, knowledge_dir: Path, db_path: Path
) -> None:
    """Binary content is refused with the loader's reason; no file, no reload, no version."""
    before = folder_state(knowledge_dir)
    versions = await service.admin.versions()
    with pytest.raises(ArticleError, match="binary file"):
        await service.admin.add_article("x.md", b"Title\n\n\x00\x01", actor="admin")
    assert folder_state(knowledge_dir) == before
    assert reload_rows(db_path) == [] and await service.admin.versions() == versions


async def test_replacing_needs_replace_and_then_reports_a_change(
    service: QAService, knowledge_dir: Path, db_path: Path
) -> None:
    """An existing article is not overwritten unless asked; with replace it is, and reloaded."""
    await service.admin.add_article("sk.md", ARTICLE, actor="admin")
    with pytest.raises(ArticleError, match="already exists"):
        await service.admin.add_article("sk.md", REVISED, actor="admin")
    assert (knowledge_dir / "sk.md").read_bytes() == ARTICLE
    report = await service.admin.add_article("sk.md", REVISED, replace=True, actor="admin")
    assert report.ok and report.diff.articles_changed == ["sk.md"]
    assert [r[0] for r in reload_rows(db_path)] == ["add", "add"]


async def test_removing_the_last_article_is_refused_and_the_file_put_back(
    service: QAService, knowledge_dir: Path
) -> None:
    """A removal whose reload is refused (nothing left) restores the file; the index serves."""
    (article_id,) = [a.id for a in service.engine.kb.articles]
    before = folder_state(knowledge_dir)
    report = await service.admin.remove_article(article_id, actor="admin")
    assert not report.ok and "Reload refused" in report.message
    assert folder_state(knowledge_dir) == before
    with pytest.raises(NotFoundError):
        await service.admin.remove_article("not-there.md", actor="admin")


async def test_rollback_and_back_with_old_answers_still_proving_their_quotes(
    service: QAService, knowledge_dir: Path
) -> None:
    """Answers given under each version keep quoting the text that version served, whatever
    version is live; a rollback restores the files byte for byte, and so does going back."""
    await service.admin.add_article("sk.md", ARTICLE, actor="admin")
    v1_files = folder_state(knowledge_dir)
    first = await service.ask(QUESTION)
    assert not first.abstained and "1 February 1844" in first.answer
    v1 = (await service.admin.versions())[0].id

    await service.admin.add_article("sk.md", REVISED, replace=True, actor="admin")
    v2_files = folder_state(knowledge_dir)
    second = await service.ask(QUESTION)
    assert "Stevenson" in second.answer and first.citations[0].quote != second.citations[0].quote
    v2 = (await service.admin.versions())[0].id

    report = await service.admin.rollback(v1, actor="admin")
    assert report.ok and folder_state(knowledge_dir) == v1_files
    assert await service.admin.current_version() == v1
    third = await service.ask(QUESTION)
    assert third.citations[0].quote == first.citations[0].quote
    for answer in (first, second, third):
        assert await quote_holds(service, await service.answer(answer.answer_id or 0))

    back = await service.admin.rollback(v2, actor="admin")
    assert back.ok and folder_state(knowledge_dir) == v2_files
    for answer in (first, second, third):
        assert await quote_holds(service, await service.answer(answer.answer_id or 0))


async def test_an_unknown_version_changes_nothing(service: QAService, knowledge_dir: Path) -> None:
    """Rolling back to a version that was never recorded is refused before any file moves."""
    before = folder_state(knowledge_dir)
    with pytest.raises(NotFoundError):
        await service.admin.rollback("123456789abc", actor="admin")
    assert folder_state(knowledge_dir) == before


async def test_gaps_show_abstentions_and_thumbs_down_with_reasons(service: QAService) -> None:
    """Abstained questions and 👎-rated answers are gaps; the 👎 reason is shown with them."""
    await service.ask("What is the capital of France?")
    await service.ask("capital city of France")
    rated = await service.ask("Who is Armenia's defence minister?")
    await service.feedback(rated.answer_id or 0, "u1", "down", reason="wrong minister")
    fine = await service.ask("Who is Armenia's prime minister?")
    await service.feedback(fine.answer_id or 0, "u1", "up")
    groups = await service.admin.gaps()
    assert [g.count for g in groups] == [2, 1]
    assert groups[1].reasons == ["wrong minister"] and groups[1].downvotes == 1
    assert all("prime" not in q for g in groups for q in g.examples)


def test_time_spans_are_minutes_hours_days_or_weeks() -> None:
    """`--since` and `since:` take a count and a unit; anything else is refused."""
    assert parse_since("30m") == timedelta(minutes=30)
    assert parse_since(" 12H ") == timedelta(hours=12)
    assert parse_since("7d") == timedelta(days=7) and parse_since("2w") == timedelta(weeks=2)
    for bad in ["7", "d", "7 d", "-1d", "123456d", "1y"]:
        with pytest.raises(ValueError, match="time span"):
            parse_since(bad)
