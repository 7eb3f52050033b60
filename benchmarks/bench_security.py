"""Security probes of the HTTP surface: the same page and API served with the guard (ui/guard.py, what
`rag serve --read-only` runs) and without it (Gradio alone), side by side in one run.

    .venv/bin/python benchmarks/bench_security.py           # writes benchmarks/results/security.json
    .venv/bin/python benchmarks/bench_security.py --json

Each probe is a raw HTTP request (http.client, so nothing is normalised on the way): oversized and
malformed ``ask`` calls, lone surrogates, wrong types, a file upload (and reading it back), a foreign
``Host``, and the security headers. For each it records the status, the reply's size, the first
characters of the reply and the time, and whether the guarded server did what the issue asks. It also
times 60 valid questions through each server, to show what the guard costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "security.json"
ASK = "/gradio_api/run/ask"
QUESTION = "营口有多少个千亿级产业集群？"
SHORT_REPLY = 4096
JSON = {"Content-Type": "application/json"}
UPLOAD_BODY = (b'--x\r\nContent-Disposition: form-data; name="files"; filename="note.html"\r\n'
               b"Content-Type: text/html\r\n\r\n<script>alert(1)</script>\r\n--x--\r\n")


def _ask_body(data: list, ascii: bool = False) -> bytes:
    return json.dumps({"data": data}, ensure_ascii=ascii).encode()


def _short_error(reply: bytes) -> bool:
    """A reply of ours: short, JSON, an error message without a library's internals."""
    if len(reply) >= SHORT_REPLY:
        return False
    try:
        data = json.loads(reply)
    except ValueError:
        return False
    if isinstance(data, dict) and isinstance(data.get("data"), list) and data["data"]:
        data = data["data"][0]
    error = data.get("error") if isinstance(data, dict) else None
    internals = ("Traceback", "invalid literal", "TextEncodeInput", "Union[", "didn't receive enough")
    return isinstance(error, str) and bool(error) and not any(word in error for word in internals)


def _answered(reply: bytes) -> bool:
    try:
        data = json.loads(reply)["data"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("abstained"), bool)


# (name, method, path, headers, body, expectation for the guarded server)
PROBES = [
    ("1 MB question", "POST", ASK, JSON, _ask_body(["问" * 350_000, 5]), _short_error),
    ("10 MB question", "POST", ASK, JSON, _ask_body(["问" * 3_500_000, 5]), _short_error),
    ("15,000-character question (under the body limit)", "POST", ASK, JSON, _ask_body(["问" * 15_000, 5]),
     _short_error),
    ("lone surrogate in the question", "POST", ASK, JSON, _ask_body(["\ud800" + QUESTION, 5], ascii=True),
     _answered),
    ('k = "abc"', "POST", ASK, JSON, _ask_body([QUESTION, "abc"]), _short_error),
    ("k missing", "POST", ASK, JSON, _ask_body([QUESTION]), _answered),
    ("k = null", "POST", ASK, JSON, _ask_body([QUESTION, None]), _short_error),
    ("question = 123", "POST", ASK, JSON, _ask_body([123, 5]), _short_error),
    ("data = []", "POST", ASK, JSON, _ask_body([]), _short_error),
    ("body not JSON", "POST", ASK, JSON, b"question=1", _short_error),
    ("data not a list (20,000 characters)", "POST", ASK, JSON, json.dumps({"data": "问" * 20_000}, ensure_ascii=False).encode(),
     _short_error),
    ("queue/join with a malformed body", "POST", "/gradio_api/queue/join", JSON,
     json.dumps({"data": "问" * 20_000, "fn_index": 0, "session_hash": "x"}, ensure_ascii=False).encode(),
     _short_error),
]


def _request(port: int, method: str, path: str, headers: dict, body: bytes | None) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        reply = response.read()
        status, reply_headers = response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()
    return {"status": status, "reply_bytes": len(reply), "ms": round((time.perf_counter() - started) * 1000, 1),
            "reply": reply, "headers": reply_headers}


def _summary(result: dict) -> dict:
    text = result["reply"][:160].decode("utf-8", "replace")
    return {"status": result["status"], "reply_bytes": result["reply_bytes"], "ms": result["ms"],
            "reply_start": text}


def probe(port: int) -> list[dict]:
    """Every probe against the server on ``port``; each with whether it met the guarded expectation."""
    rows = []
    for name, method, path, headers, body, expected in PROBES:
        result = _request(port, method, path, headers, body)
        rows.append({"probe": name, "request_bytes": len(body or b""), **_summary(result),
                     "ok": bool(expected(result["reply"]))})
    upload = _request(port, "POST", "/gradio_api/upload", {"Content-Type": "multipart/form-data; boundary=x"},
                      UPLOAD_BODY)
    stored = re.findall(r'"(/[^"]+)"', upload["reply"].decode("utf-8", "replace")) if upload["status"] == 200 else []
    read_back = _request(port, "GET", f"/gradio_api/file={stored[0]}", {}, None) if stored else None
    rows.append({"probe": "upload a file", "request_bytes": len(UPLOAD_BODY), **_summary(upload),
                 "stored_path_returned": bool(stored),
                 "read_back_status": read_back["status"] if read_back else None,
                 "ok": upload["status"] in (403, 404, 405) and not stored})
    foreign = _request(port, "GET", "/config", {"Host": f"attacker.example:{port}"}, None)
    echoed_root = b'"root":"http://attacker.example' in foreign["reply"].replace(b" ", b"")
    rows.append({"probe": "Host: attacker.example (GET /config)", "request_bytes": 0, **_summary(foreign),
                 "root_echoed": echoed_root, "ok": foreign["status"] in (400, 403) and not echoed_root})
    page = _request(port, "GET", "/", {}, None)["headers"]
    wanted = {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}
    present = {name: page.get(name) for name in (*wanted, "content-security-policy", "referrer-policy")}
    rows.append({"probe": "security headers on GET /", "request_bytes": 0, "status": 200, "reply_bytes": None,
                 "ms": None, "reply_start": "", "headers": present,
                 "ok": all(page.get(k) == v for k, v in wanted.items())
                 and "frame-ancestors 'none'" in page.get("content-security-policy", "")})
    return rows


def latency(port: int, count: int = 60) -> dict:
    """Median and p95 of ``count`` sequential valid questions (k=5) over the direct API route."""
    body = _ask_body([QUESTION, 5])
    _request(port, "POST", ASK, JSON, body)  # warm
    times = sorted(_request(port, "POST", ASK, JSON, body)["ms"] for _ in range(count))
    return {"questions": count, "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (count - 1))], 1)}


def measure(index_dir: Path) -> dict:
    from rag.assistant import Assistant
    from ui.app import create_app, launch_app
    from ui.style import CSS, theme

    assistant = Assistant.open(index_dir, progress=False)
    assistant.ask(QUESTION)  # warm (jieba's dictionary, the model) before anything is timed
    servers = {}
    # `rag serve --read-only`: no upload route at all. A server that takes documents from the page
    # opens the upload route (bounded) and still serves no file back: tests/test_upload.py.
    guarded = create_app(assistant, read_only=True)
    _, url, _ = launch_app(guarded, prevent_thread_lock=True, quiet=True)
    servers["guarded"] = (guarded, urlparse(url).port)
    bare = create_app(assistant, read_only=True)  # the same page and API, served by Gradio alone
    _, url, _ = bare.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, ssr_mode=False,
                            theme=theme(), css=CSS)
    servers["gradio alone"] = (bare, urlparse(url).port)
    try:
        result = {name: {"probes": probe(port)} for name, (_, port) in servers.items()}
        for name, (_, port) in servers.items():
            result[name]["latency"] = latency(port)
    finally:
        for app, _ in servers.values():
            app.close()
    return result


def _print(result: dict) -> None:
    guarded, bare = result["guarded"]["probes"], result["gradio alone"]["probes"]
    print("| probe | Gradio alone: status, reply | guarded: status, reply | guarded reply starts |")
    print("|---|---|---|---|")
    for old, new in zip(bare, guarded, strict=True):
        def cell(row):
            size = "" if row["reply_bytes"] is None else f", {row['reply_bytes']:,} B"
            return f"{row['status']}{size}"
        mark = "" if new["ok"] else " **(not met)**"
        start = new["reply_start"][:90].replace("|", "\\|")
        print(f"| {new['probe']} | {cell(old)} | {cell(new)}{mark} | `{start}` |")
    upload = bare[-3]
    print(f"Gradio alone, upload: stored path returned {upload['stored_path_returned']}, read back with "
          f"status {upload['read_back_status']}; /config with a foreign Host echoed it as root: {bare[-2]['root_echoed']}")
    print(f"security headers, Gradio alone: {bare[-1]['headers']}")
    print(f"guarded probes met: {sum(r['ok'] for r in guarded)} of {len(guarded)}")
    for name in ("gradio alone", "guarded"):
        lat = result[name]["latency"]
        print(f"{name}: {lat['questions']} valid questions, median {lat['median_ms']} ms, p95 {lat['p95_ms']} ms")


def main() -> int:
    from rag import config

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=config.default_index_dir())
    parser.add_argument("--corpus", type=Path, default=config.default_corpus())
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    from rag.index import build_index, index_status

    if not index_status(args.index, corpus=args.corpus).ok:
        build_index(args.corpus, args.index, progress=False)
    result = measure(args.index)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    result["command"] = " ".join(["benchmarks/bench_security.py", *sys.argv[1:]])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print(result)
        print(f"load average {result['load_average']}")
    return 0 if all(row["ok"] for row in result["guarded"]["probes"]) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
