"""A TCP proxy on loopback that cuts connections mid-request or mid-response, a given number of times."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field


@dataclass
class CutProxy:
    """Forward 127.0.0.1:port to upstream; cut the next `cuts_wanted` connections after a random byte count.

    Half the cuts fall inside the request (the LRS never sees it whole), half inside the response (the LRS
    stored the batch but the acknowledgement is lost): the second kind is what makes exactly-once hard.
    """

    upstream_port: int
    cuts_wanted: int = 0
    response_delay_s: float = 0.0  # hold every chunk of every response this long (a slow link back)
    max_request_bytes: int = 200_000
    seed: int = 7
    cuts_done: int = 0
    request_cuts: int = 0
    response_cuts: int = 0
    connections: int = 0
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> CutProxy:
        """Listen on a free loopback port and serve in a background thread."""
        self._rng = random.Random(self.seed)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop accepting and close the listener."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._server.close()

    def _plan(self) -> tuple[str, int] | None:
        with self._lock:
            self.connections += 1
            if self.cuts_done >= self.cuts_wanted:
                return None
            if self._rng.random() < 0.5:
                return "request", self._rng.randint(1, self.max_request_bytes)
            return "response", self._rng.randint(0, 200)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            return
        plan = self._plan()
        done = threading.Event()
        state = {"cut": False}

        def reset(sock: socket.socket) -> None:
            # SO_LINGER 0: close with a RST, like a link that dies rather than a polite FIN. shutdown() first:
            # close() alone would not wake the other pump thread blocked in recv() on this socket.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RD)
            sock.close()

        def cut() -> None:
            with self._lock:
                if state["cut"]:
                    return
                state["cut"] = True
                self.cuts_done += 1
                if plan and plan[0] == "request":
                    self.request_cuts += 1
                else:
                    self.response_cuts += 1
            reset(client)
            reset(upstream)
            done.set()

        def pump(src: socket.socket, dst: socket.socket, direction: str) -> None:
            budget = plan[1] if plan and plan[0] == direction else None
            moved = 0
            try:
                while not done.is_set():
                    data = src.recv(65536)
                    if not data:
                        break
                    if direction == "response" and self.response_delay_s:
                        time.sleep(self.response_delay_s)
                    if budget is not None and moved + len(data) >= budget:
                        dst.sendall(data[: max(0, budget - moved)])
                        cut()
                        return
                    dst.sendall(data)
                    moved += len(data)
            except OSError:
                pass
            done.set()
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        threads = [threading.Thread(target=pump, args=(client, upstream, "request"), daemon=True),
                   threading.Thread(target=pump, args=(upstream, client, "response"), daemon=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()
