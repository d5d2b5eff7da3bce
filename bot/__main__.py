"""``python -m bot``: serve the gateway on GATEWAY_HOST:GATEWAY_PORT."""
from __future__ import annotations

import logging
import sys

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.app import create_app
from settings import GatewaySettings, SettingsError


class AccessLogger(AbstractAccessLogger):
    """Method, path, status and time — no query string (it can hold a WeChat openid
    or text to read aloud) and no client address."""

    def log(self, request, response, time: float) -> None:
        self.logger.info("%s %s %s %.0fms", request.method, request.path, response.status, time * 1000)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = GatewaySettings.load()
        app = create_app(settings)   # also refuses what only the gateway can check (STAFF_PASSWORD_HASH)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    web.run_app(app, host=settings.gateway_host, port=settings.gateway_port,
                access_log_class=AccessLogger, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
