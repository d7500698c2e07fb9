"""Settings come from the environment or `.env`; the token stays secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import Settings


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With nothing set, the bot uses knowledge/ and data/bot.sqlite3 and has no token."""
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.knowledge_dir == Path("knowledge")
    assert settings.db_path == Path("data/bot.sqlite3")
    assert settings.discord_token is None


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`DISCORD_TOKEN` and `BOT_*` variables come from the environment or a `.env` file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "DISCORD_TOKEN=abc.def.ghi\nBOT_KNOWLEDGE_DIR=articles\nBOT_ADMIN_ROLE_IDS=[1, 2]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BOT_DB_PATH", "/var/lib/bot/db.sqlite3")
    settings = Settings()
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "abc.def.ghi"
    assert settings.knowledge_dir == Path("articles")
    assert settings.db_path == Path("/var/lib/bot/db.sqlite3")
    assert settings.admin_role_ids == [1, 2]


def test_token_never_shows_in_repr_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    """Printing or dumping the settings does not reveal the token."""
    monkeypatch.setenv("DISCORD_TOKEN", "super-secret-token")
    settings = Settings(_env_file=None)
    assert "super-secret-token" not in repr(settings)
    assert "super-secret-token" not in str(settings.model_dump())
    assert "super-secret-token" not in settings.model_dump_json()


def test_index_cache_defaults_next_to_the_database() -> None:
    """Persisted indexes live beside the database unless configured elsewhere."""
    settings = Settings(db_path=Path("/srv/bot/answers.sqlite3"), _env_file=None)
    assert settings.cache_dir == Path("/srv/bot/index")


def test_env_file_is_git_ignored() -> None:
    """`.env` (where the token lives) is listed in .gitignore."""
    gitignore = Path(__file__).resolve().parent.parent / ".gitignore"
    assert ".env" in gitignore.read_text(encoding="utf-8").split()


def test_every_setting_is_documented_in_the_readme() -> None:
    """The README's configuration table names the variable of every Settings field, so a new
    setting cannot ship undocumented."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = []
    for name in Settings.model_fields:
        variable = "DISCORD_TOKEN" if name == "discord_token" else f"BOT_{name.upper()}"
        if f"`{variable}`" not in table:
            missing.append(variable)
    assert not missing, f"undocumented settings: {missing}"
