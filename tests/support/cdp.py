"""A headless Chromium kept open on one page and driven over the Chrome DevTools protocol, for
pages that change over time (`--dump-dom` is one shot: a reload per look).

The protocol speaks JSON over a websocket; no websocket client is installed, so this holds the
few lines of RFC 6455 a client needs (a handshake, masked text frames out, frames in).
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class WebSocket:
    """A minimal client websocket (text frames; enough for the DevTools protocol)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self._socket = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self._socket.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = self._socket.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            answer += chunk
        head, _, self._buffer = answer.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytearray([0x81])  # FIN, text
        length = len(payload)
        if length < 126:
            header.append(0x80 | length)
        elif length < 1 << 16:
            header.append(0x80 | 126)
            header += length.to_bytes(2, "big")
        else:
            header.append(0x80 | 127)
            header += length.to_bytes(8, "big")
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self._socket.sendall(bytes(header) + mask + masked)

    def receive(self) -> str:
        """The next text message (fragments joined; control frames skipped)."""
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(self._read(2), "big")
            elif length == 127:
                length = int.from_bytes(self._read(8), "big")
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(length)
            if mask:
                payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode in (0x9, 0xA):
                continue  # ping/pong
            message += payload
            if first & 0x80:
                return message.decode()

    def _read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            chunk = self._socket.recv(65536)
            if not chunk:
                raise ConnectionError("websocket: connection closed")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def close(self) -> None:
        self._socket.close()


class Browser:
    """Headless Chromium showing `url`; `evaluate` runs JavaScript in the page."""

    def __init__(self, binary: str, url: str, profile: Path, log: Path) -> None:
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [
                binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--remote-debugging-port=0",
                f"--user-data-dir={profile}", "--window-size=1280,2000", url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"},
        )  # fmt: skip
        self._next = 0
        browser_url = self._wait_for_endpoint(log)
        port = urlsplit(browser_url).port
        page = self._page(port)
        self._socket = WebSocket(page)

    def _wait_for_endpoint(self, log: Path, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _LISTENING.search(log.read_text())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"chromium did not open its DevTools port: {log.read_text()[-2000:]}")

    def _page(self, port: int | None, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                targets = json.load(answer)
            for target in targets:
                if target.get("type") == "page":
                    return str(target["webSocketDebuggerUrl"])
            time.sleep(0.05)
        raise AssertionError("chromium shows no page")

    def call(self, method: str, **params: object) -> dict[str, object]:
        """One protocol command; its result."""
        self._next += 1
        ident = self._next
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.receive())
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result = message.get("result", {})
                assert isinstance(result, dict)
                return result

    def evaluate(self, expression: str) -> object:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        value = result.get("result")
        assert isinstance(value, dict), result
        return value.get("value")

    def screenshot(self, path: Path) -> Path:
        """Save what the page shows as a PNG."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        assert isinstance(data, str)
        path.write_bytes(base64.b64decode(data))
        return path

    def wait_for(
        self, expression: str, *, timeout: float, shot: Path, accept: Callable[[object], bool]
    ) -> object:
        """Poll `expression` until `accept(value)`; on a timeout, save a screenshot to `shot`
        and fail naming it."""
        deadline = time.monotonic() + timeout
        value: object = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if accept(value):
                return value
            time.sleep(0.1)
        self.screenshot(shot)
        raise AssertionError(
            f"page: {expression} was {value!r} after {timeout} s; screenshot: {shot}"
        )

    def close(self) -> None:
        self._socket.close()
        self.process.kill()
        self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
