"""A plain HTTP site for sub-applications (the dashboard in polling mode; put a TLS proxy in front)."""

from __future__ import annotations

from aiohttp import web


def mount(app: web.Application, subapps: dict[str, web.Application]) -> None:
    for prefix, sub in subapps.items():
        app.add_subapp(prefix, sub)


class WebServer:
    """A plain HTTP site for the sub-applications (polling mode; put a TLS proxy in front)."""

    def __init__(self, listen: str, port: int, subapps: dict[str, web.Application]) -> None:
        self.listen, self.port, self.subapps = listen, port, subapps
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        app = web.Application()
        mount(app, self.subapps)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        return self.port

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
