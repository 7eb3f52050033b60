"""The ground everything stands on: the shipped corpus, the CLI's shape."""

import hashlib
import subprocess
import sys

from conftest import PROJECT_ROOT, SEED_FILE

SEED_SHA256 = "57e66f6d20f8719b943f6ec607fcc9028868e3f111bada59f75876f3cd43fddf"
SUBCOMMANDS = ["build", "ask", "serve", "inspect", "eval", "model"]


def test_seed_corpus_is_a_byte_for_byte_copy():
    assert hashlib.sha256(SEED_FILE.read_bytes()).hexdigest() == SEED_SHA256


def test_rag_help_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "rag.cli", "--help"], capture_output=True, text=True,
                         check=True, cwd=PROJECT_ROOT).stdout
    for name in SUBCOMMANDS:
        assert name in out


def test_each_subcommand_has_help_with_examples():
    for name in SUBCOMMANDS:
        result = subprocess.run([sys.executable, "-m", "rag.cli", name, "--help"], capture_output=True,
                                text=True, cwd=PROJECT_ROOT)
        assert result.returncode == 0, result.stderr
        assert "examples:" in result.stdout
        assert f"rag {name}" in result.stdout


def test_readme_command_table_matches_the_real_help():
    from rag import clidoc

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert clidoc.updated(readme) == readme, "README.md's command table is stale: run `python -m rag.clidoc`"
    for name in SUBCOMMANDS:  # the table's usage lines are what `rag NAME --help` prints, options and all
        help_text = subprocess.run([sys.executable, "-m", "rag.cli", name, "--help"], capture_output=True,
                                   text=True, check=True, cwd=PROJECT_ROOT).stdout
        options = {word.strip("[]") for word in help_text.split() if word.strip("[],").startswith("-")}
        row = next(line for line in readme.splitlines() if line.startswith(f"| `rag {name} "))
        assert {o for o in options if o not in ("-h", "--help", "-h,")} <= set(row.replace("[", " ").replace("]", " ").split()), name
