"""Hostile questions through the service and the real `ask --json -` stream.

Issue 7, row 2 (CLI half; the Discord half lives with the Discord harness). Every input gets
a short reply, an abstention, or a one-line error; nothing escapes; the stream goes on.
"""

from __future__ import annotations

import json
import sqlite3
import time
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import QuestionError
from bot.service import QAService
from tests.reliability.conftest import Cli, figure, make_settings

COMBINING = [chr(c) for c in range(0x0300, 0x036F)]


def zalgo(text: str, marks: int = 6) -> str:
    """Bury each letter under combining marks, deterministically."""
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        if ch.isalpha():
            out.extend(COMBINING[(i * 7 + j * 13) % len(COMBINING)] for j in range(marks))
    return "".join(out)


PRESIDENT = "Who is the president of Turkey?"

# name -> question (single line, so the same list feeds the CLI stream).
HOSTILE: dict[str, str] = {
    "plain": PRESIDENT,
    "100 kB": "Who is the president of Turkey? " * 3200,
    "100 kB one word": "a" * 100_000,
    "NUL and controls": "Who\x00 is the\x07 president\x1b of\x7f Turkey?\x08\x0b\x1f",
    "ANSI escapes": "\x1b[2J\x1b[31mWho is the president of Turkey?\x1b[0m\x1b]0;pwned\x07",
    "zalgo": zalgo(PRESIDENT),
    "only stopwords": "who is the of and a to what which it be",
    "only punctuation": "?!?... ,;: — !!! ¿¡ ()[]{}",
    "mentions": "@everyone @here <@&123> <@456> who is the president of Turkey?",
    "markdown": "**Who** is _the_ `president` of [Turkey](https://example.org)? ||spoiler||",
    "code fence": "```python import os; os.system('rm -rf /') ``` what missile?",
    "regex-like": r"(a+)+$ .* [^\w] \d{1,3} (?=x) ^Turkey$ \1 (?P<n>S-400)",
    "sql": "'; DROP TABLE answers; -- who is the president of Turkey?",
    "format strings": "{0} %s %(x)s {question!r} ${HOME} $(id) `id`",
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "emoji": "🇹🇷 who is the 👑 president of Turkey 🤔?",
    "russian": "Кто президент Турции?",
    "chinese": "土耳其总统是谁？",
    "arabic": "من هو رئيس تركيا؟",
    "bidi and zero-width": "Who is the pre\u200bsident of \u202eTurkey?\u202c\u2066",
    "path": "../../../../etc/passwd",
    "one long word": "x" * 499,
    "max length": ("president Turkey " * 40)[:500],
    "over max length": ("president Turkey " * 40)[:501] + "x",
}
# Multi-line inputs are only possible through the service (the stream is one line each).
SERVICE_ONLY: dict[str, str] = {
    "empty": "",
    "whitespace": " \t\n\r\u3000\u00a0 ",
    "newlines": "Who is\nthe president\r\nof Turkey?\u2028\u2029",
    "code fence block": "```python\nimport os\nos.system('rm -rf /')\n```",
    "lone surrogate": "Who is the \ud800 president of Turkey?",
}
ABSTAIN = {"only stopwords", "only punctuation", "russian", "chinese", "arabic", "html"}
REFUSE = {"100 kB", "100 kB one word", "over max length", "empty", "whitespace"}
ANSWER_ERDOGAN = {"plain", "NUL and controls", "ANSI escapes", "emoji", "bidi and zero-width"}


def check_reply(name: str, answer: str) -> None:
    """A reply is short, one line, free of control characters and of mention syntax."""
    assert answer, name
    assert len(answer) <= 1000, (name, len(answer))
    assert not any(unicodedata.category(c) == "Cc" for c in answer), name
    for ping in ("@everyone", "@here", "<@"):
        assert ping not in answer, (name, answer)


@pytest.fixture
async def service(sample_knowledge: Path, tmp_path: Path) -> AsyncIterator[QAService]:
    async with await QAService.start(make_settings(sample_knowledge, tmp_path / "db.sqlite3")) as s:
        yield s


@pytest.mark.parametrize("name", [*HOSTILE, *SERVICE_ONLY])
async def test_service_gives_each_hostile_question_a_short_reply(service: QAService, name: str):
    """Each input is answered, abstained or refused with a one-line QuestionError."""
    text = HOSTILE.get(name, SERVICE_ONLY.get(name, ""))
    started = time.perf_counter()
    try:
        answer = await service.ask(text)
    except QuestionError as exc:
        assert name in REFUSE, (name, exc)
        message = str(exc)
        assert "\n" not in message and len(message) < 200
        return
    seconds = time.perf_counter() - started
    assert name not in REFUSE, name
    assert seconds < 10, (name, seconds)  # a hang guard; timings are reported, not asserted
    assert answer.answer_id is not None
    check_reply(name, answer.answer)
    if name in ABSTAIN:
        assert answer.abstained, (name, answer.answer)
    if name in ANSWER_ERDOGAN:
        assert not answer.abstained and "Erdoğan" in answer.answer, (name, answer.answer)
    for c in answer.citations:
        assert f"[{c.n}]" in answer.answer


async def test_zalgo_question_finds_the_same_fact(service: QAService):
    """Zalgo marks are folded away: the buried question answers like the plain one."""
    answer = await service.ask(zalgo(PRESIDENT))
    assert not answer.abstained and "Erdoğan" in answer.answer, answer.answer


async def test_file_path_question_abstains(service: QAService):
    """A path like ../../etc/passwd has nothing to do with the articles: abstain."""
    answer = await service.ask(HOSTILE["path"])
    assert answer.abstained, answer.answer


async def test_sql_in_a_question_is_only_data(service: QAService, tmp_path: Path):
    """A question holding SQL is stored verbatim and drops nothing."""
    answer = await service.ask(HOSTILE["sql"])
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        row = db.execute("SELECT question FROM answers WHERE id = ?", (answer.answer_id,))
        assert row.fetchone()[0] == HOSTILE["sql"]


def test_cli_stream_answers_every_hostile_line_and_goes_on(
    cli: Cli, sample_knowledge: Path, tmp_path: Path
):
    """`ask --json -` writes one JSON object per non-blank line, errors included, in order."""
    db = tmp_path / "data" / "bot.sqlite3"
    names = list(HOSTILE)
    lines = [HOSTILE[n].encode("utf-8") for n in names]
    # Bytes that are not UTF-8 and a CRLF line: the stream must not end there.
    names += ["invalid UTF-8", "crlf"]
    lines += [b"\xff\xfe who is the \xc3 president of Turkey?", PRESIDENT.encode() + b"\r"]
    stream = b"\n".join(lines) + b"\n\n   \n\t\n"  # blank lines at the end are skipped
    result = cli("ask", "--json", "-", "--knowledge", sample_knowledge, "--db", db, stdin=stream)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1  # some lines were refused: exit 1, but every line answered
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(names)
    latencies = []
    for name, obj in zip(names, out, strict=True):
        if "error" in obj:
            assert name in REFUSE, (name, obj)
            assert obj["answer_id"] is None and "\n" not in obj["error"]
            assert len(obj["question"]) <= 200
            continue
        assert name not in REFUSE, name
        assert isinstance(obj["answer_id"], int)
        check_reply(name, obj["answer"])
        latencies.append(obj["latency_ms"])
        if name in ANSWER_ERDOGAN | {"crlf", "invalid UTF-8"}:
            assert "Erdoğan" in obj["answer"], (name, obj["answer"])
        if name in ABSTAIN:
            assert obj["abstained"], name
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM answers").fetchone()[0]
    assert stored == len(latencies)
    figure(
        "hostile questions (CLI stream)",
        f"{len(names)} lines, {len(names) - len(latencies)} one-line errors, "
        f"{len(latencies)} answered/abstained; engine latency max {max(latencies):.1f} ms; "
        f"whole run {result.seconds:.2f} s",
    )
