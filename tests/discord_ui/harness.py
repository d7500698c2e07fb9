"""Drive the real bot offline, the way Discord does: gateway payloads in, HTTP calls recorded.

No token, no network and no fakes of our own code: `create_bot(settings)` logs in through
discord.py's own `Client.login` (its two REST calls answered here), a guild and a text channel
arrive as a GUILD_CREATE event, and every event is fed through the connection state's parsers
(the gateway's own path). Outgoing HTTP goes to two recorders that answer like Discord: one
for interaction callbacks and follow-ups (the webhook adapter), one for the bot's REST calls
(`bot.http.request`). Messages the bot sends are echoed back as MESSAGE_CREATE, so a bot that
answered itself would loop here as it would in production.

Public API is used wherever discord.py has one (login, setup_hook, the cache getters, the
command tree). Three internals remain, each because no public equivalent exists offline:
`bot._connection.parsers` (the only way into the gateway's event handling without a
websocket), `bot.http.request` (the one function every REST call goes through; the public
alternative would be a fake HTTPS server behind a proxy), and the webhook adapter's
`async_context` (interaction responses bypass `bot.http` entirely).

`settle()` waits for every task spawned since a dispatch and fails on exceptions in them and on
ERROR logs from the `discord` and `bot` loggers: otherwise a broken bot gives green tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
import discord.interactions
import discord.webhook.async_ as webhook_async
from discord.http import Route

from bot.discord_ui.client import KnowledgeBot

EPHEMERAL = 64
APP_ID = 1_300_000_000_000_000_001
BOT_ID = 1_300_000_000_000_000_002
GUILD_ID = 1_300_000_000_000_000_003
CHANNEL_ID = 1_300_000_000_000_000_004
ADMIN_ROLE_ID = 1_300_000_000_000_000_005
BOT_ROLE_ID = 1_300_000_000_000_000_006

MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    read_message_history=True,
    use_application_commands=True,
    create_public_threads=True,
)
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | discord.Permissions(manage_guild=True)
MAX_OUTGOING = 200  # more than this in one test means the bot is talking to itself
# Tasks that live as long as the bot (following the published knowledge version): never
# "spawned by a dispatch", so settle() does not wait for them.
BACKGROUND_TASKS = frozenset({"follow-versions", "pg-listen"})


class HarnessFailure(AssertionError):
    """The bot misbehaved in a way Discord would show (exception, error log, loop)."""


def now() -> str:
    return datetime.now(UTC).isoformat()


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class Call:
    """One recorded HTTP request and the JSON body the bot sent."""

    via: str  # "webhook" (interaction responses, follow-ups) or "rest"
    method: str
    path: str
    json: dict[str, Any] | list[Any] | None
    params: dict[str, Any] | None = None

    @property
    def message(self) -> dict[str, Any] | None:
        """The message body this call carries (content/embeds/components/flags), if any."""
        body = self.json
        if not isinstance(body, dict):
            return None
        if self.path.endswith("/callback"):
            data = body.get("data")
            shows = body.get("type") in (4, 7)  # 5 (defer) only shows "thinking…"
            return data if shows and isinstance(data, dict) else None
        if "content" in body or "embeds" in body or "components" in body:
            return body
        return None

    @property
    def ephemeral(self) -> bool:
        body = self.json if isinstance(self.json, dict) else {}
        if self.path.endswith("/callback"):
            body = body.get("data") or {}
        return bool(int(body.get("flags", 0) or 0) & EPHEMERAL)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list((self.message or {}).get("embeds") or [])

    @property
    def text(self) -> str:
        """Everything a user would read in this message, flattened for assertions."""
        message = self.message or {}
        parts = [message.get("content") or ""]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            for f in embed.get("fields", []):
                parts += [f.get("name", ""), f.get("value", "")]
            parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    @property
    def custom_ids(self) -> list[str]:
        ids = []
        for row in (self.message or {}).get("components") or []:
            for component in row.get("components", []):
                if "custom_id" in component:
                    ids.append(component["custom_id"])
        return ids


@dataclass
class Exchange:
    """The HTTP calls the bot made in answer to one dispatched event."""

    calls: list[Call] = field(default_factory=list)

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls)

    def __len__(self) -> int:
        return len(self.calls)

    @property
    def callbacks(self) -> list[Call]:
        return [c for c in self.calls if c.path.endswith("/callback")]

    @property
    def messages(self) -> list[Call]:
        """Calls that show the user something (callbacks with data, follow-ups, sends)."""
        return [c for c in self.calls if c.message is not None]

    @property
    def last(self) -> Call:
        assert self.messages, f"the bot sent nothing visible; calls: {self.calls}"
        return self.messages[-1]

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.messages)


class ErrorLogs(logging.Handler):
    """Collects ERROR records from the `discord` and `bot` loggers."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Snowflakes:
    def __init__(self) -> None:
        self._next = itertools.count(1_310_000_000_000_000_000)

    def __call__(self) -> int:
        return next(self._next)


class WebhookRecorder(webhook_async.AsyncWebhookAdapter):
    """Answers interaction callbacks and follow-ups like Discord, recording what was sent."""

    def __init__(self, harness: DiscordHarness) -> None:
        super().__init__()
        self.harness = harness

    async def request(  # type: ignore[override]
        self,
        route: Route,
        session: Any,
        *,
        payload: dict[str, Any] | None = None,
        multipart: list[dict[str, Any]] | None = None,
        params: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        body = payload
        if multipart:  # files: the JSON part is named payload_json
            body = json.loads(next(p["value"] for p in multipart if p["name"] == "payload_json"))
        path = route.url.removeprefix(Route.BASE)
        self.harness._record(Call("webhook", route.method, path, body, params))
        return self.harness._answer_webhook(route.method, path, body or {})


class DiscordHarness:
    """A booted bot with one guild and one text channel, and helpers to act as users."""

    def __init__(self, bot: KnowledgeBot) -> None:
        self.bot = bot
        # Internal, no public equivalent: the parsers are the gateway's way into the bot.
        self.state = bot._connection
        self.ids = Snowflakes()
        self.calls: list[Call] = []
        self.errors = ErrorLogs()
        self.tasks_seen: set[asyncio.Task[Any]] = set()
        self._pending_echoes = 0
        self._interactions: dict[str, dict[str, Any]] = {}  # token → interaction payload
        self._messages: dict[int, dict[str, Any]] = {}
        self.webhook = WebhookRecorder(self)
        self.closed = False
        self.expected_errors: list[logging.LogRecord] | None = None
        self.guild: discord.Guild
        self.channel: discord.TextChannel

    # --- boot -----------------------------------------------------------------------

    async def boot(self) -> None:
        """Log in (REST answered here; `login` runs setup_hook), then receive the guild."""
        for name in ("discord", "bot"):
            logging.getLogger(name).addHandler(self.errors)
        bot = self.bot
        # Internal, no public equivalent: every REST call goes through this one method.
        bot.http.request = self._rest  # type: ignore[method-assign]
        await bot.login("offline-harness-token")
        self.calls.clear()  # login's own GETs are not the bot's doing
        self.feed("GUILD_CREATE", self._guild_payload())
        guild = bot.get_guild(GUILD_ID)
        assert guild is not None
        self.guild = guild
        channel = guild.get_channel(CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        self.channel = channel

    async def close(self) -> None:
        self.closed = True
        try:
            await self.bot.close()
        finally:
            for name in ("discord", "bot"):
                logging.getLogger(name).removeHandler(self.errors)

    def _guild_payload(self) -> dict[str, Any]:
        everyone = {
            "id": str(GUILD_ID),
            "name": "@everyone",
            "permissions": str(MEMBER_PERMISSIONS.value),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(GUILD_ID),
            "name": "Test Guild",
            "owner_id": "1",
            "icon": None,
            "features": [],
            "emojis": [],
            "stickers": [],
            "member_count": 3,
            "unavailable": False,
            "roles": [
                everyone,
                everyone | {"id": str(ADMIN_ROLE_ID), "name": "KB Admins", "position": 1},
                everyone
                | {
                    "id": str(BOT_ROLE_ID),
                    "name": "kb-bot",
                    "position": 2,
                    "managed": True,
                    "tags": {"bot_id": str(BOT_ID)},
                },
            ],
            "channels": [
                {
                    "id": str(CHANNEL_ID),
                    "type": 0,
                    "name": "questions",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                    "topic": None,
                    "last_message_id": None,
                    "rate_limit_per_user": 0,
                }
            ],
            "threads": [],
            "members": [
                {
                    "user": user_payload(BOT_ID, "kb-bot", bot=True),
                    "roles": [str(BOT_ROLE_ID)],
                    "joined_at": now(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            ],
        }

    # --- acting as users ------------------------------------------------------------

    def member_payload(
        self, user_id: int, name: str, *, permissions: discord.Permissions, roles: list[int]
    ) -> dict[str, Any]:
        return {
            "user": user_payload(user_id, name),
            "roles": [str(r) for r in roles],
            "joined_at": now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions.value),
        }

    def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user_id: int,
        permissions: discord.Permissions,
        roles: list[int],
        channel_id: int | None,
        message: dict[str, Any] | None = None,
        dm: bool = False,
    ) -> dict[str, Any]:
        channel = self.guild.get_channel_or_thread(channel_id or CHANNEL_ID)
        assert channel is not None
        channel_payload: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type.value,
            "guild_id": str(GUILD_ID),
            "name": channel.name,
        }
        if isinstance(channel, discord.Thread):
            channel_payload |= {
                "parent_id": str(channel.parent_id),
                "owner_id": str(channel.owner_id),
            }
        interaction_id = self.ids()
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "type": kind,
            "token": f"token-{interaction_id}",
            "version": 1,
            "application_id": str(APP_ID),
            "attachment_size_limit": 10 * 1024 * 1024,
            "guild_id": str(GUILD_ID),
            "channel_id": str(channel.id),
            "channel": channel_payload,
            "member": self.member_payload(
                user_id, f"user{user_id % 1000}", permissions=permissions, roles=roles
            ),
            "app_permissions": str(discord.Permissions.all().value),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "data": data,
        }
        if message is not None:
            payload["message"] = message
        if dm:  # a direct message: no guild, a user instead of a member
            user = payload.pop("member")["user"]
            for key in ("guild_id", "guild_locale"):
                payload.pop(key)
            dm_id = str(self.ids())
            payload |= {"user": user, "channel_id": dm_id, "context": 1}
            payload["channel"] = {"id": dm_id, "type": 1, "recipients": [user]}
        self._interactions[payload["token"]] = payload
        return payload

    def _command_data(
        self,
        name: str,
        options: dict[str, Any],
        *,
        focused: str | None = None,
        attachments: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Application command data; `name` may name a subcommand (`"kb gaps"`)."""
        top, *sub = name.split()
        command = self.bot.tree.get_command(top)
        assert command is not None, f"no /{top} command"
        listed = []
        for key, value in options.items():
            kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
            option: dict[str, Any] = {"type": kind, "name": key, "value": value}
            if key == focused:
                option["focused"] = True
            listed.append(option)
        resolved: dict[str, Any] = {}
        for key, attachment in (attachments or {}).items():
            listed.append({"type": 11, "name": key, "value": attachment["id"]})
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
        for part in reversed(sub):  # options nest inside their subcommand
            listed = [{"type": 1, "name": part, "options": listed}]
        data: dict[str, Any] = {"id": str(self.ids()), "name": top, "type": 1, "options": listed}
        if resolved:
            data["resolved"] = resolved
        return data

    def attachment(self, filename: str, url: str, size: int) -> dict[str, Any]:
        """An attachment as Discord resolves it in a command's data."""
        return {
            "id": str(self.ids()),
            "filename": filename,
            "size": size,
            "url": url,
            "proxy_url": url,
            "content_type": "text/plain; charset=utf-8",
        }

    async def slash(
        self,
        name: str,
        *,
        user_id: int = 1_200_000_000_000_000_001,
        permissions: discord.Permissions = MEMBER_PERMISSIONS,
        roles: list[int] | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        attachments: dict[str, dict[str, Any]] | None = None,
        **options: str | int | bool,
    ) -> Exchange:
        """Invoke a slash command as a member, as Discord's gateway would deliver it."""
        data = self._command_data(name, options, attachments=attachments)
        payload = self._interaction(
            2,
            data,
            user_id=user_id,
            permissions=permissions,
            roles=roles or [],
            channel_id=channel_id,
            dm=dm,
        )
        return await self.dispatch("INTERACTION_CREATE", payload)

    async def autocomplete(
        self,
        name: str,
        option: str,
        typed: str,
        *,
        user_id: int = 1_200_000_000_000_000_001,
        permissions: discord.Permissions = MEMBER_PERMISSIONS,
        roles: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        """Type into an option with autocomplete; the choices the bot offered."""
        data = self._command_data(name, {option: typed}, focused=option)
        payload = self._interaction(
            4,
            data,
            user_id=user_id,
            permissions=permissions,
            roles=roles or [],
            channel_id=None,
        )
        exchange = await self.dispatch("INTERACTION_CREATE", payload)
        answers = [c for c in exchange.callbacks if isinstance(c.json, dict)]
        assert answers and answers[-1].json["type"] == 8, f"no autocomplete answer: {exchange}"
        return list(answers[-1].json["data"]["choices"])

    async def click(
        self,
        custom_id: str,
        *,
        message: dict[str, Any] | None = None,
        user_id: int = 1_200_000_000_000_000_001,
        channel_id: int | None = None,
        permissions: discord.Permissions = MEMBER_PERMISSIONS,
        roles: list[int] | None = None,
    ) -> Exchange:
        """Press a button (by custom_id) on a message the bot sent."""
        data = {"custom_id": custom_id, "component_type": 2}
        message = message or self._message_with(custom_id)
        payload = self._interaction(
            3,
            data,
            user_id=user_id,
            permissions=permissions,
            roles=roles or [],
            channel_id=channel_id or int(message["channel_id"]),
            message=message,
        )
        return await self.dispatch("INTERACTION_CREATE", payload)

    async def submit_modal(
        self,
        custom_id: str,
        values: dict[str, str],
        *,
        user_id: int = 1_200_000_000_000_000_001,
        channel_id: int | None = None,
    ) -> Exchange:
        """Submit a form the bot opened, with these text input values."""
        data = {
            "custom_id": custom_id,
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
                for key, value in values.items()
            ],
        }
        payload = self._interaction(
            5,
            data,
            user_id=user_id,
            permissions=MEMBER_PERMISSIONS,
            roles=[],
            channel_id=channel_id,
        )
        return await self.dispatch("INTERACTION_CREATE", payload)

    def _message_with(self, custom_id: str) -> dict[str, Any]:
        for message in reversed(self._messages.values()):
            for row in message.get("components", []):
                if any(c.get("custom_id") == custom_id for c in row.get("components", [])):
                    return message
        raise AssertionError(f"no message the bot sent has a button {custom_id!r}")

    def message_payload(
        self,
        text: str,
        *,
        author: dict[str, Any],
        channel_id: int | None = None,
        mentions: list[dict[str, Any]] | None = None,
        mention_roles: list[int] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.ids()),
            "channel_id": str(channel_id or CHANNEL_ID),
            "guild_id": str(GUILD_ID),
            "author": author,
            "member": {"roles": [], "joined_at": now(), "deaf": False, "mute": False, "flags": 0},
            "content": text,
            "timestamp": now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in text or "@here" in text,
            "mentions": mentions or [],
            "mention_roles": [str(r) for r in mention_roles or []],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }
        if reply_to is not None:  # left out entirely otherwise, as Discord does
            payload["type"] = 19
            payload["message_reference"] = {
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                "guild_id": str(GUILD_ID),
            }
            payload["referenced_message"] = reply_to
        return payload

    async def say(
        self,
        text: str,
        *,
        user_id: int = 1_200_000_000_000_000_001,
        channel_id: int | None = None,
        mention_bot: bool = False,
        bot_author: bool = False,
        mention_roles: list[int] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> Exchange:
        """A user (or another bot) posts a message; `mention_bot` prefixes a real <@bot> mention."""
        author = user_payload(user_id, f"user{user_id % 1000}", bot=bot_author)
        mentions = []
        if mention_bot:
            text = f"<@{BOT_ID}> {text}"
            mentions.append(user_payload(BOT_ID, "kb-bot", bot=True))
        payload = self.message_payload(
            text,
            author=author,
            channel_id=channel_id,
            mentions=mentions,
            mention_roles=mention_roles,
            reply_to=reply_to,
        )
        return await self.dispatch("MESSAGE_CREATE", payload)

    # --- dispatch and settle ---------------------------------------------------------

    async def dispatch(self, event: str, payload: dict[str, Any]) -> Exchange:
        """Feed one gateway event to the bot and wait until everything it started is done."""
        start = len(self.calls)
        self.feed(event, payload)
        await self.settle()
        return Exchange(self.calls[start:])

    def feed(self, event: str, payload: dict[str, Any]) -> None:
        """Deliver one gateway event without waiting for what it starts (see `dispatch`)."""
        if event == "MESSAGE_CREATE":
            self._messages[int(payload["id"])] = payload
        self.state.parsers[event](payload)

    async def settle(self, limit_s: float = 10.0) -> None:
        """Wait for tasks spawned since the dispatch; fail on their exceptions and error logs."""
        current = asyncio.current_task()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while True:
            await asyncio.sleep(0)  # let echoes scheduled with call_soon run
            pending = [t for t in self._running() if t is not current]
            self.tasks_seen.update(pending)
            if not pending and self._pending_echoes == 0:
                # one more turn: a task finishing may have scheduled an echo or a task
                await asyncio.sleep(0)
                if not [t for t in self._running() if t is not current]:
                    break
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise HarnessFailure(f"tasks still running after {limit_s} s: {pending}")
            if pending:
                await asyncio.wait(pending, timeout=remaining)
            if len(self.calls) > MAX_OUTGOING:
                raise HarnessFailure("the bot keeps sending messages (is it answering itself?)")
        self.check()

    @staticmethod
    def _running() -> list[asyncio.Task[Any]]:
        return [
            t for t in asyncio.all_tasks() if not t.done() and t.get_name() not in BACKGROUND_TASKS
        ]

    def check(self) -> None:
        for task in list(self.tasks_seen):
            if task.done() and not task.cancelled() and task.exception() is not None:
                self.tasks_seen.discard(task)
                raise HarnessFailure(f"task {task.get_name()} failed") from task.exception()
        if self.expected_errors is not None:
            self.expected_errors.extend(self.errors.records)
            self.errors.records.clear()
        if self.errors.records:
            record = self.errors.records[0]
            self.errors.records.clear()
            raise HarnessFailure(
                f"ERROR logged by {record.name}: {record.getMessage()}\n{record.exc_text or ''}"
            )

    @contextlib.contextmanager
    def expecting_errors(self) -> Iterator[list[logging.LogRecord]]:
        """Collect ERROR logs instead of failing on them (for tests of the error path)."""
        self.expected_errors = []
        try:
            yield self.expected_errors
        finally:
            self.expected_errors = None

    # --- what Discord answers -----------------------------------------------------------

    def _record(self, call: Call) -> None:
        self.calls.append(call)

    def _message_out(
        self, channel_id: int, body: dict[str, Any], *, interaction: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The message object Discord returns for a message the bot just sent."""
        message: dict[str, Any] = {
            "id": str(self.ids()),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "author": user_payload(BOT_ID, "kb-bot", bot=True),
            "content": body.get("content") or "",
            "timestamp": now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": [
                row | {"id": i} for i, row in enumerate(body.get("components") or [], 1)
            ],
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags") or 0),
        }
        if interaction is not None:
            message["type"] = 20
            message["webhook_id"] = str(APP_ID)
            message["application_id"] = str(APP_ID)
        if "message_reference" in body:
            message["type"] = 19
            message["message_reference"] = body["message_reference"]
        self._messages[int(message["id"])] = message
        if not message["flags"] & EPHEMERAL:  # ephemeral messages reach nobody's gateway
            self._echo("MESSAGE_CREATE", message)
        return message

    def _echo(self, event: str, payload: dict[str, Any]) -> None:
        self._pending_echoes += 1
        context = contextvars.copy_context()

        def deliver() -> None:
            self._pending_echoes -= 1
            if not self.closed:  # a test that stopped early (e.g. a caught loop) left some
                self.feed(event, payload)

        asyncio.get_running_loop().call_soon(deliver, context=context)

    def _answer_webhook(self, method: str, path: str, body: dict[str, Any]) -> Any:
        parts = path.strip("/").split("/")
        if parts[0] == "interactions" and parts[-1] == "callback":
            interaction_id, token = parts[1], parts[2]
            kind = int(body.get("type", 0))
            data = body.get("data") or {}
            flags = int(data.get("flags") or 0)
            channel_id = int(self._channel_of_interaction(token))
            response: dict[str, Any] = {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(flags & EPHEMERAL),
                },
                "resource": {"type": kind},
            }
            if kind in (4, 7):
                message = self._message_out(channel_id, data, interaction={"id": interaction_id})
                response["interaction"]["response_message_id"] = message["id"]
                response["resource"]["message"] = message
            return response
        if parts[0] == "webhooks":
            token = parts[2]
            channel_id = int(self._channel_of_interaction(token))
            if method == "POST":  # a follow-up
                return self._message_out(channel_id, body, interaction={"token": token})
            if method in ("PATCH", "GET"):  # the original response
                return self._message_out(channel_id, body, interaction={"token": token})
            if method == "DELETE":
                return None
        raise HarnessFailure(f"unexpected webhook call {method} {path}")

    def _channel_of_interaction(self, token: str) -> str:
        interaction = self._interactions.get(token)
        if interaction is None:
            raise HarnessFailure(f"a response to an interaction that was never sent ({token})")
        return interaction["channel_id"]

    async def _rest(self, route: Route, **kwargs: Any) -> Any:
        """Stands in for `HTTPClient.request`: record, then answer like Discord's REST API."""
        body = kwargs.get("json")
        if kwargs.get("form"):
            raw = next(f["value"] for f in kwargs["form"] if f["name"] == "payload_json")
            body = json.loads(raw)
        path = route.url.removeprefix(Route.BASE)
        self._record(Call("rest", route.method, path, body, kwargs.get("params")))
        if route.method == "GET" and path in self._login_answers:
            return self._login_answers[path]
        parts = path.strip("/").split("/")
        if parts[0] == "channels" and route.method == "POST":
            channel_id = int(parts[1])
            if parts[2:] == ["messages"]:
                return self._message_out(channel_id, body or {})
            if parts[2:] == ["typing"]:
                return None
            if len(parts) == 5 and parts[2] == "messages" and parts[4] == "threads":
                return self._start_thread(channel_id, int(parts[3]), body or {})
        if parts[0] == "applications" and route.method == "PUT":
            return [
                command | {"id": str(self.ids()), "application_id": str(APP_ID), "version": "1"}
                for command in body or []
            ]
        raise HarnessFailure(f"unexpected REST call {route.method} {path}")

    @property
    def _login_answers(self) -> dict[str, Any]:
        """What Discord answers the two calls of `Client.login`: who we are, which app."""
        me = user_payload(BOT_ID, "kb-bot", bot=True) | {"verified": True}
        return {
            "/users/@me": me,
            "/oauth2/applications/@me": {
                "id": str(APP_ID),
                "name": "kb-bot",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user_payload(1, "owner"),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": me,
            },
        }

    def _start_thread(self, channel_id: int, message_id: int, body: dict[str, Any]) -> Any:
        thread = {
            "id": str(message_id),  # a thread started on a message takes the message's id
            "guild_id": str(GUILD_ID),
            "parent_id": str(channel_id),
            "owner_id": str(BOT_ID),
            "name": body["name"],
            "type": 11,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 1440),
                "archive_timestamp": now(),
                "locked": False,
            },
            "member": {
                "id": str(message_id),
                "user_id": str(BOT_ID),
                "join_timestamp": now(),
                "flags": 0,
            },
        }
        # Discord tells every client about the new thread before the REST call returns.
        self.feed("THREAD_CREATE", thread | {"newly_created": True})
        return thread

    # --- inspection -------------------------------------------------------------------

    def all_message_calls(self) -> list[Call]:
        return [c for c in self.calls if c.message is not None]


def install_webhook_recorder(monkeypatch: Any, harness: DiscordHarness) -> None:
    """Route interaction responses and follow-ups to the harness (both module references).

    Internal, no public equivalent: interaction responses go through this adapter, not
    `bot.http`, and discord.py offers no hook to replace it.
    """
    var: contextvars.ContextVar[webhook_async.AsyncWebhookAdapter] = contextvars.ContextVar(
        "async_webhook_context", default=harness.webhook
    )
    monkeypatch.setattr(webhook_async, "async_context", var)
    monkeypatch.setattr(discord.interactions, "async_context", var)
