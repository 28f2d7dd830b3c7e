"""``payerkg serve --workers N``: N uvicorn workers on one port, each accepting on a listening
socket of its own, so that the kernel spreads new connections over them.

uvicorn's workers share the parent's one listening socket: whichever worker wakes first accepts
every connection waiting, and a burst of them (a client opening its pool, a proxy reconnecting)
can all land on one worker while the others idle; 32 connections from wrk went 32 to 0 in 2 of 24
tries, which halved the rate (docs/benchmarks.md, "HTTP with workers"). With SO_REUSEPORT
each worker listens on its own socket bound to the same address and Linux picks the socket by a
hash of the connection's addresses. The parent binds the address first, with the same option but
never listening, so that a port in use still fails before any worker starts (a plain socket bound
and closed first makes sure no other listener holds it) and the workers can join it. A connection
still queued on a worker that stops is reset (a shared socket would have handed it to another
worker).
"""

from __future__ import annotations

import logging
import socket

from fastapi import FastAPI
from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

from payerkg.jsondoc import JSONObject

LOG = logging.getLogger("uvicorn.error")


class OwnSocketWorker(multiprocess.Process):
    """A uvicorn worker that listens on a socket of its own, bound to the parent's address."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # runs in the worker
        own = [bound_socket(sock.family, sock.getsockname(), reuse_port=True) for sock in sockets or []]
        for inherited in sockets or []:
            inherited.close()
        super().target(own)


def bound_socket(
    family: socket.AddressFamily, address: tuple[str, int], *, reuse_port: bool
) -> socket.socket:
    """A TCP socket bound to ``address``; with ``reuse_port``, other sockets of this user that ask
    for it too may bind the same address."""
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def run_server(
    application: FastAPI | str,
    *,
    host: str,
    port: int,
    workers: int,
    access_log: bool,
    log_config: JSONObject,
) -> None:
    """What ``uvicorn.run`` does with these options, but several workers each listen on their own
    socket. Several workers need ``application`` as the import name of a factory."""
    config = Config(
        application,
        host=host,
        port=port,
        workers=workers,
        factory=isinstance(application, str),
        access_log=access_log,
        log_config=log_config,
    )
    if config.workers == 1:
        server = Server(config)
        server.run()
        if not server.started:
            raise SystemExit(STARTUP_FAILURE)
        return
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    try:
        # First as a plain socket: a socket with SO_REUSEPORT may join another service of this
        # user already listening there (another `payerkg serve --workers N`), and must not.
        bound_socket(family, (config.host, config.port), reuse_port=False).close()
        reserved = bound_socket(family, (config.host, config.port), reuse_port=True)
    except OSError as error:
        LOG.error(error)
        raise SystemExit(STARTUP_FAILURE) from error
    reserved.set_inheritable(True)
    host, port = reserved.getsockname()[:2]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    LOG.info("Uvicorn running on http://%s:%d with %d workers", shown, port, config.workers)
    # uvicorn's supervisor makes every worker, first or replacement, from this module's name.
    multiprocess.Process = OwnSocketWorker  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[reserved]).run()
    finally:
        reserved.close()
