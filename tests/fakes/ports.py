"""Free ports for servers the tests start as processes (`empire serve`)."""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading

# Each test process takes ports from its own block below the kernel's ephemeral range, so
# a port chosen here is not handed to another test process or to an outgoing connection in
# the moment before its server binds it; a random start keeps two separate runs (a test
# suite and a benchmark, say) apart too.
_BLOCK = 1000
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_ports = itertools.count(
    20000 + _BLOCK * (int(_worker) if _worker.isdigit() else 0) + random.randrange(_BLOCK // 2)
)
_ports_guard = threading.Lock()


def free_port() -> int:
    with _ports_guard:
        for port in _ports:
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")  # pragma: no cover
