"""The `rag` command line: build, add, remove, ask, serve, inspect, eval, model.

Every subcommand prints human-readable text by default and one JSON document with ``--json``.
Errors a user can cause (a bad path, a corrupt index, an empty question) print one clear line on
stderr and exit with status 2; they never show a traceback. Each command imports what it needs when
it runs: `rag --help`, `rag inspect` and errors never load the model, and with the default model no
command imports torch (see tests/test_foundation.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from rag import config
from rag.errors import QuestionError, RagError


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _cmd_inspect(args: argparse.Namespace) -> int:
    from rag.ingest import corpus_to_dict, load_corpus

    corpus = load_corpus(args.corpus)
    for problem in corpus.problems:
        print(f"warning: {problem.source}: {problem.message}", file=sys.stderr)
    if args.json:
        _print_json(corpus_to_dict(corpus))
        return 0
    for doc in corpus.documents:
        pages = f" · pp. {doc.chunks[0].page}–{doc.chunks[-1].page}" if doc.page_map and doc.chunks else ""
        print(f"《{doc.title}》 · {doc.author or '(no author)'} · {doc.source}{pages} · {len(doc.chunks)} chunks")
        _print_sections(doc.sections, indent="  ")
    return 0


def _print_sections(nodes, indent: str) -> None:
    for node in nodes:
        print(f"{indent}{node.heading}")
        _print_sections(node.children, indent + "  ")


def _cmd_model(args: argparse.Namespace) -> int:
    from rag.embed import load_model

    info = load_model(args.model, args.engine).info()
    if args.json:
        _print_json(info)
    else:
        for key, value in info.items():
            print(f"{key:>22}: {value}")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from rag.index import build_index, index_status

    if args.if_stale:
        status = index_status(args.index, corpus=args.corpus, model=args.model, engine=args.engine)
        if status.ok:
            if args.json:
                _print_json({"up_to_date": True, "detail": status.detail})
            else:
                print(f"index at {args.index} is up to date ({status.detail})")
            return 0
        print(f"building index: {status.detail}", file=sys.stderr)
    manifest = build_index(args.corpus, args.index, model=args.model, engine=args.engine,
                           progress=not (args.quiet or args.json))
    _report_build(args, manifest, "built")
    return 0


def _report_build(args: argparse.Namespace, manifest: dict, verb: str) -> None:
    for problem in manifest["corpus"]["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    if args.json:
        _print_json(manifest)
        return
    counts, embedded = manifest["counts"], manifest["embedded"]
    print(f"{verb} {args.index}: {counts['documents']} documents, {counts['chunks']} chunks, "
          f"{counts['sentences']} sentences; embedded {embedded['encoded']} texts "
          f"({embedded['cached']} reused from the vector cache) in {manifest['build_seconds']:.1f} s")


def _cmd_add(args: argparse.Namespace) -> int:
    from rag.index import update_index

    manifest = update_index(args.index, add=args.paths, progress=not (args.quiet or args.json))
    _report_build(args, manifest, "updated")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from rag.index import update_index

    manifest = update_index(args.index, remove=args.documents, progress=not (args.quiet or args.json))
    _report_build(args, manifest, "updated")
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    if not args.batch and not args.question:
        raise QuestionError("give a question, e.g. rag ask \"营口有多少个千亿级产业集群？\", or --batch FILE")
    if not args.batch and args.corpus is None and not args.no_server:
        answered = _ask_running_server(args)
        if answered is not None:
            return answered
    from rag.assistant import Assistant, read_batch
    from rag.render import format_response

    assistant = Assistant.open(args.index, corpus=args.corpus, model=args.model, engine=args.engine)
    items = read_batch(args.batch) if args.batch else [(None, " ".join(args.question))]
    failures = 0
    for item_id, question in items:
        try:
            response = assistant.ask(question, k=args.k, question_id=item_id)
        except QuestionError as error:
            if not args.batch:
                raise
            failures += 1  # one bad line must not cost the answers to the others
            record = {"id": item_id, "question": question, "error": str(error)}
            print(json.dumps(record, ensure_ascii=False) if args.json else f"[{item_id}] error: {error}\n")
            continue
        if args.json:
            print(json.dumps(response.to_dict(), ensure_ascii=False, indent=None if args.batch else 2))
        else:
            print(format_response(response) + ("\n" if args.batch else ""))
    return 1 if failures and failures == len(items) else 0


def _ask_running_server(args: argparse.Namespace) -> int | None:
    """Answer through a `rag serve` of the same index on the default port, when one is up (it has the
    index and the model loaded: no start-up cost). None: answer locally."""
    from rag.remote import ServerUnavailable, ask_server, server_url

    question = " ".join(args.question)
    try:
        data = ask_server(question, args.k, args.index, args.model, config.engine_for(args.model, args.engine))
    except ServerUnavailable as why:
        if args.verbose:
            print(f"answering locally: {why}", file=sys.stderr)
        return None
    if args.verbose:
        print(f"asked the server at {server_url()} (it serves this index)", file=sys.stderr)
    if "error" in data:
        raise QuestionError(str(data["error"]))
    from rag.render import format_response
    from rag.types import Response

    if args.json:
        _print_json(data)
    else:
        print(format_response(Response.from_dict(data)))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import serve

    serve(index_dir=args.index, corpus=args.corpus, model=args.model, host=args.host,
          port=args.port, share=args.share, extra_hosts=tuple(args.allowed_host), engine=args.engine,
          read_only=args.read_only)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from rag.evaluate import format_report, run_eval

    report = run_eval(corpus=args.corpus, questions=args.questions, retriever=args.retriever,
                      index_dir=args.index, model=args.model, k=args.k, limit=args.limit,
                      answers=not args.no_answers, engine=args.engine)
    if args.json:
        _print_json(report)
    else:
        print(format_report(report))
    return 0


EXAMPLES = {
    "build": "examples:\n  rag build\n  rag build --corpus my_docs/ --index /tmp/my_index\n"
             "  rag build --if-stale   # only when the corpus, model or settings changed",
    "add": "examples:\n  rag add new_report.txt\n  rag add more_docs/ --index /tmp/my_index",
    "remove": "examples:\n  rag remove new_report        # a document id, its file name or its source path\n"
              "  rag remove yingkou-essays-2025#3",
    "ask": "examples:\n  rag ask 营口有多少个千亿级产业集群？\n"
           "  rag ask \"Which company in Yingkou makes refractory materials?\" --json\n"
           "  rag ask --batch questions.jsonl --json > answers.jsonl",
    "serve": f"examples:\n  rag serve                      # http://{config.DEFAULT_HOST}:{config.DEFAULT_PORT}\n"
             "  rag serve --port 8080 --host 0.0.0.0 --allowed-host mylaptop.local --read-only",
    "inspect": "examples:\n  rag inspect\n  rag inspect --corpus seeds/yingkou-essays-2025.txt --json",
    "eval": "examples:\n  rag eval --corpus ../shared/bench/cmrc2018-dev/corpus.jsonl "
            "--questions ../shared/bench/cmrc2018-dev/questions.jsonl\n"
            "  rag eval --corpus seeds --questions benchmarks/seed_questions.jsonl --retriever dense --json",
    "model": "examples:\n  rag model\n  rag model --model BAAI/bge-small-zh-v1.5 --json",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Ask questions about Chinese documents and get the exact sentence that answers "
                    "them, with a citation. Runs offline on the CPU.",
        epilog="examples:\n  rag ask 营口市应设立什么机构来化解社会矛盾？\n  rag serve\n\n"
               "Run `rag COMMAND --help` for each command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]):
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EXAMPLES[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(handler=handler)
        return p

    def corpus_opt(p):
        p.add_argument("--corpus", type=Path, default=config.default_corpus(), metavar="PATH",
                       help="a file or folder of .txt/.md/.jsonl/.pdf/.docx/.html documents (default: %(default)s)")

    def index_opt(p):
        p.add_argument("--index", type=Path, default=config.default_index_dir(), metavar="DIR",
                       help="index directory (default: %(default)s)")

    def model_opt(p):
        p.add_argument("--model", default=config.default_model(), metavar="M",
                       help="embedding model: the bundled default, a local folder or a Hugging Face "
                            "id (default: %(default)s; env RAG_MODEL)")

    def engine_opt(p):
        p.add_argument("--engine", choices=config.ENGINES, default=config.default_engine(),
                       help="what runs the model: auto = the fast int8 engine for the bundled model, "
                            "sentence-transformers for any other (default: %(default)s; env RAG_ENGINE)")

    def json_opt(p):
        p.add_argument("--json", action="store_true", help="print JSON instead of text")

    def quiet_opt(p):
        p.add_argument("--quiet", action="store_true", help="no progress display")

    p = add("build", "Ingest a file or folder (.txt, .md, .jsonl, .pdf, .docx, .html) and write the search "
                     "index atomically (default: seeds/ → embeddings/).", _cmd_build)
    corpus_opt(p), index_opt(p), model_opt(p), engine_opt(p), json_opt(p), quiet_opt(p)
    p.add_argument("--if-stale", action="store_true", help="do nothing if the index is up to date")

    p = add("add", "Add files or folders to an existing index (a file already in it is read again); "
                   "only new text is embedded.", _cmd_add)
    p.add_argument("paths", nargs="+", type=Path, help="files or folders to add")
    index_opt(p), json_opt(p), quiet_opt(p)

    p = add("remove", "Remove documents from an existing index.", _cmd_remove)
    p.add_argument("documents", nargs="+", help="document ids, file names or source paths (see `rag inspect`)")
    index_opt(p), json_opt(p), quiet_opt(p)

    p = add("ask", "Ask a question (or a --batch file of them); get the quoted answer with its citation, "
                   "then the passages.", _cmd_ask)
    p.add_argument("question", nargs="*", metavar="QUESTION", help="the question (Chinese or English)")
    p.add_argument("--batch", type=Path, metavar="FILE", help="a file with one question per line, or JSONL with "
                                              "'question' (and optional 'id') per line")
    p.add_argument("-k", type=int, default=config.DEFAULT_K, metavar="N", help="passages to show (default: %(default)s)")
    index_opt(p), model_opt(p), engine_opt(p), json_opt(p)
    p.add_argument("--corpus", type=Path, default=None, metavar="PATH",
                   help="rebuild the index from this corpus first if it is missing or stale")
    p.add_argument("--no-server", action="store_true",
                   help=f"answer in this process even when a `rag serve` of the same index is up on port "
                        f"{config.default_port()} (by default it is asked: it has everything loaded)")
    p.add_argument("--verbose", action="store_true", help="say whether a running server answered, and why not")

    p = add("serve", f"Start the web UI and HTTP API on http://{config.DEFAULT_HOST}:{config.DEFAULT_PORT} "
                     "(building a missing index first); it answers only to loopback names, --host and "
                     "--allowed-host.", _cmd_serve)
    index_opt(p), model_opt(p), engine_opt(p)
    p.add_argument("--corpus", type=Path, default=None, metavar="PATH",
                   help="keep the index up to date with this corpus (default: the one the index was built "
                        f"from; for a missing index, {config.default_corpus()})")
    p.add_argument("--host", default=config.DEFAULT_HOST, metavar="H", help="address to bind (default: %(default)s)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="also answer requests addressed to this host name (repeatable; loopback names and "
                        "--host are always allowed, any other Host header is refused)")
    p.add_argument("--port", type=int, default=config.default_port(), metavar="P",
                   help="port (default: %(default)s; env RAG_PORT)")
    p.add_argument("--share", action="store_true", help="ask Gradio for a public share link")
    p.add_argument("--read-only", action="store_true",
                   help="no 'add documents' panel or remove buttons; the server refuses uploads and the "
                        "add/remove API")

    p = add("inspect", "Show the documents, sections and chunks ingestion recovers.", _cmd_inspect)
    corpus_opt(p), json_opt(p)

    p = add("eval", "Measure retrieval (Recall@k, MRR) and answers (hit, span EM/F1, abstention) on a "
                    "benchmark (corpus + questions JSONL).", _cmd_eval)
    p.add_argument("--corpus", type=Path, required=True, metavar="PATH", help="corpus file or folder")
    p.add_argument("--questions", type=Path, required=True, metavar="FILE", help="questions JSONL")
    p.add_argument("--retriever", choices=["bm25", "dense", "hybrid"], default="hybrid")
    p.add_argument("--index", type=Path, default=None, metavar="DIR",
                   help="index directory (default: a cache folder keyed by the corpus)")
    p.add_argument("-k", type=int, default=10, metavar="N", help="rank depth for recall/MRR (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    p.add_argument("--no-answers", action="store_true", help="retrieval metrics only")
    model_opt(p), engine_opt(p), json_opt(p)

    p = add("model", "Show which embedding model is used and where it lives.", _cmd_model)
    model_opt(p), engine_opt(p), json_opt(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RagError as error:
        print(f"rag {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
