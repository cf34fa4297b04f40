"""The access log without query strings: a URL's query can carry what must not be kept
(tokens, ids), so only the method and path are logged, with status, size and time."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %s %.3fs', request.remote, request.method,
                         request.path, response.status, response.body_length, time)
