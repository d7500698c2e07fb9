"""Discord rows of the reliability matrix, driven through the offline harness.

Issue 7, rows 2 (Discord half), 5 and 6: hostile questions ping nobody and stay within limits;
200 concurrent /ask with a reload in the middle; admin checks, DMs, cooldowns, the token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import tests.discord_ui.conftest as discord_fixtures
import tests.discord_ui.harness as harness_module
from tests.discord_ui.conftest import HarnessFactory
from tests.discord_ui.harness import ADMIN_PERMISSIONS, MEMBER_PERMISSIONS, Call, DiscordHarness
from tests.reliability.conftest import REPO, clean_env, figure
from tests.reliability.test_hostile_questions import HOSTILE, SERVICE_ONLY

# The Discord front end's own fixtures, reused as they are (a booted bot on a tmp folder and db).
knowledge_dir = discord_fixtures.knowledge_dir
settings = discord_fixtures.settings
make_harness = discord_fixtures.make_harness
harness = discord_fixtures.harness
db = discord_fixtures.db

CONCURRENT = 200
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.reliability-secret-token-value"
ZEBRA = "Zebras\n\nThe zebra keeper at the harbour zoo is Olga Brant.\n"
MESSAGE_LIMIT, EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT = 2000, 4096, 6000


def embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len((embed.get("footer") or {}).get("text", ""))
    size += len((embed.get("author") or {}).get("name", ""))
    return size + sum(
        len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", [])
    )


def check_discord_limits(call: Call) -> None:
    message = call.message or {}
    assert len(message.get("content") or "") <= MESSAGE_LIMIT
    embeds = call.embeds
    assert len(embeds) <= 10
    for embed in embeds:
        assert len(embed.get("description", "")) <= EMBED_DESCRIPTION_LIMIT
        assert len(embed.get("fields", [])) <= 25
    assert sum(embed_size(e) for e in embeds) <= EMBED_TOTAL_LIMIT


def pings_nobody(call: Call) -> bool:
    """No message may be able to ping: allowed_mentions parse nothing, and no raw mentions."""
    body = call.json if isinstance(call.json, dict) else {}
    if call.path.endswith("/callback"):
        body = body.get("data") or {}
    allowed = body.get("allowed_mentions")
    text = call.text
    raw = re.search(r"@everyone|@here|<@[!&]?\d+>", text)
    return (allowed is not None and not allowed.get("parse")) and raw is None


def interaction_payload(h: DiscordHarness, name: str, user_id: int, **options: Any) -> dict:
    """A slash-command payload as the gateway delivers it (not yet dispatched)."""
    data = {
        "id": str(h.ids()),
        "name": name,
        "type": 1,
        "options": [{"type": 3, "name": k, "value": v} for k, v in options.items()],
    }
    perms = ADMIN_PERMISSIONS if name == "reload" else MEMBER_PERMISSIONS
    return h._interaction(2, data, user_id=user_id, permissions=perms, roles=[], channel_id=None)


@pytest.mark.parametrize("name", [n for n in HOSTILE if n != "plain"] + ["code fence block"])
async def test_hostile_questions_on_discord_ping_nobody_and_fit(harness: DiscordHarness, name: str):
    """Each hostile /ask gets a reply (answer, abstention or short ephemeral error) in limits."""
    question = HOSTILE.get(name) or SERVICE_ONLY[name]
    started = time.perf_counter()
    exchange = await harness.slash("ask", question=question)
    seconds = time.perf_counter() - started
    assert exchange.messages, name
    for call in exchange.messages:
        check_discord_limits(call)
        assert pings_nobody(call), (name, call.json)
    assert seconds < 10, (name, seconds)


async def test_200_concurrent_asks_with_a_reload_in_the_middle(
    make_harness: HarnessFactory,
    knowledge_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """All answered, each stamped with the index it used; no database error reaches anyone."""
    monkeypatch.setattr(harness_module, "MAX_OUTGOING", 10 * CONCURRENT)
    h = await make_harness()
    v1 = h.bot.service.engine.version
    (knowledge_dir / "zebras.md").write_text(ZEBRA)
    questions = ["Who is Armenia's defence minister?", "Who is the zebra keeper?"]
    payloads = [
        interaction_payload(h, "ask", 1_250_000_000_000_000_000 + i, question=questions[i % 2])
        for i in range(CONCURRENT)
    ]
    reload_payload = interaction_payload(h, "reload", 1_260_000_000_000_000_000)
    started = time.perf_counter()
    half, three_quarters = CONCURRENT // 2, CONCURRENT * 3 // 4
    for payload in payloads[:half]:  # in flight at once, as a busy gateway delivers them
        h.feed("INTERACTION_CREATE", payload)
    h.feed("INTERACTION_CREATE", reload_payload)
    for payload in payloads[half:three_quarters]:  # arrive while the reload builds
        h.feed("INTERACTION_CREATE", payload)
        await asyncio.sleep(0)
    while h.bot.service.engine.version == v1:  # the swap, with ~150 questions still in flight
        await asyncio.sleep(0.005)
        assert time.perf_counter() - started < 60
    for payload in payloads[three_quarters:]:  # after the swap: must use the new index
        h.feed("INTERACTION_CREATE", payload)
    await h.settle(limit_s=120)
    seconds = time.perf_counter() - started
    v2 = h.bot.service.engine.version
    assert v2 != v1

    by_token: dict[str, list[Call]] = {}
    for call in h.calls:
        parts = call.path.strip("/").split("/")
        token = parts[2] if parts[0] in ("interactions", "webhooks") else ""
        by_token.setdefault(token, []).append(call)
    versions: dict[str, int] = {}
    with sqlite3.connect(h.bot.settings.db_path) as db_conn:
        stored = dict(db_conn.execute("SELECT id, index_version FROM answers").fetchall())
        reload_rows = db_conn.execute("SELECT outcome FROM reloads").fetchall()
    for payload in payloads:
        calls = by_token[payload["token"]]
        assert calls[0].json["type"] == 5  # deferred first
        (answer,) = [c for c in calls if c.message is not None]
        assert not answer.ephemeral, answer.text  # an answer, not an error
        footer = answer.embeds[0]["footer"]["text"]
        version = re.search(r"Index (\w+)", footer).group(1)
        assert version in {v1, v2}
        answer_id = int(
            next(i for i in answer.custom_ids if i.startswith("kb:fb:up:")).split(":")[-1]
        )
        assert stored[answer_id] == version  # the stamp shown is the index that answered
        versions[version] = versions.get(version, 0) + 1
        assert "locked" not in answer.text.lower() and "sorry" not in answer.text.lower()
    assert reload_rows == [("ok",)]
    late = {by_token[p["token"]][-1].embeds[0]["footer"]["text"] for p in payloads[three_quarters:]}
    assert all(f"Index {v2}" in footer for footer in late)
    assert versions.get(v2, 0) >= CONCURRENT - three_quarters
    figure(
        "200 concurrent /ask + reload",
        f"{CONCURRENT} answered ({versions.get(v1, 0)} on the old index, "
        f"{versions.get(v2, 0)} on the new), 0 errors, {seconds:.1f} s",
    )


async def test_non_admin_reload_burst_is_refused_locally(
    harness: DiscordHarness,
    knowledge_dir: Path,
    db: sqlite3.Connection,
):
    """20 members without Manage Server /reload at once (client hint bypassed): all refused."""
    version = harness.bot.service.engine.version
    (knowledge_dir / "zebras.md").write_text(ZEBRA)
    payloads = [
        harness._interaction(
            2,
            {"id": str(harness.ids()), "name": "reload", "type": 1, "options": []},
            user_id=1_270_000_000_000_000_000 + i,
            permissions=MEMBER_PERMISSIONS,
            roles=[],
            channel_id=None,
        )
        for i in range(20)
    ]
    for payload in payloads:
        harness.feed("INTERACTION_CREATE", payload)
    await harness.settle()
    replies = [c for c in harness.calls if c.message is not None]
    assert len(replies) == 20 and all(c.ephemeral for c in replies)
    assert all("Manage Server" in c.text for c in replies)
    assert harness.bot.service.engine.version == version
    assert db.execute("SELECT count(*) FROM reloads").fetchone()[0] == 0


async def test_direct_messages_are_handled_deliberately(make_harness: HarnessFactory):
    """DMs: /ask answered when answer_in_dms is on, refused politely when off; /reload refused."""
    on = await make_harness(answer_in_dms=True)
    answered = await on.slash("ask", question="Who is Armenia's defence minister?", dm=True)
    assert "Karapetyan" in answered.last.text
    reload_dm = await on.slash("reload", permissions=ADMIN_PERMISSIONS, dm=True)
    assert reload_dm.last.ephemeral and "Knowledge base reloaded" not in reload_dm.last.text
    off = await make_harness(answer_in_dms=False)
    refused = await off.slash("ask", question="Who is Armenia's defence minister?", dm=True)
    assert refused.last.ephemeral and "direct messages" in refused.last.text
    assert "Karapetyan" not in refused.last.text


async def test_cooldown_holds_under_a_concurrent_burst(make_harness: HarnessFactory):
    """One user fires 3x the allowed questions at once: exactly the allowance is answered."""
    h = await make_harness(cooldown_questions=5, cooldown_seconds=60)
    user = 1_280_000_000_000_000_000
    payloads = [
        interaction_payload(h, "ask", user, question="Who is Armenia's defence minister?")
        for _ in range(15)
    ]
    for payload in payloads:
        h.feed("INTERACTION_CREATE", payload)
    await h.settle(limit_s=60)
    replies = [c for c in h.calls if c.message is not None]
    answered = [c for c in replies if not c.ephemeral]
    refused = [c for c in replies if c.ephemeral]
    assert len(answered) == 5 and len(refused) == 10
    assert all("Karapetyan" in c.text for c in answered)
    other = await h.slash("ask", question="Who is Armenia's defence minister?", user_id=user + 1)
    assert "Karapetyan" in other.last.text  # the limit is per user


async def test_token_is_never_logged_or_shown(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
):
    """With a token set: boot, answer, fail commands, print settings; the token shows nowhere."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)  # SQL traffic: noise, not secrets
    h = await make_harness(discord_token=SecretStr(TOKEN))
    await h.slash("ask", question="Who is Armenia's defence minister?")
    with h.expecting_errors():
        await h.slash("ask", question="")
        await h.slash("source", n=99)
        await h.slash("reload", permissions=MEMBER_PERMISSIONS)
    settings_obj = h.bot.settings
    seen = [
        caplog.text,
        repr(settings_obj),
        str(settings_obj),
        settings_obj.model_dump_json(),
        *(repr(c.json) for c in h.calls),
    ]
    assert not any(TOKEN in s or TOKEN.split(".")[-1] in s for s in seen)


def test_token_stays_out_of_cli_output(tmp_path: Path):
    """`run` (no network here, or a refused token in CI) and failing commands never echo it."""
    env = clean_env() | {"DISCORD_TOKEN": TOKEN, "BOT_LOG_LEVEL": "DEBUG"}
    (tmp_path / "bad.sqlite3").write_bytes(b"garbage" * 100)
    for args in (
        ["run", "--db", str(tmp_path / "run.sqlite3")],
        ["ask", "--json", "Who?", "--db", str(tmp_path / "bad.sqlite3")],
        ["index", "--knowledge", str(tmp_path / "missing")],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=90,
            check=False,
        )
        assert done.returncode != 0, args
        assert TOKEN not in done.stdout + done.stderr, args
        assert TOKEN.split(".")[-1] not in done.stdout + done.stderr, args


def test_env_file_is_git_ignored():
    """`.env` (where the token lives) can never be committed."""
    done = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO, capture_output=True, check=False
    )
    assert done.returncode == 0
