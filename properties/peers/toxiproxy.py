"""Toxiproxy (the Go server, v2.12.0) as a TCP fault injector, driven through
toxiproxy-python.

Rules:
- A ToxiproxyServer runs one `toxiproxy-server -host 127.0.0.1 -port P` on a free port,
  logging to `work_dir/toxiproxy.log`; start-up is done when GET /version answers, within
  `start_timeout` seconds. A start whose port was taken in the meantime is retried on a
  new port. It is a PeerProcess, ended by pid (`stop`: SIGTERM, 5 s, then SIGKILL).
- toxiproxy-python 0.1.1 is used as it is, not forked. Its API address lives in class
  attributes of `toxiproxy.api.APIConsumer` and it calls `requests` without timeouts. So
  every call goes through `_api`, which, under one lock, points APIConsumer at this server
  and gives `toxiproxy.api` a `requests` stand-in that adds a timeout and turns HTTP
  errors and connection failures into ToxiproxyError (as is the library's own
  ProxyExists); both are restored when the call returns. Several servers in one process
  therefore never see each other's calls.
- Toxics (FACTS.md): latency, bandwidth, slow_close, timeout, reset_peer, slicer,
  limit_data; stream "upstream" (client to server) or "downstream"; toxicity 0..1,
  rolled per connection, unseeded. Reproducible per-message faults belong to the
  project's own proxies, not here.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import requests
import toxiproxy.api
from toxiproxy import Proxy, Toxiproxy
from toxiproxy.exceptions import ProxyExists

from properties.peers.ports import LOOPBACK, free_port
from properties.peers.processes import (
    PeerProcess,
    answers_while_running,
    find_binary,
    kill_process,
    tail,
)

Stream = Literal["upstream", "downstream"]
_PEER = "Toxiproxy"
_PORT_TAKEN = "address already in use"
_START_ATTEMPTS = 3
_API_LOCK = threading.Lock()


class ToxiproxyError(RuntimeError):
    """The Toxiproxy server failed to start or refused an API call; the message says why."""


class _TimedRequests:
    """Stands in for the `requests` module inside toxiproxy.api during one call."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._send("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._send("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self._send("DELETE", url, **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = requests.request(method, url, **kwargs)
        except requests.RequestException as error:
            raise ToxiproxyError(f"Toxiproxy API {method} {url} failed: {error}") from error
        if response.status_code >= 400:
            raise ToxiproxyError(
                f"Toxiproxy API {method} {url} answered {response.status_code}: "
                f"{response.text.strip()}"
            )
        return response


class ToxiproxyServer(PeerProcess):
    """A private toxiproxy-server on 127.0.0.1 and the calls that configure it."""

    stop_grace = 5.0

    def __init__(
        self, work_dir: Path, *, start_timeout: float = 10.0, request_timeout: float = 5.0
    ) -> None:
        self.work_dir = work_dir
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self.log_path = work_dir / "toxiproxy.log"
        self.host = LOOPBACK
        self.port = free_port()

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start toxiproxy-server and wait until its API answers; raises ToxiproxyError."""
        if self.running:
            raise ToxiproxyError(f"Toxiproxy is already running on {self.api_url}")
        binary = find_binary("toxiproxy-server", _PEER)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _START_ATTEMPTS + 1):
            process = self._launch_and_wait(binary)
            if process.poll() is None:
                self._process = process
                return
            if attempt < _START_ATTEMPTS and _PORT_TAKEN in tail(self.log_path).lower():
                self.port = free_port()
                continue
            raise ToxiproxyError(
                f"toxiproxy-server did not answer on {self.api_url} within "
                f"{self.start_timeout} s (exit status {process.returncode}); last lines of "
                f"{self.log_path}:\n{tail(self.log_path)}"
            )

    def version(self) -> str:
        """The server's version, e.g. "2.12.0" (v2.12 answers JSON, older ones plain text)."""
        with self._api():
            text = Toxiproxy().version().decode().strip()
        try:
            return str(json.loads(text)["version"])
        except (ValueError, KeyError, TypeError):
            return str(text)

    def create_proxy(self, name: str, listen_port: int, upstream: str | tuple[str, int]) -> Proxy:
        """A proxy listening on 127.0.0.1:`listen_port` (0: any free port, see
        `listen_port`) that forwards to `upstream` ("host:port" or (host, port))."""
        target = upstream if isinstance(upstream, str) else f"{upstream[0]}:{upstream[1]}"
        with self._api():
            try:
                return Toxiproxy().create(
                    upstream=target, name=name, listen=f"{self.host}:{listen_port}"
                )
            except ProxyExists as error:
                raise ToxiproxyError(f"a proxy named {name!r} already exists") from error

    def proxies(self) -> dict[str, Proxy]:
        with self._api():
            found: dict[str, Proxy] = Toxiproxy().proxies()
            return found

    def add_toxic(
        self,
        proxy: Proxy,
        type: str,
        stream: Stream = "downstream",
        attributes: Mapping[str, int | float] | None = None,
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> str:
        """Add a toxic to `proxy`; returns its name (default "TYPE_STREAM")."""
        if not 0.0 <= toxicity <= 1.0:
            raise ValueError(f"toxicity must be in 0..1, not {toxicity}")
        toxic_name = name if name is not None else f"{type}_{stream}"
        with self._api():
            proxy.add_toxic(
                name=toxic_name,
                type=type,
                stream=stream,
                toxicity=toxicity,
                attributes=dict(attributes or {}),
            )
        return toxic_name

    def toxics(self, proxy: Proxy) -> dict[str, Any]:
        """The proxy's toxics by name (toxiproxy.toxic.Toxic: type, stream, toxicity,
        attributes)."""
        with self._api():
            found: dict[str, Any] = proxy.toxics()
            return found

    def remove_toxic(self, proxy: Proxy, name: str) -> None:
        with self._api():
            proxy.destroy_toxic(name)

    def disable(self, proxy: Proxy) -> None:
        """Take the proxy down: it drops its connections and stops listening."""
        with self._api():
            proxy.disable()

    def enable(self, proxy: Proxy) -> None:
        """Bring the proxy back up on its listen address."""
        with self._api():
            proxy.enable()

    def destroy(self, proxy: Proxy) -> None:
        with self._api():
            proxy.destroy()

    @contextmanager
    def _api(self) -> Iterator[None]:
        """Point toxiproxy-python at this server, with timeouts, for one call."""
        api = toxiproxy.api
        with _API_LOCK:
            saved = (api.APIConsumer.host, api.APIConsumer.port, api.requests)
            api.APIConsumer.host, api.APIConsumer.port = self.host, self.port
            api.requests = _TimedRequests(self.request_timeout)
            try:
                yield
            finally:
                api.APIConsumer.host, api.APIConsumer.port, api.requests = saved

    def _launch_and_wait(self, binary: str) -> subprocess.Popen[bytes]:
        """Launch the server and wait until its API answers (the process is then still
        running) or it exits or the start-up timeout passes (then it is killed)."""
        command = [binary, "-host", self.host, "-port", str(self.port)]
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        if answers_while_running(process, self._answers, self.start_timeout):
            return process
        kill_process(process)
        return process

    def _answers(self) -> bool:
        try:
            response = requests.get(f"{self.api_url}/version", timeout=self.request_timeout)
        except requests.RequestException:
            return False
        return response.status_code == 200


def listen_port(proxy: Proxy) -> int:
    """The port a proxy listens on (its `listen` is "host:port")."""
    return int(str(proxy.listen).rsplit(":", 1)[1])
