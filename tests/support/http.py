"""One HTTP client for the tests' requests to real server processes.

``httpx.get`` and its kin build a client, and with it an SSL context, on every call: tens of
milliseconds of CPU each, which a start-up poll spent again every 0.1 s on the core the starting
server needed. Without keep-alive each request still opens its own connection, as those calls
did: a test that counts which worker process answered needs requests spread over connections.
"""

from __future__ import annotations

import httpx

HTTP = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
