"""All configuration, read once at start-up from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.store.target import DbTarget


class Settings(BaseSettings):
    """Settings from `BOT_*` environment variables (and `DISCORD_TOKEN`), or a `.env` file."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "BOT_DISCORD_TOKEN")
    )
    knowledge_dir: Path = Path("knowledge")
    db_path: Path = Path("data/bot.sqlite3")
    # A URL wins over db_path: postgresql://user:password@host/db, or sqlite:///path.
    db_url: SecretStr | None = None
    db_pool_size: int = Field(default=10, gt=0)
    index_cache_dir: Path | None = Field(
        default=None, description="where built indexes are kept; default: next to the database"
    )

    embedding_model: str = Field(
        default="default",
        description="'default' (installed by `python -m bot model install` into models_dir), "
        "a local model folder, or 'off' for lexical answers only",
    )
    embedding_precision: Literal["int8", "fp32"] = "int8"
    embedding_threads: int = Field(
        # 2 threads embedded SQuAD's 48 articles in 90 s against 136 s on one, same run, idle
        # 2 cores (benchmarks/bench_background.py); niced, they yield to questions.
        default=2,
        ge=1,
        le=16,
        description="threads that compute passage vectors in the background (at a lower CPU "
        "priority than questions); 1 leaves a core to the bot while they are computed",
    )
    dense_max_passages: int = Field(
        # Exact float32 search over 100k passage vectors: 9-30 ms on 2 cores at load 3-9
        # (benchmarks/bench_dense_scale.py); past it, embedding (~1 h per 100k passages in
        # the background) and memory (~0.5 GB) argue for leaving the dense path off.
        default=100_000,
        ge=0,
        description="above this many passages the dense retrieval path is skipped (embedding "
        "them all would take too long on a small CPU); re-ranking still uses the model",
    )
    models_dir: Path = Field(
        default=Path("data/models"), description="where `python -m bot model install` puts models"
    )

    k1: float = Field(default=1.5, gt=0)
    b: float = Field(default=0.75, ge=0, le=1)
    idf: Literal["okapi", "lucene"] = "lucene"
    max_file_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    max_question_chars: int = Field(default=500, gt=0)

    admin_role_ids: list[int] = []
    admin_role_names: list[str] = []
    cooldown_questions: int = Field(default=5, gt=0)
    cooldown_seconds: float = Field(default=30.0, gt=0)
    answer_in_dms: bool = True
    log_level: str = "INFO"
    # This process's range of shards ("0,1" with a count of 4); none: discord.py chooses.
    shard_ids: Annotated[list[int] | None, NoDecode] = None
    shard_count: int | None = Field(default=None, gt=0)

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().strip("[]")
            return [int(part) for part in text.split(",") if part.strip()] if text else None
        return value

    @model_validator(mode="after")
    def _shards_in_range(self) -> Settings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("shard_ids needs shard_count (BOT_SHARD_COUNT / --shard-count)")
            bad = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
            if bad or not self.shard_ids or len(set(self.shard_ids)) != len(self.shard_ids):
                raise ValueError(f"shard ids must be distinct and within 0..{self.shard_count - 1}")
        return self

    @property
    def database(self) -> DbTarget:
        """The store to open: BOT_DB_URL when set, else the SQLite file at db_path."""
        if self.db_url is not None and self.db_url.get_secret_value().strip():
            return DbTarget.parse(self.db_url.get_secret_value())
        return DbTarget.parse(self.db_path)

    watch: bool = Field(default=False, description="reload when the knowledge folder changes")
    admin_channel_id: int | None = Field(
        default=None, description="channel for reload reports and the daily gaps digest"
    )
    versions_keep: int = Field(default=20, gt=0, description="knowledge base versions kept")

    @property
    def cache_dir(self) -> Path:
        return self.index_cache_dir or self.db_path.parent / "index"

    @property
    def versions_dir(self) -> Path:
        return self.db_path.parent / "versions"
