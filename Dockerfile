# The Discord bot: `docker compose up -d` (see docs/discord.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# A fixed, unprivileged user; give the host's ./data to uid 10001 when you bind-mount it.
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin bot

COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && rm -rf build ./*.egg-info
# The embedding model at build time (outside the /app/data volume, which would hide it).
RUN BOT_MODELS_DIR=/app/models python -m bot model install && chmod -R a+rX /app/models

COPY knowledge ./knowledge
RUN mkdir -p /app/data && chown bot:bot /app/data

ENV BOT_KNOWLEDGE_DIR=/app/knowledge \
    BOT_MODELS_DIR=/app/models \
    BOT_DB_PATH=/app/data/bot.sqlite3

USER bot
VOLUME ["/app/data"]

CMD ["python", "-m", "bot", "run"]
