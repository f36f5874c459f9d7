"""A DNS stand-in for URL-mode tests, which send no DNS queries."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult


class StaticResolver(AbstractResolver):
    """A DNS stand-in: names map to fixed addresses (tests send no DNS queries)."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host not in self.names:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [
            {"hostname": host, "host": address, "port": port,
             "family": socket.AF_INET6 if ":" in address else socket.AF_INET, "proto": 0, "flags": 0}
            for address in self.names[host]
        ]

    async def close(self) -> None:
        pass
