"""The HTTP floor of the service benchmark: the least an ASGI application can do per request.

A raw ASGI application that reads the request body whole and answers 200 with constant
bytes (`FLOOR_BODY` from the environment: the benchmark passes a real result, so the answer
is as long as the service's), served by uvicorn with the settings `policyengine serve` uses
(`serve.uvicorn_settings`: the same workers, loop and HTTP implementations, keep-alive, log
level). What a request to it costs is what uvicorn and the loopback cost, with no
framework, no routing and no settling:

    python -m benchmarks.floor --port 8001 --workers 1 --log-level warning

takes `policyengine serve`'s options (those that reach uvicorn).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
ENVIRONMENT = "FLOOR_BODY"
BODY = os.environ.get(ENVIRONMENT, '{"ok":true}').encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    more = True
    while more:  # the body is read whole, as the service reads it
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    import uvicorn

    from policyengine.cli.main import build_parser
    from policyengine.service.serve import uvicorn_settings

    args = build_parser().parse_args(["serve", *sys.argv[1:]])
    uvicorn.run("benchmarks.floor:app", **uvicorn_settings(args))


if __name__ == "__main__":
    main()
