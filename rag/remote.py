"""Ask a running `rag serve` instead of loading the index and the model again (`rag ask`'s fast path).

A server is used only when it provably serves the same index: it reports the folder of the index
build it loaded, and the model and engine that answer (its ``/index`` API), and these must equal the
build this process would open (``<index>/current`` resolved) and the model and engine it would use.
Both sides live on this machine, and a build folder is never reused (builds are published under new
names), so equal folders mean equal indexes. Only 127.0.0.1 is tried, with short timeouts; anything
unexpected (nothing listening, another program on the port, another index, an old server without
``/index``) falls back to answering locally. Plain ``urllib``: no client library to import.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

from rag import config

CONNECT_TIMEOUT = 0.2  # seconds: a server on loopback accepts at once
ANSWER_TIMEOUT = 30.0  # seconds: a busy server may queue the question behind others


class ServerUnavailable(Exception):
    """No usable server: the message says why (shown with `rag ask --verbose`)."""


def server_url(port: int | None = None) -> str:
    return f"http://127.0.0.1:{port or config.default_port()}"


def ask_server(question: str, k: int, index_dir: Path, model: str, engine: str,
               port: int | None = None) -> dict:
    """The server's answer (the `rag ask --json` object, or ``{"error": …}``), or ServerUnavailable."""
    url = server_url(port)
    build = (Path(index_dir) / config.INDEX_CURRENT).resolve()
    if not build.is_dir():
        raise ServerUnavailable(f"no local index at {index_dir}")
    _check_listening(port or config.default_port())
    try:
        served = call(url, "index", [], CONNECT_TIMEOUT * 10)
    except (OSError, ValueError) as error:
        raise ServerUnavailable(f"{url} does not report its index ({error})") from error
    wanted = {"build": str(build), "model": model, "engine": engine}
    if not isinstance(served, dict) or any(served.get(key) != value for key, value in wanted.items()):
        raise ServerUnavailable(f"{url} serves another index ({served})")
    try:
        answer = call(url, "ask", [question, k], ANSWER_TIMEOUT)
    except (OSError, ValueError) as error:
        raise ServerUnavailable(f"{url} did not answer ({error})") from error
    if not isinstance(answer, dict):
        raise ServerUnavailable(f"{url} answered with something unexpected")
    return answer


def _check_listening(port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise ServerUnavailable(f"no server on 127.0.0.1:{port} ({error.strerror or error})") from error


def call(url: str, api_name: str, data: list, timeout: float) -> object:
    """One call of a Gradio API function: POST starts it, GET streams its events until it completes."""
    request = urllib.request.Request(f"{url}/gradio_api/call/{api_name}", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/{api_name}/{event_id}", timeout=timeout) as response:
        event = None
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.removeprefix("data:").strip())
                if event == "error":
                    raise ValueError(f"the server failed: {payload}")
                return payload[0]
    raise ValueError("the server closed the stream without a result")
