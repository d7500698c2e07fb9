"""A throwaway PostgreSQL server for tests and benchmarks, from the Debian binaries.

`initdb` into a temporary folder, started on a free port (TCP on 127.0.0.1 with password
auth, plus a private socket folder for the superuser), stopped and removed at the end. As
root the server runs as the `postgres` user (it refuses root).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

USER, PASSWORD = "kbbot", f"pw-{secrets.token_hex(8)}"


def find_bin() -> Path | None:
    configured = os.environ.get("BOT_TEST_PG_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((c for c in candidates if (c / "initdb").exists()), None)


def unavailable_reason() -> str | None:
    """Why no server can be started here (None: it can)."""
    if find_bin() is None:
        return "PostgreSQL binaries not found (apt-get install postgresql, or set BOT_TEST_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, *, durable: bool = False) -> None:
        """`durable`: PostgreSQL's default fsync (benchmarks); tests run without it."""
        self.durable = durable
        bin_dir = find_bin()
        assert bin_dir is not None
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="kb-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.sock.mkdir()
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
            self.root.chmod(0o711)
        self._names = 0

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as, *args], capture_output=True, text=True, check=check, timeout=60
        )

    def init(self) -> PgServer:
        self._pg(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "--no-instructions",
        )
        self.start()
        asyncio.run(self._superuser(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"))
        return self

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sock} "
            "-c unix_socket_permissions=0777 -c max_connections=200"
        )
        if not self.durable:
            options += " -c fsync=off"
        self._pg(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )
        deadline = time.monotonic() + 10
        while not (self.sock / f".s.PGSQL.{self.port}").exists():
            assert time.monotonic() < deadline, "PostgreSQL socket did not appear"
            time.sleep(0.02)

    def stop(self, mode: str = "fast") -> None:
        self._pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self._pg(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-m",
            "immediate",
            "-w",
            "stop",
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    async def _superuser(self, sql: str) -> None:
        conn = await asyncpg.connect(
            host=str(self.sock), port=self.port, user="postgres", database="postgres"
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database owned by the bot's role; its URL (with the password)."""
        self._names += 1
        name = f"kb_{os.getpid()}_{self._names}"
        asyncio.run(self._superuser(f"CREATE DATABASE {name} OWNER {USER}"))
        return self.url(name)

    def log_text(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""
