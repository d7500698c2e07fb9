"""The service both front ends share: ask, follow up, reload, status, feedback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import bot.service
from bot.core.requests import AskedBy
from bot.errors import KnowledgeError, NotFoundError, QuestionError, StoreError
from bot.service import QAService
from bot.settings import Settings


@pytest.fixture
async def service(knowledge_dir: Path, db_path: Path):
    settings = Settings(knowledge_dir=knowledge_dir, db_path=db_path, _env_file=None)
    async with await QAService.start(settings) as svc:
        yield svc


async def test_answer_is_stored_with_its_citations(service: QAService) -> None:
    """Every answer gets an id and its citations are in the database."""
    answer = await service.ask("Who is Armenia's defence minister?")
    assert answer.answer_id is not None
    stored = await service.answer(answer.answer_id)
    assert stored.citations == answer.citations
    assert "Karapetyan" in stored.answer


async def test_follow_up_uses_the_stored_conversation(service: QAService) -> None:
    """A follow-up in the same conversation is read in the previous turn's context."""
    asked_by = AskedBy(source="test", conversation_id="thread-1")
    await service.ask("Who is Armenia's defence minister?", asked_by)
    follow_up = await service.ask("What exhibition did he attend?", asked_by)
    assert "exhibition near Moscow" in follow_up.answer
    assert follow_up.context_terms


async def test_a_rewritten_follow_up_hands_on_its_reading(service: QAService) -> None:
    """The store keeps what a follow-up was read as: "Tell me more" after "What is his full
    name?" is about Nikol Pashinyan, not the words "full name"; the question as typed stays
    the stored question."""
    asked_by = AskedBy(source="test", conversation_id="thread-2")
    await service.ask("Who is Armenia's prime minister?", asked_by)
    named = await service.ask("What is his full name?", asked_by)
    assert named.resolved == "What is Nikol Pashinyan's full name?"
    assert named.answer_id is not None
    stored = await service.answer(named.answer_id)
    assert stored.question == "What is his full name?" and stored.resolved == named.resolved
    more = await service.ask("Tell me more", asked_by)
    assert more.resolved == "What is Nikol Pashinyan's full name?"
    assert "full" not in more.query_terms


async def test_questions_are_cleaned_and_capped(service: QAService) -> None:
    """Blank questions and questions over the limit get a short, clear error."""
    with pytest.raises(QuestionError, match="type a question"):
        await service.ask(" \n\t\x00 ")
    with pytest.raises(QuestionError, match="limit is 500"):
        await service.ask("why " * 200)


async def test_reload_picks_up_a_new_article_and_reports_it(
    service: QAService, knowledge_dir: Path
) -> None:
    """A new article is indexed on reload and listed in the diff."""
    (knowledge_dir / "harbour.md").write_text(
        "---\ntitle: Harbour news\n---\nThe harbour master Ingrid Solberg counted 41 ships.\n",
        encoding="utf-8",
    )
    before = service.engine.version
    report = await service.reload(actor="admin")
    assert report.ok and report.index_version != before
    assert report.diff.articles_added == ["harbour.md"]
    answer = await service.ask("Who is the harbour master?")
    assert "Ingrid Solberg" in answer.answer


async def test_failed_reload_keeps_the_old_index_serving(
    service: QAService, knowledge_dir: Path
) -> None:
    """Reloading an emptied folder is refused; questions still get answers from the old index."""
    before = service.engine.version
    shutil.rmtree(knowledge_dir)
    knowledge_dir.mkdir()
    (knowledge_dir / "broken.txt").write_bytes(b"\xff\xfe not utf-8")
    report = await service.reload()
    assert not report.ok
    assert "no usable articles" in report.message and before in report.message
    assert service.engine.version == before
    answer = await service.ask("Who is Armenia's prime minister?")
    assert "Pashinyan" in answer.answer
    status = await service.status()
    assert status.last_reload_outcome == "refused"


async def test_status_counts_answers_and_abstentions(service: QAService) -> None:
    """/kb's figures: articles, passages, answers served, abstention rate."""
    await service.ask("Who is Armenia's prime minister?")
    await service.ask("What is the capital of France?")
    status = await service.status()
    assert (status.articles, status.passages) == (1, 7)
    assert status.answers_served == 2
    assert status.abstention_rate == pytest.approx(0.5)


async def test_feedback_needs_an_existing_answer(service: QAService) -> None:
    """Feedback on an unknown answer id is a NotFoundError, not a crash."""
    answer = await service.ask("Who is Armenia's prime minister?")
    await service.feedback(answer.answer_id or 0, "user-1", "up")
    with pytest.raises(NotFoundError):
        await service.feedback(999_999, "user-1", "up")


async def test_empty_knowledge_base_does_not_start(tmp_path: Path, db_path: Path) -> None:
    """Starting on an empty folder is a clear KnowledgeError."""
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings(knowledge_dir=empty, db_path=db_path, _env_file=None)
    with pytest.raises(KnowledgeError, match="no usable articles"):
        await QAService.start(settings)


async def test_a_damaged_database_fails_the_start_before_any_index_is_built(
    knowledge_dir: Path, damaged_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder loads while the store is checked; a damaged store still stops the start
    with its own error, and no index is built for nothing."""

    def refuse(*args: object) -> None:
        raise AssertionError("an index was built although the store could not be used")

    monkeypatch.setattr(bot.service, "build_engine", refuse)
    settings = Settings(knowledge_dir=knowledge_dir, db_path=damaged_db, _env_file=None)
    with pytest.raises(StoreError, match=r"malformed|damaged"):
        await QAService.start(settings)


async def test_a_bad_database_wins_over_a_bad_folder(tmp_path: Path, damaged_db: Path) -> None:
    """Both broken: the store's error is reported, the load's is dropped (no warning)."""
    settings = Settings(knowledge_dir=tmp_path / "missing", db_path=damaged_db, _env_file=None)
    with pytest.raises(StoreError):
        await QAService.start(settings)


async def test_a_database_that_cannot_be_opened_fails_before_the_folder_is_read(
    knowledge_dir: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Garbage, not a damaged database: the quick probe refuses it before any load."""
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not a database" * 100)

    def refuse(*args: object) -> None:
        raise AssertionError("the folder was loaded although the store cannot be opened")

    monkeypatch.setattr(bot.service, "load_knowledge_base", refuse)
    settings = Settings(knowledge_dir=knowledge_dir, db_path=db_path, _env_file=None)
    with pytest.raises(StoreError, match="cannot use database"):
        await QAService.start(settings)


async def test_search_returns_k_hits_best_first(service: QAService) -> None:
    """Asked for K passages where more than K match, search returns exactly K, best first,
    and no reason."""
    report = await service.search("Armenia Turkey Russia", 3)
    assert len(report.hits) == 3 and report.reason is None
    scores = [h.score for h in report.hits]
    assert scores == sorted(scores, reverse=True)


async def test_search_says_why_it_found_fewer_than_asked(service: QAService) -> None:
    """Fewer than K hits always come with the reason: few matches, a small knowledge base,
    or a query of common words only."""
    few = await service.search("Karapetyan", 5)
    assert 0 < len(few.hits) < 5
    assert few.reason == f"only {len(few.hits)} passage(s) contain a word of the query"
    everything = await service.search("Armenia Turkey Russia Azerbaijan S-400 minister", 50)
    assert everything.reason == "the knowledge base has only 7 passage(s)"
    assert len(everything.hits) == 7
    empty = await service.search("what is the", 5)
    assert empty.hits == [] and empty.reason is not None and "no searchable words" in empty.reason
    none = await service.search("zanzibar ferry", 5)
    assert none.hits == [] and none.reason == "no passage contains a word of the query"


async def test_search_refuses_over_long_queries_like_ask(service: QAService) -> None:
    """A query over the question limit is refused with ask's message, never silently cut."""
    with pytest.raises(QuestionError, match="limit is 500"):
        await service.search("armenia " * 100)


async def test_source_shows_the_passage_behind_a_citation(service: QAService) -> None:
    """source(n) of an answer gives the current passage and where the quote is in it."""
    answer = await service.ask("Who is Armenia's defence minister?")
    cited = await service.source(1, answer_id=answer.answer_id)
    assert cited.citation == answer.citations[0] and not cited.changed
    assert cited.passage is not None and cited.quote_at is not None
    quote = cited.citation.quote
    assert cited.passage[cited.quote_at : cited.quote_at + len(quote)] == quote


async def test_source_defaults_to_the_latest_answer_in_the_channel(service: QAService) -> None:
    """Without an answer id, source uses the latest answer asked in that channel (or, with
    no channel, the latest asked outside any channel) and says when there is none."""
    with pytest.raises(NotFoundError, match="no answer in this channel"):
        await service.source(1, channel_id="42")
    with pytest.raises(NotFoundError, match="no answer yet"):
        await service.source(1)
    here = await service.ask("Who is Armenia's defence minister?", AskedBy(channel_id="42"))
    cli = await service.ask("Which TV channel interviewed Aliyev?")
    assert (await service.source(1, channel_id="42")).answer_id == here.answer_id
    assert (await service.source(1)).answer_id == cli.answer_id
    with pytest.raises(NotFoundError, match=r"there is no \[9\]"):
        await service.source(9, channel_id="42")


async def test_source_of_an_edited_passage_falls_back_to_the_quote(
    service: QAService, knowledge_dir: Path
) -> None:
    """After the cited paragraph is edited and reloaded, source still shows the quote as
    it was cited, without a current passage."""
    answer = await service.ask("Who is Armenia's defence minister?")
    quote = answer.citations[0].quote
    article = next(knowledge_dir.iterdir())
    article.write_text(article.read_text(encoding="utf-8").replace(quote, "Rewritten."), "utf-8")
    assert (await service.reload()).ok
    cited = await service.source(1, answer_id=answer.answer_id)
    assert cited.passage is None and cited.citation.quote == quote


async def test_index_reports_changes_since_the_last_build_and_records_them(
    knowledge_dir: Path, db_path: Path
) -> None:
    """index validates and indexes the folder, reports what changed since the store's last
    build and the refused files, and records the run as a reload."""
    settings = Settings(knowledge_dir=knowledge_dir, db_path=db_path, _env_file=None)
    first = await QAService.index(settings)
    assert first.ok and first.diff.articles_added == [p.name for p in knowledge_dir.iterdir()]
    assert first.diff.passages_added == first.passages == 7
    (knowledge_dir / "broken.md").write_bytes(b"---\ntitle: [oops\n---\nBody\n")
    (knowledge_dir / "extra.txt").write_text("Extra title\n\nExtra body.\n", encoding="utf-8")
    second = await QAService.index(settings)
    assert second.diff.articles_added == ["extra.txt"] and second.diff.passages_added == 1
    assert [p for p in second.problems if "broken.md" in p]
    async with await QAService.start(settings) as service:
        status = await service.status()
    assert status.last_reload_outcome == "ok"


async def test_feedback_is_counted_in_the_status(service: QAService) -> None:
    """A 👍 and a 👎 from two users show up in the status figures; a user's second vote
    replaces the first."""
    answer = await service.ask("Who is Armenia's prime minister?")
    assert answer.answer_id is not None
    await service.feedback(answer.answer_id, "a", "up")
    await service.feedback(answer.answer_id, "b", "up")
    await service.feedback(answer.answer_id, "b", "down")
    status = await service.status()
    assert (status.feedback_up, status.feedback_down) == (1, 1)
