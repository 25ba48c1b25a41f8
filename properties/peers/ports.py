"""Free ports on 127.0.0.1 for peers that need a fixed port in their configuration.

Rules: a port is chosen by binding port 0 (the kernel picks an unused one) and closing the
socket again, so another process may still take it before the peer binds it: callers that
can retry (a first start) should. `free_port(udp=True)` also checks that the same number is
free for UDP, since Ganesha binds both on one port.
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"
_ATTEMPTS = 50


def free_port(*, udp: bool = False) -> int:
    """A port that was free on 127.0.0.1 for TCP (and UDP when `udp`) a moment ago."""
    for _ in range(_ATTEMPTS):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((LOOPBACK, 0))
            port: int = tcp.getsockname()[1]
            if not udp:
                return port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
                try:
                    datagram.bind((LOOPBACK, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no port free for both TCP and UDP after {_ATTEMPTS} attempts")


def free_ports(count: int, *, udp: bool = False) -> list[int]:
    """`count` distinct free ports (see free_port)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(udp=udp)
        if port not in ports:
            ports.append(port)
    return ports
