"""WeChat server API over aiohttp: access token and customer-service messages.

wechatpy's client is synchronous (requests), so the two calls the gateway needs
are made here directly. The access token is one per Official Account — a new
one invalidates the old after a few minutes — so it is cached, shared through
the key-value store (Redis across processes) and refreshed under a lock.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time

import aiohttp

from bot.kvstore import KeyValueStore
from bot.outbound import LazySession

log = logging.getLogger(__name__)

# errcodes meaning "this token is no longer valid": refresh and try once more.
_TOKEN_ERRORS = {40001, 40014, 42001}


class WeChatApiError(Exception):
    """The WeChat API failed or answered with a non-zero errcode."""


class WeChatApi(LazySession):
    """The few WeChat server calls the gateway makes."""

    def __init__(self, app_id: str, app_secret: str, store: KeyValueStore,
                 api_base: str = "https://api.weixin.qq.com", timeout: float = 5.0,
                 session: aiohttp.ClientSession | None = None):
        self._app_id = app_id
        self._secret = app_secret
        self._store = store
        self._base = api_base.rstrip("/")
        self._timeout = timeout
        self._session = session
        self._token_key = f"wx:token:{app_id}"
        self._lock_key = f"wx:token-lock:{app_id}"
        self._local_lock = asyncio.Lock()

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            async with self._get_session().request(
                method, self._base + path, timeout=aiohttp.ClientTimeout(total=self._timeout), **kwargs
            ) as resp:
                if resp.status != 200:
                    raise WeChatApiError(f"{path}: HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise WeChatApiError(f"{path}: {exc.__class__.__name__}") from exc
        if not isinstance(data, dict):
            raise WeChatApiError(f"{path}: unexpected answer")
        return data

    async def _fetch_token(self) -> tuple[str, int]:
        data = await self._call("GET", "/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self._app_id, "secret": self._secret})
        token = data.get("access_token")
        if not token:
            raise WeChatApiError(f"/cgi-bin/token: errcode {data.get('errcode')}")
        return str(token), int(data.get("expires_in") or 7200)

    async def access_token(self, stale: str | None = None) -> str:
        """A valid access token from the shared cache, refreshed when absent or
        equal to ``stale`` (a token WeChat just rejected)."""

        def usable(token: str | None) -> bool:
            return bool(token) and token != stale

        cached = await self._store.get(self._token_key)
        if usable(cached):
            return cached
        async with self._local_lock:  # one refresh per process at a time
            cached = await self._store.get(self._token_key)
            if usable(cached):
                return cached
            owner = secrets.token_hex(8)
            deadline = time.monotonic() + self._timeout
            while not await self._store.add(self._lock_key, owner, ttl=self._timeout + 5):
                # Another process is refreshing: use its token when it lands.
                await asyncio.sleep(0.1)
                cached = await self._store.get(self._token_key)
                if usable(cached):
                    return cached
                if time.monotonic() > deadline:
                    raise WeChatApiError("timed out waiting for another process's token refresh")
            try:
                # Another process may have refreshed and released the lock between our
                # last look and taking it: its token is good, don't fetch (and void) it.
                cached = await self._store.get(self._token_key)
                if usable(cached):
                    return cached
                token, expires_in = await self._fetch_token()
                # Refresh five minutes early so a token is never used at its last second.
                await self._store.set(self._token_key, token, ttl=max(expires_in - 300, 60))
                log.info("wechat access token refreshed (expires in %ss)", expires_in)
                return token
            finally:
                await self._store.delete(self._lock_key, only_if=owner)

    async def send_text(self, openid: str, content: str) -> None:
        """Send a customer-service text message (within 48 h of the user's message)."""
        body = json.dumps({"touser": openid, "msgtype": "text", "text": {"content": content}},
                          ensure_ascii=False).encode("utf-8")
        stale: str | None = None
        for _ in range(2):
            token = await self.access_token(stale=stale)
            data = await self._call("POST", "/cgi-bin/message/custom/send",
                                    params={"access_token": token}, data=body,
                                    headers={"Content-Type": "application/json; charset=utf-8"})
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                return
            if errcode not in _TOKEN_ERRORS:
                raise WeChatApiError(f"custom/send: errcode {errcode}")
            stale = token
        raise WeChatApiError("custom/send: access token rejected twice")
