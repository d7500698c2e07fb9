"""The command line and Discord give the same result for the same input, because both only
parse input, call one QAService method and render what it returns.

Each test drives the real CLI (`bot.cli.app.main`, on a worker thread since it runs its own
event loop) and the real bot (the offline gateway harness) on the same knowledge folder, and
compares what a user of each would get.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

import tests.discord_ui.conftest as discord_fixtures
from bot import Settings
from bot.cli.app import main
from bot.core.answering.answers import Answer
from bot.discord_ui import render
from tests.discord_ui.harness import ADMIN_PERMISSIONS, DiscordHarness

USER_ID = 1_200_000_000_000_000_001  # the harness's default member
NEW_ARTICLE = """---
title: Lighthouse keepers of Skerryvore
url: https://example.org/skerryvore
---
The Skerryvore lighthouse was built by Alan Stevenson between 1838 and 1844.

Its keepers were relieved every six weeks by a tender from the island of Tiree.
"""


# The Discord tests' own fixtures: settings on the test's knowledge folder and database, and
# a booted bot (closed at the end of the test).
settings = discord_fixtures.settings
make_harness = discord_fixtures.make_harness
harness = discord_fixtures.harness


class Cli:
    """`python -m bot …` on the test's knowledge folder and database."""

    def __init__(self, settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
        self.paths = ["--knowledge", str(settings.knowledge_dir), "--db", str(settings.db_path)]
        self.capsys = capsys

    async def run(self, *args: str) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of one command."""
        code = await asyncio.to_thread(main, [*args, *self.paths])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    async def run_with_stdin(self, stdin: str, *args: str) -> tuple[int, str, str]:
        """Like `run`, with lines piped on stdin."""
        real = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            return await self.run(*args)
        finally:
            sys.stdin = real

    async def json(self, *args: str) -> Any:
        code, out, err = await self.run(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(settings, capsys)


def answer_id_in(text: str) -> int:
    found = re.search(r"Answer #(\d+)", text)
    assert found, text
    return int(found[1])


async def stored(harness: DiscordHarness, text: str) -> Answer:
    """The stored answer behind a Discord message (by the id in its footer)."""
    return await harness.bot.service.answer(answer_id_in(text))


def same_answer(cli_answer: dict[str, Any], discord_answer: Answer) -> None:
    """Same words, same abstention, same citations (everything but the row id)."""
    assert cli_answer["answer"] == discord_answer.answer
    assert cli_answer["abstained"] == discord_answer.abstained
    cited = [
        c.model_dump(include={"n", "title", "url", "passage_id", "quote", "start", "end", "score"})
        for c in discord_answer.citations
    ]
    assert cli_answer["citations"] == cited


@pytest.mark.parametrize(
    "question", ["Who is Armenia's defence minister?", "What is the capital of France?"]
)
async def test_ask(harness: DiscordHarness, cli: Cli, question: str) -> None:
    """`ask --json Q` and `/ask question:Q` give the same answer or abstention, the same
    citations, and the embed shows exactly that answer."""
    from_cli = await cli.json("ask", question)
    exchange = await harness.slash("ask", question=question)
    same_answer(from_cli, await stored(harness, exchange.last.text))
    assert exchange.last.embeds[0]["description"] == render.safe(from_cli["answer"])


async def test_over_long_question(harness: DiscordHarness, cli: Cli) -> None:
    """An over-long question gets the same refusal from `ask`, `search` and `/ask`, and
    nothing is answered or silently cut."""
    question = "why " * 400
    ask_code, ask_out, asked = await cli.run("ask", question)
    search_code, search_out, searched = await cli.run("search", question)
    refused = await harness.slash("ask", question=question)
    message = asked.strip().removeprefix("error: ")
    assert (ask_code, search_code, ask_out, search_out) == (1, 1, "", "")
    assert "limit is 500" in message and searched.strip() == asked.strip()
    assert refused.last.ephemeral and refused.last.text == message


async def test_follow_up(harness: DiscordHarness, cli: Cli) -> None:
    """A follow-up in a `chat` session and in the bot's Discord thread is read in the same
    context and gets the same answer."""
    first, second = "Who is Armenia's defence minister?", "What exhibition did he attend?"
    code, out, err = await cli.run_with_stdin(f"{first}\n{second}\n", "chat", "--json")
    assert code == 0, err
    cli_first, cli_second = (json.loads(line) for line in out.splitlines())
    started = await harness.say(first, mention_bot=True)
    thread_id = int(started.calls[0].path.split("/")[4])
    follow_up = await harness.say(second, channel_id=thread_id)
    same_answer(cli_first, await stored(harness, started.last.text))
    discord_second = await stored(harness, follow_up.last.text)
    same_answer(cli_second, discord_second)
    assert cli_second["carried_terms"] == discord_second.carried_terms != []


async def test_search(harness: DiscordHarness, cli: Cli) -> None:
    """Discord has no search command: `search --json` prints exactly what QAService.search
    (the method a Discord command would call) returns, reason for fewer hits included."""
    for query, k in (("S-400 shipment 2019", 3), ("Karapetyan", 5)):
        from_cli = await cli.json("search", "--top-k", str(k), query)
        report = await harness.bot.service.search(query, k)
        assert from_cli["hits"] == [
            h.model_dump(include={"passage_id", "title", "url", "score", "text"})
            for h in report.hits
        ]
        assert from_cli["reason"] == report.reason


async def test_source(harness: DiscordHarness, cli: Cli) -> None:
    """`/source n:1` and `source 1 --answer ID` show the same citation and passage, the
    quote bold in one and marked in the other; a missing [n] is the same message."""
    asked = await harness.slash("ask", question="Which TV channel interviewed Aliyev?")
    answer_id = answer_id_in(asked.last.text)
    shown = (await harness.slash("source", n=1)).last.embeds[0]
    from_cli = await cli.json("source", "1", "--answer", str(answer_id))
    assert shown["title"] == f"[1] {from_cli['title']}"
    assert shown["footer"]["text"] == (
        f"Passage {from_cli['passage_id']} · score {from_cli['score']:.2f}"
    )
    quote, passage = from_cli["quote"], from_cli["passage"]
    start = passage.index(quote)
    assert shown["description"] == render.highlight(passage, quote, start)
    missing = await harness.slash("source", n=9)
    code, _out, err = await cli.run("source", "9", "--answer", str(answer_id))
    assert code == 1 and "there is no [9]" in err and "there is no [9]" in missing.last.text


async def test_reload_and_index(
    tmp_path: Path, harness: DiscordHarness, cli: Cli, settings: Settings, knowledge_dir: Path
) -> None:
    """After the same change to the folder, `/reload` and `index` (each against its own
    last build) report the same diff, counts, index version and refused files."""
    other_db = tmp_path / "cli" / "bot.sqlite3"
    index_cli = Cli(settings.model_copy(update={"db_path": other_db}), cli.capsys)
    await index_cli.json("index")  # the CLI's last build: the folder as the bot started on it
    (knowledge_dir / "skerryvore.md").write_text(NEW_ARTICLE, encoding="utf-8")
    (knowledge_dir / "broken.md").write_bytes(b"---\ntitle: [oops\n---\nBody\n")
    reloaded = await harness.slash("reload", permissions=ADMIN_PERMISSIONS)
    indexed = await index_cli.json("index")
    assert indexed["diff"]["articles_added"] == ["skerryvore.md"]
    text = reloaded.last.text
    assert f"Articles added (1)\n{indexed['diff']['articles_added'][0]}" in text
    passages = indexed["diff"]["passages_added"]
    assert f"+{passages} / -0 · {indexed['passages']} in total" in text
    assert f"Index {indexed['index_version']}" in text
    (problem,) = indexed["problems"]
    assert "broken.md: malformed front matter" in problem and render.safe(problem) in text


async def test_status(harness: DiscordHarness, cli: Cli) -> None:
    """`/kb status` and `status --json` show the same figures for the same database."""
    await harness.slash("ask", question="Who is Armenia's prime minister?")
    await cli.json("ask", "What is the capital of France?")
    kb = {
        f["name"]: f["value"] for f in (await harness.slash("kb status")).last.embeds[0]["fields"]
    }
    status = await cli.json("status")
    assert kb["Articles"] == str(status["articles"])
    assert kb["Passages"] == str(status["passages"])
    assert kb["Index version"] == f"`{status['index_version']}`"
    assert kb["Answers served"] == f"{status['answers_served']:,}" == "2"
    assert kb["Abstention rate"] == f"{status['abstention_rate']:.0%}" == "50%"
    assert kb["Feedback"] == f"👍 {status['feedback_up']} · 👎 {status['feedback_down']}"


async def test_feedback(harness: DiscordHarness, cli: Cli, settings: Settings) -> None:
    """A 👍 button press and `feedback ID down` by the same user are one vote, changed;
    both refuse an unknown answer with the same message."""
    asked = await harness.slash("ask", question="Who is Armenia's prime minister?")
    answer_id = answer_id_in(asked.last.text)
    await harness.click(f"kb:fb:up:{answer_id}")
    code, _out, err = await cli.run("feedback", str(answer_id), "down", "--user", str(USER_ID))
    assert code == 0, err
    with sqlite3.connect(settings.db_path) as db:
        votes = db.execute("SELECT answer_id, user_id, value FROM feedback").fetchall()
    assert votes == [(answer_id, str(USER_ID), -1)]
    message = harness._message_with(f"kb:fb:up:{answer_id}")
    forged = json.loads(json.dumps(message).replace(f':{answer_id}"', ':999"'))
    refused = await harness.click("kb:fb:up:999", message=forged)
    code, _out, err = await cli.run("feedback", "999", "up")
    assert code == 1 and "No answer #999" in err and "No answer #999" in refused.last.text
