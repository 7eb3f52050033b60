"""The HTTP surface's guard: an ASGI middleware in front of Gradio's routes.

Gradio answers any ``Host``, keeps a generic file-upload route open, echoes invalid request bodies
back (a 1 MB body got a 1 MB reply) and sends no security headers. This middleware sits between
Gradio's outer middlewares (CORS, compression) and its routes and, for every request:

- refuses a ``Host`` the server was not started for (DNS rebinding: a page on another site
  that resolves its own name to 127.0.0.1 must not drive the API from the user's browser);
- refuses the routes the page does not use: file uploads (unless the server takes documents from the
  page, its "add documents" panel; a read-only server takes no files), recordings and media streams;
- refuses Gradio's routes that serve files by URL (``/gradio_api/file=…``): a document added from
  the page is stored on the server and never served back, and nothing else the page shows is a file;
- refuses bodies over ``MAX_BODY_BYTES`` before any route reads them, and an upload over its own
  limit (``max_upload``) by its ``Content-Length`` or, sent in chunks, as soon as it passes it; an
  upload from another site's page (its ``Origin``) is refused;
- checks the shape of a call to the ``ask`` API and fills in a missing ``k`` (Gradio itself answers
  ``{"error": null}``), so each bad request gets one short message of ours;
- replaces FastAPI's validation replies (HTTP 422), which quote the offending input, with a short one;
- adds ``X-Content-Type-Options``, ``X-Frame-Options``, ``Content-Security-Policy`` and
  ``Referrer-Policy`` to every response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The names a browser on the same machine uses for a loopback server.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: The largest request body accepted. A question is at most 500 characters (~6 KB as escaped JSON);
#: the page's own requests are under 2 KB.
MAX_BODY_BYTES = 64 * 1024
#: How much of a user's input an error message may quote back.
MAX_ECHO_CHARS = 200
#: Gradio routes the page never uses: uploads (and their progress), recordings, media streams.
BLOCKED_ROUTES = re.compile(r"^/(gradio_api/)?(upload|upload_progress|process_recording|stream/)")
#: The two of them the "add documents" panel uses when the server takes documents: the upload (POST)
#: and the progress of that upload (GET, an event stream the file component opens).
UPLOAD_ROUTES = {"POST": re.compile(r"^/gradio_api/upload/?$"), "GET": re.compile(r"^/gradio_api/upload_progress/?$")}
#: Gradio's routes that serve a file by URL (its upload folder among them): always closed.
FILE_ROUTES = re.compile(r"^/(gradio_api/)?file[=/]")
#: The direct HTTP routes of the ``ask`` API (queued and not).
ASK_ROUTES = re.compile(r"^/gradio_api/(run|api|call|call/v2)/ask/?$")
#: Gradio's page needs inline scripts (its config is an inline <script>), inline styles and eval
#: (Gradio 6's gr.HTML compiles its template with Function(); without 'unsafe-eval' every HTML block
#: shows "Error rendering HTML"). What the policy still holds: the page can fetch, load and submit
#: only to the server itself (nothing injected could send data elsewhere), no plugins, no <base>,
#: and no other site can frame it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
]


def echo(value: object, limit: int = MAX_ECHO_CHARS) -> object:
    """``value`` as it may be quoted in an error: text cut to ``limit`` characters (lone surrogates,
    which cannot be encoded, removed); other JSON scalars as they are; anything else by its type."""
    if isinstance(value, str):
        text = re.sub(r"[\ud800-\udfff]", "", value)
        return text if len(text) <= limit else text[:limit] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    return f"<{type(value).__name__}>"


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host names the server answers to: loopback, the address it binds (unless a wildcard) and
    ``extra`` (``--allowed-host``; a name that starts with a dot allows every name under it)."""
    names = {*LOOPBACK_HOSTS, *(h for h in extra if h)}
    if host not in ("0.0.0.0", "::", ""):
        names.add(host)
    return frozenset(_host_name(name) for name in names)


def _host_name(header: str) -> str:
    """The name in a Host header, without port or brackets, lower case: ``[::1]:7860`` → ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    if header.count(":") == 1:
        header = header.split(":")[0]
    return header.rstrip(".")


class Guard:
    """ASGI middleware: see the module docstring. ``default_k`` fills a missing ``k`` in ``ask`` calls;
    ``max_upload`` > 0 opens the upload routes to requests of at most that many bytes."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str], default_k: int, max_body: int = MAX_BODY_BYTES,
                 max_upload: int = 0):
        self.app = app
        self.hosts = hosts
        self.default_k = default_k
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _host_name(_header(scope, b"host"))
        if not self._allowed(host):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _reply(send, 403, f"Host {echo(host, 60)!r} is not served here; this server answers "
                                    f"only to {', '.join(sorted(self.hosts))} (rag serve --allowed-host NAME adds one)")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if FILE_ROUTES.match(path):
            await _reply(send, 403, "this server serves no files by URL")
            return
        if self.max_upload and (route := UPLOAD_ROUTES.get(scope["method"])) and route.match(path):
            await self._upload(scope, receive, _with_headers(send))
            return
        if BLOCKED_ROUTES.match(path):
            await _reply(send, 403, "this server takes no file uploads or streams")
            return
        await self._http(scope, receive, _with_headers(send), path)

    def _allowed(self, host: str) -> bool:
        """``host`` is one of the names, or ends with one that starts with a dot (``.gradio.live``)."""
        return host in self.hosts or any(name.startswith(".") and host.endswith(name) for name in self.hosts)

    async def _http(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, _short_validation_errors(send))
            return
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > self.max_body:
            await _reply(send, 413, f"the request body is {int(length):,} bytes; the limit is {self.max_body:,}")
            return
        body = await _read_body(receive, self.max_body)
        if body is None:
            await _reply(send, 413, f"the request body is over the limit of {self.max_body:,} bytes")
            return
        if ASK_ROUTES.match(path):
            body, problem = self._ask_body(body)
            if problem:
                await _reply(send, 400, problem)
                return
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"content-length"]
                     + [(b"content-length", str(len(body)).encode())]}
        await self.app(scope, _replay(body, receive), _short_validation_errors(send))

    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An upload streams through (never held here whole); one over ``max_upload`` is refused by
        its Content-Length, or cut off where it passes the limit, and answered 413 instead of the app."""
        too_big = f"the upload is over the limit of {self.max_upload / 1024 / 1024:,.0f} MB per upload"
        origin = _header(scope, b"origin")
        if origin and not self._allowed(_host_name(urlsplit(origin).netloc) if "://" in origin else ""):
            # a page of another site posting a form here (no preflight for a form): files come only
            # from this server's own page or from clients that send no Origin (gradio_client, curl)
            await _reply(send, 403, "uploads are taken only from this server's own page")
            return
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > self.max_upload:
            await _reply(send, 413, f"the upload is {int(length) / 1024 / 1024:,.1f} MB; the limit is "
                                    f"{self.max_upload / 1024 / 1024:,.0f} MB per upload")
            return
        size, cut = 0, False

        async def counted() -> Message:
            nonlocal size, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.max_upload:
                cut = True
                return {"type": "http.disconnect"}
            return message

        async def send_unless_cut(message: Message) -> None:
            if not cut:
                await send(message)

        try:
            await self.app(scope, counted, _short_validation_errors(send_unless_cut))
        except Exception:  # the route failing on the cut-off body: the answer is ours
            if not cut:
                raise
        if cut:
            await _reply(send, 413, too_big)

    def _ask_body(self, body: bytes) -> tuple[bytes, str | None]:
        """The body of an ``ask`` call with ``k`` filled in, or what is wrong with it."""
        usage = 'send {"data": [question, k]}, e.g. {"data": ["营口有多少个千亿级产业集群？", 5]}'
        try:
            request = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            return body, f"the request body is not JSON: {usage}"
        data = request.get("data") if isinstance(request, dict) else None
        if not isinstance(data, list):
            return body, f"the request has no 'data' list: {usage}"
        if not 1 <= len(data) <= 2:
            return body, f"the 'data' list has {len(data)} values; the ask API takes 1 or 2 (question, k): {usage}"
        if len(data) == 1:
            request["data"] = [data[0], self.default_k]
        return json.dumps(request).encode(), None


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        size += len(message.get("body", b""))
        if size > limit:
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the client's later messages
    (a disconnect, which Gradio's streaming routes wait for)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_headers(send: Send) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_headers


def _short_validation_errors(send: Send) -> Send:
    """FastAPI answers a malformed body with 422 and the whole offending input; say what is wrong
    in one line instead."""
    failing = False
    chunks: list[bytes] = []

    async def send_short(message: Message) -> None:
        nonlocal failing
        if message["type"] == "http.response.start" and message["status"] == 422:
            failing = True
            return
        if not failing:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            await _reply(send, 422, _validation_summary(b"".join(chunks)))

    return send_short


def _validation_summary(body: bytes) -> str:
    try:
        first = json.loads(body)["detail"][0]
        where = ".".join(str(part) for part in first.get("loc", []))
        return f"the request is not what this route expects: {where}: {echo(first.get('msg', ''), 120)}"
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "the request is not what this route expects"


async def _reply(send: Send, status: int, message: str) -> None:
    """A short JSON error, ``{"error": message}``, worded like the API's other errors."""
    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
