"""Concurrent load on the owner API: `clients` keep-alive connections sending GETs back to back
for a fixed time. A lean client (raw HTTP/1.1 on asyncio streams), because it shares the two
cores with the service and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def _load(
    host: str, port: int, paths: list[str], token: str, clients: int, seconds: float
) -> LoadResult:
    result = LoadResult()
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        for path in paths
    ]
    stop_at = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in itertools.islice(itertools.cycle(requests), offset, None):
                if time.perf_counter() >= stop_at:
                    return
                began = time.perf_counter()
                writer.write(request)
                header = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in header.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                result.latencies.append(time.perf_counter() - began)
                status = int(header[9:12])
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    result.seconds = time.perf_counter() - began
    return result


def run_load(
    service_url: str, paths: list[str], token: str, clients: int, seconds: float
) -> LoadResult:
    host, port = service_url.removeprefix("http://").split(":")
    return asyncio.run(_load(host, int(port), paths, token, clients, seconds))
