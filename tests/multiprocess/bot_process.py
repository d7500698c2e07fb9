"""One bot process for the multi-process tests and the benchmark, driven over stdin/stdout.

`python -m tests.multiprocess.bot_process run --db URL --shard-ids 0 --shard-count 2 …`
parses its arguments and settings exactly as `python -m bot run` does, builds the bot with
the same `create_bot`, and boots it through the offline Discord harness instead of logging
in: gateway payloads in, Discord's HTTP recorded (tests/discord_ui/harness.py). Commands
arrive as JSON lines on stdin; each gets one JSON line on stdout:

  {"op": "ask", "questions": [...], "user": N}   → {"answers": [{"answer_id", "version", "error", "text"}]}
  {"op": "reload"}                               → {"text", "version"}
  {"op": "kb"}                                   → {"text"}
  {"op": "wait_version", "version": V, "timeout": S} → {"ok", "at"} (time.time() when serving V)
  {"op": "quit"}
"""  # noqa: E501

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from typing import Any

import pytest

import tests.discord_ui.harness as harness_module
from bot.cli.app import build_parser, load_settings
from bot.discord_ui.client import create_bot
from bot.redact import redact_logs
from tests.discord_ui.harness import (
    ADMIN_PERMISSIONS,
    MEMBER_PERMISSIONS,
    DiscordHarness,
    install_webhook_recorder,
)

VERSION = re.compile(r"Index (\w+)")


def interaction(h: DiscordHarness, name: str, user_id: int, admin: bool, **options: Any) -> dict:
    data = h._command_data(name, options)
    permissions = ADMIN_PERMISSIONS if admin else MEMBER_PERMISSIONS
    return h._interaction(
        2, data, user_id=user_id, permissions=permissions, roles=[], channel_id=None
    )


async def ask(h: DiscordHarness, questions: list[str], user: int) -> list[dict[str, Any]]:
    payloads = [interaction(h, "ask", user + i, False, question=q) for i, q in enumerate(questions)]
    start = len(h.calls)
    for payload in payloads:  # all in flight at once, as a busy gateway delivers them
        h.state.parsers["INTERACTION_CREATE"](payload)
    await h.settle(limit_s=300)
    calls = h.calls[start:]
    results = []
    for payload in payloads:
        shown = [
            c
            for c in calls
            if c.message is not None and payload["token"] in c.path.strip("/").split("/")[:3]
        ]
        result: dict[str, Any] = {"answer_id": None, "version": None, "error": None, "text": ""}
        if shown:
            last = shown[-1]
            result["text"] = last.text
            if last.ephemeral:
                result["error"] = last.text
            else:
                ids = [i for i in last.custom_ids if i.startswith("kb:fb:up:")]
                result["answer_id"] = int(ids[0].split(":")[-1]) if ids else None
                footer = (last.embeds[0].get("footer") or {}).get("text", "") if last.embeds else ""
                found = VERSION.search(footer)
                result["version"] = found.group(1) if found else None
        results.append(result)
    del h.calls[start:]  # keep memory flat over long runs
    return results


async def serve(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    settings = load_settings(args)
    redact_logs(settings)
    harness_module.MAX_OUTGOING = 10**9
    patch = pytest.MonkeyPatch()
    h = DiscordHarness(create_bot(settings))
    install_webhook_recorder(patch, h)
    await h.boot()
    service = h.bot.service
    emit({"ready": True, "version": service.engine.version, "shards": h.bot.shard_summary()})
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            command = json.loads(line)
            op = command["op"]
            if op == "quit":
                break
            if op == "ask":
                emit({"answers": await ask(h, command["questions"], command.get("user", 1))})
            elif op == "reload":
                exchange = await h.slash("reload", permissions=ADMIN_PERMISSIONS)
                emit({"text": exchange.text, "version": service.engine.version})
            elif op == "kb":
                exchange = await h.slash("kb status")
                emit({"text": exchange.text})
            elif op == "wait_version":
                deadline = time.monotonic() + command.get("timeout", 10)
                while service.engine.version != command["version"]:
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.005)
                emit({"ok": service.engine.version == command["version"], "at": time.time()})
    finally:
        await h.close()
        patch.undo()


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1:]))
