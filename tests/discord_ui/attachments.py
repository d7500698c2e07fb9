"""A local HTTP server that serves attachments the way Discord's CDN does (bytes at a URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer


class AttachmentServer:
    """Files put here are served at `url(name)`; every request is counted."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.server: TestServer

    def put(self, name: str, data: bytes) -> str:
        key = f"{len(self.files)}"
        self.files[key] = data
        return str(self.server.make_url(f"/attachments/{key}/{name}"))

    async def _serve(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        data = self.files.get(request.match_info["key"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")


@pytest.fixture
async def attachment_server() -> AsyncIterator[AttachmentServer]:
    served = AttachmentServer()
    app = web.Application()
    app.router.add_get("/attachments/{key}/{name}", served._serve)
    served.server = TestServer(app)
    await served.server.start_server()
    yield served
    await served.server.close()
