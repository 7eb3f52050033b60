"""The running server (`rag serve`, in a child process): loopback only, no file leaks, steady under load.

Uses the driver in benchmarks/bench_load.py (the fuller measurement) with a bounded run: 16 concurrent
gradio_client clients, 240 mixed valid and invalid questions, well under a minute.
"""

from __future__ import annotations

import http.client
import importlib.util
import inspect
import sys

import pytest

from conftest import PROJECT_ROOT, SEEDS

LOAD_CLIENTS = 16
LOAD_REQUESTS = 240
MAX_GROWTH_MB = 150  # server RSS after the load minus after the warm-up
MAX_LOAD_SECONDS = 60

pytestmark = pytest.mark.slow


def _bench():
    spec = importlib.util.spec_from_file_location("bench_load", PROJECT_ROOT / "benchmarks" / "bench_load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module")
def server(seed_index, shared_cache, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {"RAG_CACHE_DIR": str(shared_cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    running = bench.start_server(seed_index, SEEDS, log, env=env)
    try:
        yield running
    finally:
        bench.stop_server(running)


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


def test_serve_binds_loopback_by_default(server):
    from rag.cli import build_parser
    from ui.app import launch_app, serve

    assert server.listening() == ["127.0.0.1"]
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(launch_app).parameters["host"].default == "127.0.0.1"


def test_file_routes_never_serve_files_outside_the_app(server, seed_index):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/")
    page = connection.getresponse()
    assert page.status == 200 and b"<html" in page.read().lower()  # the probe reaches the server
    connection.close()
    forbidden = bench.forbidden_markers(PROJECT_ROOT, seed_index)
    probes = bench.probe_file_routes(server.port, forbidden, PROJECT_ROOT, seed_index)
    assert len(probes) == len(bench.TRAVERSALS)
    assert [p for p in probes if p["leaked"]] == []
    assert all(p["status"] != 200 for p in probes if "passwd" in p["path"] or "pyproject" in p["path"])


@pytest.mark.parametrize("question", bench.INVALID)
def test_api_invalid_question_is_an_error_object(client, question):
    reply = client.predict(question, 5, api_name="/ask")
    assert set(reply) == {"question", "error"} and reply["error"]
    assert "Traceback" not in reply["error"]


@pytest.mark.parametrize("k", [0, -3, 51])
def test_api_out_of_range_k_is_an_error_object(client, k):
    reply = client.predict("营口有多少个千亿级产业集群？", k, api_name="/ask")
    assert "k must be between" in reply["error"]


def test_api_strange_but_valid_questions_get_responses(client):
    for question in bench.VALID:
        reply = client.predict(question, 3, api_name="/ask")
        assert bench.check_reply(reply, valid=True) is None, (question, reply)
        assert (reply["answer"] is None) == reply["abstained"]


def test_bounded_load_has_no_failures_and_bounded_memory(server):
    bench.run_load(server, bench.question_mix(LOAD_CLIENTS * 2), LOAD_CLIENTS)  # warm-up
    warm = server.rss_mb()
    result = bench.run_load(server, bench.question_mix(LOAD_REQUESTS), LOAD_CLIENTS)
    growth = server.rss_mb() - warm
    assert result["failures"] == 0, result["failure_examples"]
    assert result["invalid_requests"] > LOAD_REQUESTS // 4
    assert growth < MAX_GROWTH_MB, f"server RSS grew {growth:.0f} MB under load"
    assert result["wall_s"] < MAX_LOAD_SECONDS, result
    assert server.process.poll() is None
