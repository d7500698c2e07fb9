"""The store on both backends (SQLite always, PostgreSQL when a server can be started):
migrations, answers with citations, feedback, reopen, refusals, the shared knowledge version."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.answering.answers import Answer, Citation, Evidence
from bot.core.articles.diff import Snapshot
from bot.core.articles.loader import load_knowledge
from bot.core.requests import AskedBy
from bot.errors import ConfigError, StoreError
from bot.store import Store
from bot.store.base import ReloadRecord
from bot.store.migrations import MIGRATIONS, SCHEMA_VERSION, SQLITE
from bot.store.target import DbTarget


def sample_answer(question: str = "Who?", abstained: bool = False) -> Answer:
    citations = (
        []
        if abstained
        else [
            Citation(
                n=1,
                title="T",
                url="https://example.org",
                article_id="a.txt",
                passage_id="p1",
                quote="Quoted words.",
                start=10,
                end=23,
                score=2.5,
                passage_hash="h1",
            )
        ]
    )
    return Answer(
        question=question,
        answer="I couldn't find this." if abstained else "Quoted words. [1]",
        abstained=abstained,
        reason="no match" if abstained else None,
        citations=citations,
        evidence=[
            Evidence(
                passage_id="p1",
                article_id="a.txt",
                title="T",
                score=2.5,
                matched_terms=["quot"],
                snippet="Quoted words.",
            )
        ],
        query_terms=["quot"],
        context_terms=["quot", "word"],
        index_version="v1",
    )


async def test_new_database_is_migrated_to_the_current_schema(db_path: Path) -> None:
    """Opening a new file creates it, in WAL mode, at the current schema version."""
    async with await Store.open(db_path):
        pass
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "passages", "answers", "citations", "feedback", "reloads"} <= tables


async def test_answers_and_citations_survive_reopening(db_target: DbTarget) -> None:
    """A stored answer comes back whole, with its citations, after the file is reopened."""
    async with await Store.open(db_target) as store:
        answer_id = await store.save_answer(
            sample_answer(), AskedBy(source="discord", user_id="7", channel_id="42")
        )
    async with await Store.open(db_target) as store:
        again = await store.answer(answer_id)
        latest = await store.latest_answer(channel_id="42")
    assert again is not None and latest is not None
    assert again.answer_id == answer_id == latest.answer_id
    assert again.citations[0].quote == "Quoted words."
    assert again.citations[0].passage_hash == "h1"
    assert again.evidence[0].matched_terms == ["quot"]


async def test_carried_terms_are_kept_apart_from_context_terms(db_target: DbTarget) -> None:
    """A follow-up's borrowed terms come back as stored; a first question has none."""
    follow_up = sample_answer("And he?").model_copy(update={"carried_terms": ["karapetyan"]})
    async with await Store.open(db_target) as store:
        first_id = await store.save_answer(sample_answer(), AskedBy())
        follow_id = await store.save_answer(follow_up, AskedBy())
        first, again = await store.answer(first_id), await store.answer(follow_id)
    assert first is not None and again is not None
    assert first.carried_terms == [] and again.carried_terms == ["karapetyan"]
    assert again.context_terms == ["quot", "word"]


async def test_a_schema_1_database_is_migrated_with_its_answers(db_path: Path) -> None:
    """A database from before carried terms were stored opens at the current schema, and
    its answers read back with nothing carried over."""
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path)) as db:
        db.executescript(MIGRATIONS[0](SQLITE) + "PRAGMA user_version = 1;")
        db.execute(
            """INSERT INTO answers (question, answer, abstained, source, index_version)
               VALUES ('Who?', 'Nobody.', 0, 'cli', 'v0')"""
        )
        db.commit()
    async with await Store.open(db_path) as store:
        old = await store.answer(1)
    assert old is not None and old.answer == "Nobody." and old.carried_terms == []
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_answer_ids_increase_and_abstentions_are_stored(db_target: DbTarget) -> None:
    """Every question is stored, abstained ones included, each with a new id."""
    async with await Store.open(db_target) as store:
        first = await store.save_answer(sample_answer(), AskedBy())
        second = await store.save_answer(sample_answer(abstained=True), AskedBy())
        stats = await store.stats()
    assert second > first
    assert (stats.answers, stats.abstained) == (2, 1)


async def test_last_turn_follows_the_conversation(db_target: DbTarget) -> None:
    """The previous answered turn of a conversation is found; other conversations are not."""
    async with await Store.open(db_target) as store:
        await store.save_answer(sample_answer("first"), AskedBy(conversation_id="c1"))
        await store.save_answer(sample_answer("other"), AskedBy(conversation_id="c2"))
        await store.save_answer(
            sample_answer("gave up", abstained=True), AskedBy(conversation_id="c1")
        )
        turn = await store.last_turn("c1")
        assert await store.last_turn("c3") is None
    assert turn is not None
    assert turn.question == "first"
    assert turn.context_terms == ["quot", "word"]


async def test_feedback_is_one_vote_per_user_and_changeable(db_target: DbTarget) -> None:
    """A user's 👍 then 👎 on the same answer leaves one 👎."""
    async with await Store.open(db_target) as store:
        answer_id = await store.save_answer(sample_answer(), AskedBy())
        await store.add_feedback(answer_id, "u1", 1)
        await store.add_feedback(answer_id, "u1", -1)
        await store.add_feedback(answer_id, "u2", 1)
        stats = await store.stats()
    assert (stats.feedback_up, stats.feedback_down) == (1, 1)


async def test_knowledge_sync_touches_only_changes(
    db_target: DbTarget, knowledge_dir: Path
) -> None:
    """Syncing a knowledge base stores its articles and passages; a resync is a no-op diff."""
    kb = load_knowledge(knowledge_dir)
    async with await Store.open(db_target) as store:
        await store.sync_knowledge(kb, await store.snapshot())
        snapshot = await store.snapshot()
    assert snapshot == Snapshot.of(kb)


async def test_reloads_are_recorded(db_target: DbTarget) -> None:
    """Each reload outcome becomes a row, and the latest shows in stats."""
    async with await Store.open(db_target) as store:
        await store.record_reload(
            ReloadRecord(
                actor="admin",
                outcome="refused",
                message="empty",
                index_version="v1",
                articles=1,
                passages=7,
                diff=None,
                problems=["x: empty file"],
                duration_ms=3.0,
            )
        )
        stats = await store.stats()
    assert stats.last_reload_outcome == "refused"


async def test_corrupt_file_is_refused_not_reset(db_path: Path) -> None:
    """A file that is not a database gives a clear StoreError and is left untouched."""
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database" * 100
    db_path.write_bytes(garbage)
    with pytest.raises(StoreError, match="cannot use database"):
        await Store.open(db_path)
    assert db_path.read_bytes() == garbage


async def test_newer_schema_is_refused(db_path: Path) -> None:
    """A database written by a newer bot (higher schema version) is not touched."""
    async with await Store.open(db_path):
        pass
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        await Store.open(db_path)


async def test_database_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    """Pointing the database at a folder is a clear error."""
    with pytest.raises(StoreError, match="not a file"):
        await Store.open(tmp_path)


async def test_probe_refuses_what_cannot_be_opened_without_writing(
    db_path: Path, tmp_path: Path
) -> None:
    """The quick probe (run before start-up work) refuses garbage, folders and newer schemas,
    and leaves the file as it was."""
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database" * 100
    db_path.write_bytes(garbage)
    with pytest.raises(StoreError, match="cannot use database"):
        await Store.probe(db_path)
    assert db_path.read_bytes() == garbage
    with pytest.raises(StoreError, match="not a file"):
        await Store.probe(tmp_path)
    newer = tmp_path / "newer.sqlite3"
    with closing(sqlite3.connect(newer)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = newer.read_bytes()
    with pytest.raises(StoreError, match="newer"):
        await Store.probe(newer)
    assert newer.read_bytes() == before


async def test_a_damaged_database_passes_the_probe_but_not_open(damaged_db: Path) -> None:
    """Damage inside the file is found by open's integrity check, not by the probe."""
    await Store.probe(damaged_db)
    with pytest.raises(StoreError, match=r"damaged|malformed"):
        await Store.open(damaged_db)


async def test_both_backends_migrate_to_the_same_tables(db_target: DbTarget) -> None:
    """One migration list: the same tables and schema version on either backend."""
    async with await Store.open(db_target) as store:
        assert await store.published_version() is None
        assert await store.integrity() == []
    async with await Store.open(db_target) as store:  # a second open migrates nothing
        assert (await store.stats()).answers == 0


async def test_published_version_changes_once_per_new_version(db_target: DbTarget) -> None:
    """Publishing the same version twice writes once; a new one bumps the generation."""
    async with await Store.open(db_target) as store:
        assert await store.publish_version("v1", "p1") is True
        assert await store.publish_version("v1", "p2") is False
        assert await store.publish_version("v2", "p2") is True
        state = await store.published_version()
    assert state is not None
    assert (state.version, state.generation, state.origin) == ("v2", 2, "p2")


async def test_two_stores_syncing_at_once_do_not_collide(
    db_target: DbTarget, knowledge_dir: Path
) -> None:
    """Two connections (as two processes would) open and sync the same knowledge together."""
    kb = load_knowledge(knowledge_dir)

    async def start() -> Snapshot:
        async with await Store.open(db_target) as store:
            await store.sync_knowledge(kb, Snapshot(articles={}, passages={}))
            return await store.snapshot()

    first, second = await asyncio.gather(start(), start())
    assert first == second == Snapshot.of(kb)


async def test_a_periodic_run_is_claimed_once_per_period_across_reopening(
    db_target: DbTarget,
) -> None:
    """The first sight starts the clock; a run is due a period after the last, survives a
    restart, and the claim returns where the covered window starts."""
    day = timedelta(days=1)
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    async with await Store.open(db_target) as store:
        assert await store.last_run("digest") is None
        assert await store.claim_run("digest", day, start) is None
        assert await store.last_run("digest") == start
        assert await store.claim_run("digest", day, start + timedelta(hours=23)) is None
    async with await Store.open(db_target) as reopened:  # a restart keeps the clock
        assert await reopened.claim_run("digest", day, start + day) == start
        assert await reopened.last_run("digest") == start + day
        assert await reopened.claim_run("digest", day, start + day) is None
        assert await reopened.last_run("other") is None


async def test_two_processes_due_together_run_the_job_once(db_target: DbTarget) -> None:
    """Several processes waking for the same due run: exactly one claims it."""
    day = timedelta(days=1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with await Store.open(db_target) as store:
        await store.claim_run("digest", day, start)

    async def claim() -> datetime | None:
        async with await Store.open(db_target) as store:
            return await store.claim_run("digest", day, start + 2 * day)

    claims = await asyncio.gather(*(claim() for _ in range(4)))
    assert sorted(claims, key=lambda c: c is None) == [start, None, None, None]


async def test_integrity_is_clean_after_answers_and_feedback(db_target: DbTarget) -> None:
    """Answers with citations, abstentions and votes leave the consistency checks clean."""
    async with await Store.open(db_target) as store:
        answer_id = await store.save_answer(sample_answer(), AskedBy())
        await store.save_answer(sample_answer(abstained=True), AskedBy())
        await store.add_feedback(answer_id, "u1", 1)
        assert await store.integrity() == []


async def test_postgres_login_failures_are_one_line_without_the_password(pg_url: str) -> None:
    """Wrong password, missing database, unreachable port: ConfigError, password masked."""
    head, _, tail = pg_url.partition("@")
    user = head.rsplit(":", 1)[0]
    password = head.rsplit(":", 1)[1]
    cases = {
        f"{user}:wrong-{password}@{tail}": "refused the login",
        f"{head}@{tail.rsplit('/', 1)[0]}/no_such_db": "does not exist",
        f"{head}@127.0.0.1:1/x": "cannot use PostgreSQL",
    }
    for url, expected in cases.items():
        with pytest.raises(ConfigError) as caught:
            await Store.open(url)
        message = str(caught.value)
        assert expected in message and "\n" not in message
        assert password not in message and "***" in message


async def test_gap_questions_on_both_backends(db_target: DbTarget) -> None:
    """Abstentions and 👎-rated answers (with their reasons) come back newest first; a 👍
    answer does not, and `since` after everything returns nothing."""
    async with await Store.open(db_target) as store:
        liked = await store.save_answer(sample_answer("liked"), AskedBy())
        await store.add_feedback(liked, "u1", 1)
        gave_up = await store.save_answer(sample_answer("gave up", abstained=True), AskedBy())
        disliked = await store.save_answer(sample_answer("disliked"), AskedBy())
        await store.add_feedback(disliked, "u1", -1, reason="wrong person")
        gaps = await store.gap_questions(since=None, limit=10)
        later = await store.gap_questions(since=datetime.now(UTC) + timedelta(days=1), limit=10)
    assert [g.answer_id for g in gaps] == [disliked, gave_up]
    assert gaps[0].reasons == ["wrong person"] and gaps[0].downvotes == 1
    assert gaps[1].abstained and later == []


async def test_a_write_behind_a_stale_read_snapshot_is_retried_not_refused(tmp_path: Path) -> None:
    """SQLite answers "locked" at once, without its busy timeout, when a write begins while a
    read of the same connection is still open and another process has committed since: the
    write is retried until the read ends, and stored once."""
    import aiosqlite

    from bot.store.sqlite_file import transaction_patiently

    path = tmp_path / "snapshot.sqlite3"
    with closing(sqlite3.connect(path)) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x INTEGER)")
        setup.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
        setup.commit()
    async with aiosqlite.connect(path) as db:
        reading = await db.execute("SELECT x FROM t")
        await reading.fetchone()  # the read stays open: this connection holds a snapshot
        with closing(sqlite3.connect(path)) as other:  # another process commits meanwhile
            other.execute("INSERT INTO t VALUES (3)")
            other.commit()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await db.execute("INSERT INTO t VALUES (4)")  # what a user saw before
        await db.rollback()

        async def write() -> None:
            await db.execute("INSERT INTO t VALUES (4)")
            await db.commit()

        async def end_read() -> None:
            await asyncio.sleep(0.1)
            await reading.close()

        await asyncio.gather(transaction_patiently(write, db), end_read())
    with closing(sqlite3.connect(path)) as check:
        assert check.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,), (3,), (4,)]
