"""Real bot processes for the multi-process tests: start, talk JSON lines, stop."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.reliability.conftest import REPO, clean_env

QUESTIONS = [
    "Who is the president of Turkey?",
    "When did Turkey receive its first S-400 shipment?",
    "Who is Armenia's defence minister?",
    "Which fighter jet program was Turkey removed from?",
    "Which TV channel interviewed the president of Azerbaijan?",
    "who is armenias prime minister",
    "How do I bake bread?",
]
ZEBRA = "Zebras\n\nThe zebra keeper at the harbour zoo is Olga Brant.\n"


class BotProcess:
    """`python -m tests.multiprocess.bot_process run ARGS` with stderr kept in a file."""

    def __init__(self, *args: str | Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._stderr = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.multiprocess.bot_process", "run", *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=REPO,
            env=clean_env() | {"BOT_COOLDOWN_QUESTIONS": "1000000"} | (env or {}),
        )
        self.hello: dict[str, Any] | None = None

    def read(self, timeout: float = 120) -> dict[str, Any]:
        """The next JSON line (the process is killed if none comes within `timeout`)."""
        assert self.proc.stdout is not None
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise AssertionError(f"bot process ended:\n{self.log.read_text(errors='replace')}")
        return json.loads(line)

    def ready(self) -> dict[str, Any]:
        self.hello = self.read()
        assert self.hello.get("ready"), self.hello
        return self.hello

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, timeout: float = 120, **command: Any) -> dict[str, Any]:
        self.send(**command)
        return self.read(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(op="quit")
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
