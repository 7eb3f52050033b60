"""The ground everything stands on: the shipped corpus, the CLI's shape, what each command imports."""

import hashlib
import json
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT, SEED_FILE

SEED_SHA256 = "57e66f6d20f8719b943f6ec607fcc9028868e3f111bada59f75876f3cd43fddf"
SUBCOMMANDS = ["build", "add", "remove", "ask", "serve", "inspect", "eval", "model"]
#: Seconds to import and megabytes to hold: only a non-default model may bring them in.
HEAVY = ("torch", "transformers", "sentence_transformers")


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
def _heavy_modules_after(code: str) -> list[str]:
    """The heavy packages a fresh interpreter has imported after running ``code``."""
    script = (f"import json, sys\n{code}\n"
              f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["inspect"], ["model"], ["ask", "--index", "/no/such/index", "营口"]])
def test_light_commands_and_errors_never_import_torch(argv):
    code = f"from rag.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    assert _heavy_modules_after(code) == []


def test_asking_with_the_default_model_never_imports_torch(seed_index):
    code = (f"from rag.cli import main\n"
            f"assert main(['ask', '--index', {str(seed_index)!r}, '--no-server', '营口有多少个千亿级产业集群？']) == 0")
    assert _heavy_modules_after(code) == []


def test_the_server_never_imports_torch_for_the_default_model(seed_index):
    code = (f"from ui.app import create_app\nfrom rag.assistant import Assistant\n"
            f"create_app(Assistant.open({str(seed_index)!r})).close()")
    assert _heavy_modules_after(code) == []
