"""Argument parsing and the commands; every command is a thin call into the service."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from bot.cli import render
from bot.cli.evaluate import report_json, report_text
from bot.cli.options import add_shard_options, apply_db_option, apply_shard_options
from bot.core.articles.diff import Snapshot, diff
from bot.errors import BotError, ConfigError
from bot.evaluation.dataset import read_rows
from bot.evaluation.protocol import evaluate
from bot.knowledge.factory import build_engine, load_knowledge_base
from bot.redact import redact_logs
from bot.service import QAService
from bot.settings import Settings
from bot.store import Store
from bot.store.database import AskedBy

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given before or after the command name both count.
    common.add_argument(
        "--knowledge",
        type=Path,
        default=argparse.SUPPRESS,
        help="knowledge folder (default: knowledge/ or BOT_KNOWLEDGE_DIR)",
    )
    common.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        metavar="PATH_OR_URL",
        help="SQLite file or sqlite:///PATH, or postgresql://… "
        "(default: BOT_DB_URL, else data/bot.sqlite3 or BOT_DB_PATH)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        parents=[common],
        description="Answer questions from a folder of articles, with verbatim citations.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", parents=[common], help="answer one question (or - for stdin)")
    ask.add_argument("question", nargs="+", help="the question, or - to read one per line")
    ask.add_argument("--json", action="store_true", help="print JSON (one object per line)")

    chat = commands.add_parser("chat", parents=[common], help="a conversation with follow-ups")
    chat.add_argument("--json", action="store_true", help="JSON lines in and out (piped stdin)")

    search = commands.add_parser("search", parents=[common], help="show the best passages")
    search.add_argument("query", nargs="+", help="the query, or - to read one per line")
    search.add_argument("--json", action="store_true")
    search.add_argument("--top-k", type=int, default=10, metavar="K")

    commands.add_parser("index", parents=[common], help="validate the knowledge base and index it")

    ev = commands.add_parser("eval", parents=[common], help="score the bot on a JSONL file")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--no-progress", action="store_true")

    run = commands.add_parser(
        "run", parents=[common], help="start the Discord bot (needs DISCORD_TOKEN)"
    )
    add_shard_options(run)
    return parser


def _emit(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()


def _stdin_lines() -> Any:
    # Undecodable bytes become U+FFFD: one bad line must not end the stream with a traceback.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")
    for raw in sys.stdin:
        line = raw.rstrip("\r\n")
        if line.strip():
            yield line


async def _ask(args: argparse.Namespace, settings: Settings) -> int:
    text = " ".join(args.question)
    async with await QAService.start(settings) as service:
        if text != "-":
            answer = await service.ask(text)
            _emit(
                sys.stdout,
                render.dumps(render.answer_json(answer))
                if args.json
                else render.answer_text(answer),
            )
            return 0
        failures = 0
        for line in _stdin_lines():
            failures += not await _answer_line(service, line, args.json, AskedBy())
        return 1 if failures else 0


async def _answer_line(service: QAService, line: str, as_json: bool, asked_by: AskedBy) -> bool:
    """Answer one streamed line; a bad line gets an error object, and the stream goes on."""
    try:
        answer = await service.ask(line, asked_by)
    except BotError as exc:
        if as_json:
            _emit(
                sys.stdout,
                render.dumps(
                    {
                        "question": line[:200],
                        "error": str(exc),
                        "abstained": True,
                        "answer_id": None,
                        "answer": "",
                        "citations": [],
                    }
                ),
            )
        else:
            _emit(sys.stdout, f"error: {exc}")
        return False
    _emit(
        sys.stdout,
        render.dumps(render.answer_json(answer)) if as_json else render.answer_text(answer),
    )
    return True


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    asked_by = AskedBy(source="cli-chat", conversation_id=f"cli-chat:{uuid.uuid4().hex}")
    async with await QAService.start(settings) as service:
        if args.json or not sys.stdin.isatty():
            for line in _stdin_lines():
                await _answer_line(service, line, args.json, asked_by)
            return 0
        print(
            f"Ask about {len(service.engine.kb.articles)} article(s). "
            "Follow-ups use the previous answer. Empty line or Ctrl-D to quit."
        )
        while True:
            try:
                line = await asyncio.to_thread(input, "\n? ")
            except EOFError:
                return 0
            if not line.strip():
                return 0
            await _answer_line(service, line, False, asked_by)


async def _search(args: argparse.Namespace, settings: Settings) -> int:
    if args.top_k < 1:
        raise ConfigError("--top-k must be at least 1")
    text = " ".join(args.query)
    queries = list(_stdin_lines()) if text == "-" else [text]
    kb = await asyncio.to_thread(load_knowledge_base, settings)
    engine = await asyncio.to_thread(build_engine, kb, settings)
    for query in queries:
        hits = engine.search(query[: settings.max_question_chars], args.top_k)
        if args.json:
            _emit(
                sys.stdout,
                render.dumps({"query": query, "hits": [render.hit_json(h) for h in hits]}),
            )
        else:
            _emit(sys.stdout, render.hits_text(query, hits))
    return 0


async def _index(args: argparse.Namespace, settings: Settings) -> int:
    try:
        kb = await asyncio.to_thread(load_knowledge_base, settings)
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    engine = await asyncio.to_thread(build_engine, kb, settings)
    async with await Store.open(settings.database) as store:
        before = await store.snapshot()
        await store.sync_knowledge(kb, before)
    change = diff(before, Snapshot.of(kb))
    print(
        f"Knowledge base {settings.knowledge_dir}: {len(kb.articles)} article(s), "
        f"{len(kb.passages)} passage(s), index {engine.version}."
    )
    print(f"Changes since last build: {change.summary()}.")
    for label, ids in (
        ("added", change.articles_added),
        ("changed", change.articles_changed),
        ("removed", change.articles_removed),
    ):
        for article_id in ids:
            print(f"  {label}: {article_id}")
    if kb.problems:
        print(f"Refused {len(kb.problems)} file(s):")
        for problem in kb.problems:
            print(f"  {problem}")
    return 0


async def _eval(args: argparse.Namespace, settings: Settings) -> int:
    rows = read_rows(args.file)
    with tempfile.TemporaryDirectory() as scratch:
        if "db" not in args:  # keep evaluation answers out of the real database
            scratch_db = Path(scratch) / "eval.sqlite3"
            settings = settings.model_copy(update={"db_path": scratch_db, "db_url": None})
        async with await QAService.start(settings) as service:
            report = await evaluate(service, rows, progress=not args.no_progress)
    print(report_json(report) if args.json else report_text(report))
    return 0


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ConfigError(
            "DISCORD_TOKEN is not set (environment or .env); the CLI commands work without it"
        )
    from bot.discord_ui.runner import run_discord  # imported late: the CLI needs no discord.py

    await QAService.check_database(settings)  # a bad URL or password: before logging in
    await run_discord(settings)
    return 0


COMMANDS: dict[str, Command] = {
    "ask": _ask,
    "chat": _chat,
    "search": _search,
    "index": _index,
    "eval": _eval,
    "run": _run,
}


def load_settings(args: argparse.Namespace) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(
            f"invalid setting {'.'.join(map(str, first['loc']))}: {first['msg']}"
        ) from None
    update: dict[str, Any] = {}
    if "knowledge" in args:
        update["knowledge_dir"] = args.knowledge
    if "db" in args:
        update |= apply_db_option(args.db)
    settings = settings.model_copy(update=update)
    return apply_shard_options(args, settings)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args)
        redact_logs(settings)
        return asyncio.run(COMMANDS[args.command](args, settings))
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
