"""Download an attachment with a size cap: never more than the cap (plus one byte) is read."""

from __future__ import annotations

import aiohttp

from bot.errors import ArticleError

CHUNK = 64 * 1024
TIMEOUT_S = 30


async def download(url: str, max_bytes: int) -> bytes:
    """The attachment's bytes, cut at `max_bytes + 1` (so a lying size is still caught by the
    loader's size check); ArticleError if it cannot be fetched."""
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
            if resp.status != 200:
                raise ArticleError(
                    f"Could not download the attachment (HTTP {resp.status}). Nothing was changed."
                )
            data = bytearray()
            async for chunk in resp.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    break
            return bytes(data[: max_bytes + 1])
    except (aiohttp.ClientError, TimeoutError):
        raise ArticleError("Could not download the attachment. Nothing was changed.") from None
