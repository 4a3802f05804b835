"""How the bot's requests reach the Bot API: aiohttp, with JSON bodies.

python-telegram-bot's default `HTTPXRequest` spends most of a chat update's CPU in httpx and
in url-encoding every form field (a Chinese message is three percent-escapes a character).
`AiohttpRequest` is PTB's documented extension point (`telegram.request.BaseRequest`) filled
with aiohttp, which cuibao already ships for webhooks and fakegram, and sends plain JSON
bodies, which the Bot API accepts for every method without files. The same design is
published as `ptbcontrib.aiohttp_request`, which is not on PyPI.

`telegram_request` picks the class: aiohttp, unless the environment names a proxy only httpx
can use (SOCKS, an https:// proxy, or `ALL_PROXY`), so every proxy setting the README
documents keeps working.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
import certifi
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from yarl import URL

# PTB's own defaults for HTTPXRequest, so a switch of transport changes no timing.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one `aiohttp.ClientSession` (created in `initialize`).

    Timeouts map onto aiohttp's: `connect` (waiting for a pooled connection plus
    connecting) is pool + connect timeout, `sock_connect` the connect timeout, `sock_read`
    the read timeout (per wait for data). aiohttp has no per-write timeout: for an upload
    the media write timeout bounds the whole request instead, on top of the others, so a
    stalled upload still ends. Certificates are checked against certifi's bundle, as httpx
    checks them, unless SSL_CERT_FILE or SSL_CERT_DIR names others.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], _Proxy] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Not trust_env: with it aiohttp looks the proxy and .netrc up again in a worker
            # thread for every request. `_proxy_for` reads the environment once per origin.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=_tls()),
                skip_auto_headers=("User-Agent",),
            )
            self._proxies.clear()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and request_data.contains_files
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        # The read timeout bounds each wait for data, as httpx's does, so a large download
        # that keeps arriving is never cut off. Only an upload gets a bound on the whole
        # request: aiohttp has no timeout per write.
        total = None
        if files and read is not None and write is not None:
            total = read + write + (connect or 0) + (pool or 0)
        timeout = aiohttp.ClientTimeout(
            total=total,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        headers = {"User-Agent": self.USER_AGENT}
        body: bytes | aiohttp.FormData | None = None
        if request_data is not None and files:
            body = _multipart(request_data.json_parameters, request_data.multipart_data)
        elif request_data is not None:
            body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            proxy, proxy_auth = self._proxy_for(url)
            async with session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts derive from it
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _proxy_for(self, url: str) -> _Proxy:
        """HTTP(S)_PROXY and NO_PROXY (and a .netrc login for the proxy), as aiohttp's
        trust_env reads them, looked up once per scheme and host."""
        parsed = URL(url)
        origin = (parsed.scheme, parsed.host or "")
        if origin not in self._proxies:
            try:
                self._proxies[origin] = get_env_proxy_for_url(parsed)
            except LookupError:  # no proxy for this URL, or NO_PROXY names its host
                self._proxies[origin] = (None, None)
        return self._proxies[origin]


_Proxy = tuple[URL | None, aiohttp.BasicAuth | None]


def _tls() -> ssl.SSLContext:
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context()  # OpenSSL reads both variables
    return ssl.create_default_context(cafile=certifi.where())


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _multipart(fields: Mapping[str, str], files: Mapping[str, Any]) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (file_name, content, mime_type) in files.items():
        form.add_field(name, content, filename=file_name, content_type=mime_type)
    return form


def httpx_only_proxy(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the environment names a proxy that aiohttp would ignore: `ALL_PROXY`
    (aiohttp reads only the per-scheme variables), or a proxy reached over SOCKS or HTTPS
    (aiohttp speaks plain HTTP to its proxy)."""
    values = {key.lower(): value for key, value in environ.items() if value}
    if "all_proxy" in values:
        return True
    return any(
        not values[key].lower().startswith("http://")
        for key in ("https_proxy", "http_proxy")
        if key in values
    )


def telegram_request(
    connection_pool_size: int = 256, environ: Mapping[str, str] = os.environ, **timeouts: Any
) -> BaseRequest:
    """The request object for the bot's calls (or for getUpdates, with its own instance)."""
    if httpx_only_proxy(environ):
        return HTTPXRequest(connection_pool_size=connection_pool_size, **timeouts)
    return AiohttpRequest(connection_pool_size, **timeouts)
