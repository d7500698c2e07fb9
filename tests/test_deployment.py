"""The Docker image and compose file are well-formed and honest (no docker engine needed)."""

from __future__ import annotations

import fnmatch
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    joined = text.replace("\\\n", " ")
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), " ".join(rest.split())))
    return result


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [p.strip().rstrip("/") for p in lines if p.strip() and not p.startswith("#")]


def ignored(path: str) -> bool:
    return any(
        fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/"))
        for p in dockerignore_patterns()
    )


def test_dockerfile_uses_slim_python_and_installs_the_package() -> None:
    """FROM python:3.11-slim, `pip install .`, and the bot started with `python -m bot run`."""
    steps = dockerfile_instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert any(k == "RUN" and "pip install ." in args for k, args in steps)
    cmd = [args for k, args in steps if k == "CMD"]
    assert len(cmd) == 1 and json.loads(cmd[0]) == ["python", "-m", "bot", "run"]


def test_dockerfile_runs_as_a_non_root_user_with_a_data_volume() -> None:
    """The last USER is not root and comes before CMD; /app/data is a volume it owns."""
    steps = dockerfile_instructions()
    users = [(i, args) for i, (k, args) in enumerate(steps) if k == "USER"]
    assert users, "no USER instruction: the bot would run as root"
    index, user = users[-1]
    assert user not in {"root", "0", "0:0"}
    assert index < next(i for i, (k, _) in enumerate(steps) if k == "CMD")
    volumes = [json.loads(args) for k, args in steps if k == "VOLUME"]
    assert ["/app/data"] in volumes
    assert any(k == "RUN" and "chown" in args and "/app/data" in args for k, args in steps)
    env = " ".join(args for k, args in steps if k == "ENV")
    assert "BOT_DB_PATH=/app/data/" in env


def test_everything_the_dockerfile_copies_exists_and_is_not_ignored() -> None:
    """Each COPY source is in the repository and not excluded by .dockerignore."""
    for keyword, args in dockerfile_instructions():
        if keyword != "COPY":
            continue
        *sources, _target = shlex.split(args)
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: missing"
            assert not ignored(source), f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_keeps_secrets_and_state_out_of_the_image() -> None:
    """.env, the database folder and git history never reach the build context."""
    for path in (".env", ".env.local", "data", ".git", ".venv", "bot/__pycache__"):
        assert ignored(path), f"{path} would be sent to the docker build"


def test_compose_file_runs_the_bot_service() -> None:
    """docker-compose.yml: service `bot` built here, init, .env, restart, data and knowledge."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    bot = compose["services"]["bot"]
    assert bot["build"] == "."
    assert bot["init"] is True
    env_file = bot["env_file"]
    assert (env_file if isinstance(env_file, list) else [env_file]) == [".env"]
    assert bot["restart"] == "unless-stopped"
    volumes = {v.split(":")[1]: v.split(":")[0] for v in bot["volumes"]}
    assert volumes["/app/data"] == "./data"
    assert volumes["/app/knowledge"] == "./knowledge"
    assert "DISCORD_TOKEN" not in json.dumps(compose)  # the token lives only in .env


def test_compose_postgres_profile_is_opt_in_with_a_volume_and_health_check() -> None:
    """`postgres` (official image, named volume, health check) only under its profile; the
    bot waits for it when the profile is on, and no password is written in the file."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    postgres = compose["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert "profiles" not in compose["services"]["bot"]  # the default stays SQLite
    assert postgres["image"].split(":")[0] == "postgres"
    volume = postgres["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data" and volume[0] in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    wait = compose["services"]["bot"]["depends_on"]["postgres"]
    assert wait == {"condition": "service_healthy", "required": False}
    assert "postgresql://" not in json.dumps(compose)  # BOT_DB_URL lives only in .env


def test_the_image_command_exists() -> None:
    """`python -m bot run` is a real command (its --help works without a token)."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: python -m bot run" in result.stdout


@pytest.mark.parametrize("name", ["Dockerfile", "docker-compose.yml", ".dockerignore"])
def test_deployment_files_are_tracked_text(name: str) -> None:
    """The deployment files exist as UTF-8 text at the repository root."""
    assert (REPO / name).read_text(encoding="utf-8").strip()


def test_dockerfile_installs_the_embedding_model_outside_the_data_volume() -> None:
    """`python -m bot model install` runs at build time into the folder BOT_MODELS_DIR names,
    which is not under the /app/data volume (a mounted volume would hide it)."""
    steps = dockerfile_instructions()
    install = [args for k, args in steps if k == "RUN" and "python -m bot model install" in args]
    assert len(install) == 1
    env = " ".join(args for k, args in steps if k == "ENV")
    models_dir = env.split("BOT_MODELS_DIR=")[1].split()[0]
    assert f"BOT_MODELS_DIR={models_dir}" in install[0]
    assert not models_dir.startswith("/app/data")
