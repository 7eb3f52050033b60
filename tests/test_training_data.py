"""The question sets written here for training (benchmarks/policy_train/, and its paraphrased
questions in benchmarks/policy_train_para/): every answer must be something the reader can quote,
or the trainer learns from wrong labels without a word said."""

import json
from pathlib import Path

import pytest

POLICY = Path(__file__).resolve().parent.parent / "benchmarks" / "policy_train"
#: The written training sets in policy_train's layout.
WRITTEN = [POLICY, POLICY.parent / "policy_train_para"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module", params=WRITTEN, ids=lambda folder: folder.name)
def policy(request):
    passages = {p["id"]: p for p in _lines(request.param / "corpus.jsonl")}
    return passages, _lines(request.param / "questions.jsonl"), request.param


def test_ids_are_unique_and_passages_belong_to_their_document(policy):
    passages, questions, folder = policy
    assert len(passages) == len(_lines(folder / "corpus.jsonl"))
    assert len({q["id"] for q in questions}) == len(questions)
    assert all(pid.rsplit("-p", 1)[0] == p["doc_id"] for pid, p in passages.items())


def test_every_answer_is_an_exact_slice_of_its_evidence_and_passage(policy):
    passages, questions, _ = policy
    for q in questions:
        if q["kind"] == "unanswerable":
            assert q["answers"] == [] and q["gold_passage"] is None, q["id"]
            continue
        passage = passages[q["gold_passage"]]
        assert passage["doc_id"] == q["doc_id"], q["id"]
        assert q["evidence"] in passage["text"], q["id"]
        assert q["answers"] and all(a and a in q["evidence"] for a in q["answers"]), q["id"]


def test_no_chinese_question_gives_its_answer_away(policy):
    _, questions, _ = policy
    for q in questions:
        if q["lang"] == "zh":
            assert not any(a in q["question"] for a in q["answers"]), q["id"]


def test_a_near_miss_is_not_also_an_answerable_question(policy):
    """The same question written once as answerable and once as a near miss would teach both labels."""
    _, questions, _ = policy
    for q in questions:
        if q["kind"] == "unanswerable":
            twins = [o for o in questions if o["doc_id"] == q["doc_id"] and o["question"] == q["question"]]
            assert twins == [q], q["id"]


def test_the_readme_counts_what_is_there(policy):
    """The README's paragraph and question counts are the files' (written by hand, so checked)."""
    import re

    passages, questions, folder = policy
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert f"{len(passages)} paragraphs" in readme and f"{len(questions)} questions" in readme
    rows = {"fact": ("fact",), "how / why / list / measures": ("how", "why", "list", "measures"),
            "unanswerable": ("unanswerable",)}
    for label, kinds in rows.items():
        found = re.search(rf"^\| {re.escape(label)}[^|]*\| (\d+) \| (\d+) \|$", readme, re.M)
        assert found, label
        counts = [sum(q["kind"] in kinds and q["lang"] == lang for q in questions) for lang in ("zh", "en")]
        assert [int(found.group(1)), int(found.group(2))] == counts, label


HOWWHY = POLICY.parent / "howwhy_questions.jsonl"
BENCH = POLICY.parent.parent.parent / "shared" / "bench"


@pytest.fixture(scope="module")
def bench_howwhy():
    """The how/why/list questions written over the public Wikipedia passages (trial and DRCD)."""
    passages = {}
    for corpus in ("cmrc2018-trial", "drcd-test"):
        path = BENCH / corpus / "corpus.jsonl"
        if not path.exists():
            pytest.skip(f"{path} is not here")
        passages |= {p["id"]: p for p in _lines(path)}
    return passages, [q for q in _lines(HOWWHY) if q["corpus"] != "seeds"]


def test_bench_howwhy_answers_are_in_their_passage_and_not_in_the_question(bench_howwhy):
    passages, questions = bench_howwhy
    assert len({q["id"] for q in _lines(HOWWHY)}) == len(_lines(HOWWHY))
    for q in questions:
        passage = passages[q["gold_passage"]]
        assert passage["doc_id"] == q["doc_id"] and q["kind"] in ("how", "why", "list", "measures"), q["id"]
        assert q["evidence"] in passage["text"], q["id"]
        assert q["answers"] and all(a and a in passage["text"] for a in q["answers"]), q["id"]
        assert not any(a in q["question"] for a in q["answers"]), q["id"]


@pytest.mark.parametrize("folder", ["unseen", "unseen2", "unseen3", "unseen4", "unseen5", "unseen6"])
def test_the_unseen_test_sets_quote_their_passages(folder):
    """benchmarks/unseen*/ (test sets): every answer is in its gold passage and not in the question."""
    passages = {p["id"]: p for p in _lines(POLICY.parent / folder / "corpus.jsonl")}
    questions = _lines(POLICY.parent / folder / "questions.jsonl")
    assert len({q["id"] for q in questions}) == len(questions)
    for q in questions:
        if q["kind"] == "unanswerable":
            assert q["answers"] == [] and q["gold_passage"] is None, q["id"]
            continue
        passage = passages[q["gold_passage"]]
        assert passage["doc_id"] == q["doc_id"] and q["answers"], q["id"]
        assert all(a in passage["text"] for a in q["answers"]), q["id"]
        assert q["lang"] == "en" or not any(a in q["question"] for a in q["answers"]), q["id"]
