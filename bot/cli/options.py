"""Command-line options for the database target and the shard range (validated like .env)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from bot.errors import ConfigError
from bot.settings import Settings


def add_shard_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard-ids",
        default=argparse.SUPPRESS,
        metavar="0,1",
        help="the shards this process runs (default: BOT_SHARD_IDS, else all, chosen by Discord)",
    )
    parser.add_argument(
        "--shard-count",
        type=int,
        default=argparse.SUPPRESS,
        metavar="N",
        help="the total number of shards across processes (BOT_SHARD_COUNT)",
    )


def apply_db_option(value: str) -> dict[str, Any]:
    """`--db` takes a path, sqlite:///PATH or postgresql://… and replaces BOT_DB_URL; the
    settings' `database` reads it (and refuses an unknown scheme)."""
    if "://" in value:
        return {"db_url": SecretStr(value)}
    return {"db_path": Path(value), "db_url": None}


def apply_shard_options(args: argparse.Namespace, settings: Settings) -> Settings:
    given = {k: getattr(args, k) for k in ("shard_ids", "shard_count") if k in args}
    if not given:
        return settings
    try:
        return Settings.model_validate(settings.model_dump() | given)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"invalid shard options: {first['msg']}") from None
