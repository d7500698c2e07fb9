"""The command line end to end, on a temporary knowledge folder and database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.app import main

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    args: list[str], stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot` as a user would, in a clean environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DISCORD_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**clean, **(env or {})},
    )


@pytest.fixture
def paths(knowledge_dir: Path, db_path: Path) -> list[str]:
    return ["--knowledge", str(knowledge_dir), "--db", str(db_path)]


def assert_quotes_are_verbatim(answer: dict, knowledge_dir: Path) -> None:
    for citation in answer["citations"]:
        source = next(knowledge_dir.iterdir()).read_text(encoding="utf-8")
        assert source[citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{citation['n']}]" in answer["answer"]


def test_ask_prints_a_cited_answer(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`ask QUESTION` prints the answer, its numbered citations and the answer id."""
    assert main(["ask", "Who is Armenia's defence minister?", *paths]) == 0
    out = capsys.readouterr().out
    assert "Karapetyan" in out and "[1]" in out
    assert "answer #1" in out


def test_ask_json_matches_the_contract_and_is_stored(
    paths: list[str], knowledge_dir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ask --json` prints one object with the contract's fields; it is in the database."""
    assert (
        main(["ask", "--json", "Which TV channel interviewed the president of Azerbaijan?", *paths])
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert {"question", "answer", "abstained", "answer_id", "citations"} <= answer.keys()
    assert not answer["abstained"] and "CNN Türk" in answer["answer"]
    citation = answer["citations"][0]
    assert {"n", "title", "url", "passage_id", "quote", "start", "end", "score"} <= citation.keys()
    assert_quotes_are_verbatim(answer, knowledge_dir)
    with sqlite3.connect(db_path) as db:
        stored = db.execute("SELECT answer FROM answers WHERE id = ?", (answer["answer_id"],))
        assert stored.fetchone()[0] == answer["answer"]
        quotes = db.execute(
            "SELECT quote FROM citations WHERE answer_id = ?", (answer["answer_id"],)
        )
        assert [q[0] for q in quotes] == [c["quote"] for c in answer["citations"]]


def test_off_topic_question_abstains_with_reason(
    paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An off-topic question abstains, says why, and still gets an answer id."""
    assert main(["ask", "--json", "What is the capital of France?", *paths]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["abstained"] and answer["citations"] == []
    assert "capital" in answer["answer"] and answer["answer_id"] is not None


def test_ask_stream_answers_each_line_as_it_arrives(paths: list[str], knowledge_dir: Path) -> None:
    """`ask --json -` writes each answer before reading the next question."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", "-", *paths],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdin and proc.stdout
    answers = []
    for question in ["who is armenias prime minister", "When did Turkey get its first S-400?"]:
        proc.stdin.write(question + "\n")
        proc.stdin.flush()
        answers.append(json.loads(proc.stdout.readline()))  # would block forever if batched
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0
    assert "Pashinyan" in answers[0]["answer"] and "2019" in answers[1]["answer"]
    assert answers[1]["answer_id"] == answers[0]["answer_id"] + 1
    for answer in answers:
        assert_quotes_are_verbatim(answer, knowledge_dir)


def test_ask_stream_reports_bad_lines_and_goes_on(paths: list[str]) -> None:
    """A bad line in a stream gets an error object; the following lines are still answered;
    the exit code is 1."""
    result = run_cli(["ask", "--json", "-", *paths], stdin="x" * 5000 + "\nWho is Erdogan?\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert "limit" in lines[0]["error"]
    assert "Erdoğan" in lines[1]["answer"]
    assert result.returncode == 1  # DESIGN §4: some lines got an error row


def test_chat_json_keeps_the_conversation(paths: list[str]) -> None:
    """`chat --json` on piped stdin reads each question in the context of the previous ones."""
    result = run_cli(
        ["chat", "--json", *paths],
        stdin="Who is Armenia's defence minister?\nWhat exhibition did he attend?\n",
    )
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert "Karapetyan" in first["answer"]
    assert "military-industrial exhibition" in second["answer"]


def test_search_json_streams_ranked_hits(
    paths: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`search --json -` answers each query line with ranked hits."""
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("S-400 shipment 2019\nCNN Turk\n"))
    assert main(["search", "--json", "-", "--top-k", "3", *paths]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["query"] for r in results] == ["S-400 shipment 2019", "CNN Turk"]
    for result in results:
        assert 1 <= len(result["hits"]) <= 3
        scores = [h["score"] for h in result["hits"]]
        assert scores == sorted(scores, reverse=True)
        assert {"passage_id", "title", "url", "score", "text"} <= result["hits"][0].keys()
    assert "CNN Türk" in results[1]["hits"][0]["text"]


def test_search_stream_reports_over_long_queries_and_goes_on(paths: list[str]) -> None:
    """An over-long query in `search --json -` gets an error row like `ask -` (never a
    silently cut query); the next query is answered, and the exit code is 1."""
    result = run_cli(["search", "--json", "-", *paths], stdin="armenia " * 100 + "\nCNN Turk\n")
    assert result.returncode == 1, result.stderr
    refused, answered = (json.loads(line) for line in result.stdout.splitlines())
    assert "limit is 500" in refused["error"] and refused["hits"] == []
    assert "CNN Türk" in answered["hits"][0]["text"]


def test_search_top_k_says_why_there_are_fewer_hits(
    paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`search --top-k K` returns K hits, or fewer with the reason (JSON `reason`, a line
    of text); with K hits the reason is null."""
    assert main(["search", "--json", "--top-k", "2", "Armenia Turkey Russia", *paths]) == 0
    full = json.loads(capsys.readouterr().out)
    assert len(full["hits"]) == 2 and full["reason"] is None
    assert main(["search", "--json", "--top-k", "5", "Karapetyan", *paths]) == 0
    few = json.loads(capsys.readouterr().out)
    assert few["reason"] == f"only {len(few['hits'])} passage(s) contain a word of the query"
    assert main(["search", "--top-k", "5", "Karapetyan", *paths]) == 0
    text = capsys.readouterr().out
    assert f"{len(few['hits'])} of 5 passage(s) for “Karapetyan”: only" in text


def test_source_prints_the_passage_behind_a_citation(
    paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`source N` shows the passage behind citation N of the latest command-line answer,
    the quote marked; `--answer ID` picks another answer; a missing [n] is one clear line."""
    assert main(["ask", "--json", "Who is Armenia's defence minister?", *paths]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert main(["source", "1", *paths]) == 0
    text = " ".join(capsys.readouterr().out.split())  # the passage is wrapped to the terminal
    assert f"»{' '.join(answer['citations'][0]['quote'].split())}«" in text
    assert main(["source", "1", "--json", "--answer", str(answer["answer_id"]), *paths]) == 0
    cited = json.loads(capsys.readouterr().out)
    assert cited["quote"] == answer["citations"][0]["quote"] and cited["quote"] in cited["passage"]
    assert main(["source", "9", *paths]) == 1
    assert "there is no [9]" in capsys.readouterr().err


def test_feedback_and_status(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`feedback ID up|down` records a vote on a stored answer; `status` shows it with the
    knowledge base's figures; an unknown answer id is one clear line."""
    assert main(["ask", "--json", "Who is Armenia's prime minister?", *paths]) == 0
    answer_id = json.loads(capsys.readouterr().out)["answer_id"]
    assert main(["feedback", str(answer_id), "down", *paths]) == 0
    assert f"answer #{answer_id}" in capsys.readouterr().out
    assert main(["status", "--json", *paths]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["articles"], status["passages"], status["answers_served"]) == (1, 7, 1)
    assert (status["feedback_up"], status["feedback_down"]) == (0, 1)
    assert main(["status", *paths]) == 0
    assert "Answers served: 1" in capsys.readouterr().out
    assert main(["feedback", "999", "up", *paths]) == 1
    assert "No answer #999" in capsys.readouterr().err


def test_chat_stream_exits_1_when_a_line_got_an_error_row(paths: list[str]) -> None:
    """Piped `chat --json` behaves like `ask --json -`: an error row for a bad line, the
    conversation goes on, exit 1 at the end."""
    result = run_cli(
        ["chat", "--json", *paths],
        stdin="Who is Armenia's defence minister?\n"
        + "x" * 600
        + "\nWhat exhibition did he attend?\n",
    )
    assert result.returncode == 1, result.stderr
    first, refused, follow_up = (json.loads(line) for line in result.stdout.splitlines())
    assert "Karapetyan" in first["answer"] and "limit" in refused["error"]
    assert "military-industrial exhibition" in follow_up["answer"]


def test_index_reports_articles_refusals_and_changes(
    paths: list[str], knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`index` reports counts, each refused file with its reason, and what changed."""
    (knowledge_dir / "broken.md").write_bytes(b"---\ntitle: [oops\n---\nBody\n")
    assert main(["index", *paths]) == 0
    first = capsys.readouterr().out
    assert "1 article(s), 7 passage(s)" in first
    assert "broken.md: malformed front matter" in first
    assert "1 article(s) added" in first
    (knowledge_dir / "extra.txt").write_text("Extra title\n\nExtra body.\n", encoding="utf-8")
    assert main(["index", *paths]) == 0
    second = capsys.readouterr().out
    assert "added: extra.txt" in second


def test_a_missing_model_is_reported_once_and_answers_stay_lexical(
    paths: list[str], tmp_path: Path
) -> None:
    """With no model where BOT_EMBEDDING_MODEL points, `index` says so with the command that
    fixes it, and `ask` still answers."""
    env = {"BOT_EMBEDDING_MODEL": str(tmp_path / "no-model")}
    indexed = run_cli(["index", *paths], env=env)
    assert indexed.returncode == 0
    assert "Embeddings: embedding model not installed" in indexed.stdout
    assert "python -m bot model install" in indexed.stdout
    asked = run_cli(["ask", "--json", *paths, "Who is Armenia's defence minister?"], env=env)
    assert asked.returncode == 0
    assert "Karapetyan" in json.loads(asked.stdout)["answer"]


def test_index_of_empty_folder_fails(tmp_path: Path, db_path: Path) -> None:
    """`index` on a folder with nothing usable exits non-zero with one line."""
    (tmp_path / "kb").mkdir()
    result = run_cli(["index", "--knowledge", str(tmp_path / "kb"), "--db", str(db_path)])
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "no usable articles" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "hi", "--knowledge", "/nonexistent/kb"], "knowledge folder not found"),
        (["ask", "hi", "--db", "/proc/version"], "cannot use database"),
        (["run"], "DISCORD_TOKEN is not set"),
    ],
)
def test_bad_setup_is_one_clear_line(args: list[str], message: str) -> None:
    """Bad paths, an unusable database, or a missing token: one line on stderr, non-zero exit."""
    result = run_cli(args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_run_without_token_exits_2() -> None:
    """`run` without DISCORD_TOKEN exits with code 2 (DESIGN §4)."""
    assert run_cli(["run"]).returncode == 2


def test_corrupt_database_is_not_reset(tmp_path: Path, knowledge_dir: Path) -> None:
    """A corrupt database file is reported and left as it was."""
    db = tmp_path / "bad.sqlite3"
    db.write_bytes(b"garbage" * 1000)
    result = run_cli(["ask", "hi", "--knowledge", str(knowledge_dir), "--db", str(db)])
    assert result.returncode != 0 and "cannot use database" in result.stderr
    assert db.read_bytes() == b"garbage" * 1000


def test_eval_scores_a_question_file(
    paths: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`eval` scores rows of question + gold answers and reports hit and abstention rates."""
    rows = tmp_path / "q.jsonl"
    rows.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"question": "Who is Armenia's prime minister?", "answers": ["Nikol Pashinyan"]},
                {"question": "When did Turkey receive the S-400?", "answers": ["2019"]},
                {"question": "What is the capital of France?", "answers": ["Paris"]},
            ]
        ),
        encoding="utf-8",
    )
    assert main(["eval", str(rows), "--json", "--no-progress", *paths]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 3
    assert report["answer_hit_rate"] == pytest.approx(2 / 3)
    assert report["abstention_rate"] == pytest.approx(1 / 3)


def test_ask_json_reports_spelling_corrections(
    paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt name is searched as the article spells it; JSON says what was replaced,
    and the text output says it in words."""
    assert main(["ask", "--json", "What did Ilham Aliev complain about?", *paths]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["corrections"] == [{"from": "aliev", "to": "aliyev"}]
    assert "Aliyev" in answer["answer"]
    assert main(["ask", "What did Ilham Aliev complain about?", *paths]) == 0
    assert "instead of “aliev”" in capsys.readouterr().out


def test_chat_json_says_what_a_follow_up_was_read_as(paths: list[str]) -> None:
    """'What is his full name?' after the prime-minister question is answered, and its
    `resolved` field names whom it was read to be about."""
    done = run_cli(
        ["chat", "--json", *paths],
        stdin="Who is Armenia's prime minister?\nWhat is his full name?\n",
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert "resolved" not in first
    assert second["resolved"] == "What is Nikol Pashinyan's full name?"
    assert not second["abstained"] and "Nikol Pashinyan" in second["answer"]


def test_chat_text_says_what_a_follow_up_was_read_as_with_its_capitals(paths: list[str]) -> None:
    """The text line saying how a follow-up was read quotes the reading as written: names
    keep their capitals (only the line's first letter is raised)."""
    done = run_cli(
        ["chat", *paths], stdin="Who is Armenia's prime minister?\nWhat is his full name?\n"
    )
    assert done.returncode == 0, done.stderr
    assert "(Read as “What is Nikol Pashinyan's full name?”)" in done.stdout
