"""A lean HTTP/1.1 load client: persistent connections, pre-serialised bodies, so that the
client (which shares the machine's two cores with the service and PostgreSQL) costs little."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0


async def post_all(host: str, port: int, bodies: list[bytes], clients: int) -> LoadResult:
    """Posts every body once, `clients` at a time over keep-alive connections."""
    result = LoadResult()
    queue: Iterator[bytes] = iter(bodies)
    head = (
        f"POST /api/analytics/ingest HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nUser-Agent: {BROWSER}\r\n"
    ).encode()

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for body in queue:
                began = time.perf_counter()
                writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                header = await reader.readuntil(b"\r\n\r\n")
                status = int(header[9:12])
                length = 0
                for line in header.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                answer = await reader.readexactly(length)
                result.latencies.append(time.perf_counter() - began)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == 200:
                    counts = orjson.loads(answer)
                    result.accepted += counts["accepted"]
                    result.duplicates += counts["duplicates"]
                    result.rejected += len(counts["rejected"])
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.perf_counter() - began
    return result
