"""The chat client's HTTP hot path: one ``aiohttp`` session posting pre-encoded JSON bodies.

The ``openai`` SDK's httpx stack costs several times the CPU of the rest of an eval turn (issue 16); this
transport does the same request with the SDK's conventions (``Authorization: Bearer``, ``OPENAI_BASE_URL``,
``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID`` headers, ``HTTP(S)_PROXY`` / ``NO_PROXY``) and raises its own errors,
which ``client.py`` classifies exactly like the SDK's (status, ``Retry-After``, connection, timeout).
``ModelConfig(http_client="openai")`` keeps the SDK path.
"""
from __future__ import annotations

import asyncio
import os
import urllib.parse
import urllib.request
from typing import Any

from .. import __version__

MAX_RESPONSE_BYTES = 64 << 20  # a reply larger than this is refused (a broken or hostile server)

_STATUS_NAMES = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
                 404: "NotFoundError", 409: "ConflictError", 422: "UnprocessableEntityError",
                 429: "RateLimitError"}


class TransportError(Exception):
    """A failed HTTP attempt (base class)."""


class TransportConnectionError(TransportError):
    """No reply: refused, reset, dropped mid-reply, DNS or TLS failure."""


class TransportTimeout(TransportError):
    """No complete reply within the request's timeout."""


class OversizedReply(TransportError):
    """A reply body over ``MAX_RESPONSE_BYTES``."""


class HTTPStatusError(TransportError):
    """An HTTP error status; ``name`` follows the SDK's exception names (``RateLimitError``, ...)."""

    def __init__(self, status_code: int, body: str, headers: Any):
        self.status_code, self.body, self.headers = status_code, body, headers
        self.name = _STATUS_NAMES.get(status_code, "InternalServerError" if status_code >= 500 else "APIStatusError")
        super().__init__(f"Error code: {status_code} - {body[:1000]}")


def env_proxy(url: str) -> str | None:
    """The proxy for ``url`` from ``HTTP(S)_PROXY`` / ``NO_PROXY`` (as the SDK's httpx client reads them)."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def default_base_url() -> str:
    return (os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")


class AiohttpTransport:
    """POSTs JSON bodies to ``base_url``; the session is made on first use in the running event loop (and
    anew if a later call runs in another loop)."""

    def __init__(self, base_url: str | None, api_key: str, timeout_s: float):
        import aiohttp  # noqa: F401 - now, not on the first request's clock (a rate slot may be waiting)
        self.base_url = (base_url or default_base_url()).rstrip("/")
        self.timeout_s = timeout_s
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                        "Accept": "application/json", "User-Agent": f"stt-arena/{__version__}"}
        for env, header in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")):
            if os.environ.get(env):
                self.headers[header] = os.environ[env]
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.proxy = env_proxy(self.base_url)

    def _client(self) -> Any:
        import aiohttp
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            # proxies are read from the environment once (trust_env would look them and .netrc up in a
            # thread on every request); no cookies
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300), headers=self.headers,
                cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=True, timeout=aiohttp.ClientTimeout(total=None))
            self._loop = loop
        return self._session

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None,
                   timeout_s: float | None = None) -> bytes:
        """The reply body of a 2xx answer; raises a ``TransportError`` otherwise."""
        import aiohttp
        timeout = aiohttp.ClientTimeout(total=timeout_s or self.timeout_s)
        try:
            async with self._client().post(self.base_url + path, data=body, headers=headers, timeout=timeout,
                                           proxy=self.proxy, allow_redirects=False) as r:  # as the SDK: no redirects
                if r.content_length is not None and r.content_length > MAX_RESPONSE_BYTES:
                    raise OversizedReply(f"reply of {r.content_length} bytes (limit {MAX_RESPONSE_BYTES})")
                chunks, size = [], 0
                async for chunk in r.content.iter_any():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise OversizedReply(f"reply over {MAX_RESPONSE_BYTES} bytes")
                    chunks.append(chunk)
                data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                if r.status >= 300:
                    raise HTTPStatusError(r.status, data.decode("utf-8", "replace"), r.headers)
                return data
        except asyncio.TimeoutError:
            raise TransportTimeout(f"no complete reply within {timeout.total:g}s") from None
        except aiohttp.ClientError as e:
            raise TransportConnectionError(f"{type(e).__name__}: {e}") from None

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            try:
                await self._session.close()
            except RuntimeError:  # made in an event loop that is gone
                pass
        self._session = None
