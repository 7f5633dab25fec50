"""The house's rules, read from its source: analysis computes and never words a page, report draws,
one module names every data file, no verb starts another, and the k6 scripts read the variables the
runner declares. Each rule reads the code as Python's own parser does (docstrings and comments may
describe anything)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from runner import k6
from tests.conftest import ROOT

PIPELINE = ("analysis", "cli", "core", "report", "runner")  # what turns options into data and pages
DATA_SUFFIX = re.compile(r"\.(csv|json|gz|folded|svg|png|log|xml|data)$")
PAGE_TEXT = re.compile(r"\|---|^\s*#{1,6} |\]\(|\*\*|<(svg|g|rect|text|title|a|div|table|br)[\s>/]", re.M)
ENV_READ = re.compile(r"__ENV\.([A-Z_0-9]+)")


def _modules(*packages: str) -> list[Path]:
    return [path for package in packages for path in sorted((ROOT / package).rglob("*.py"))]


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module but its docstrings, with its line."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def _data_file_names(path: Path) -> list[str]:
    """The data file names a module spells: words ending as a data file does, less the files that
    are part of the repository (a script, a schema) and descriptions such as `<target>_<suite>.csv`."""
    found = []
    for line, text in _strings(path):
        for word in re.split(r"[\s/()`'\"]+", text):
            if DATA_SUFFIX.search(word) and "<" not in word and not list(ROOT.rglob(word.lstrip("*"))):
                found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{line}: {word}")
    return found


def test_no_module_but_the_layout_names_a_data_file():
    spelt = [name for path in _modules(*PIPELINE) if path.name != "layout.py" for name in _data_file_names(path)]
    assert not spelt, "name these in core/layout.py:\n" + "\n".join(spelt)


def test_the_rule_on_file_names_sees_one(tmp_path):
    module = tmp_path / "spelt.py"
    module.write_text(
        '"""Writes rounds.csv (a docstring may say so)."""\nNAME = f"{ab_id}.json.gz"\nX = "k6/profiles.json"\n'
    )
    assert _data_file_names(module) == ["spelt.py:2: .json.gz"]  # the constant part of the f-string


def test_analysis_writes_no_page_text():
    worded = [
        f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}"
        for path in _modules("analysis")
        for line, text in _strings(path)
        if PAGE_TEXT.search(text)
    ]
    assert not worded, "page text belongs in report/:\n" + "\n".join(worded)


@pytest.mark.parametrize("text", ["| a |\n|---|", "## Benchmark", "[chart](ab.png)", "**bold**", '<svg width="1">'])
def test_the_rule_on_page_text_sees_markdown_and_svg(text):
    assert PAGE_TEXT.search(text)


def test_neither_analysis_nor_a_verb_imports_report():
    importers = [
        str(path.relative_to(ROOT))
        for path in _modules("analysis") + sorted((ROOT / "cli" / "verbs").glob("*.py"))
        if path.name != "report.py" and any(name == "report" or name.startswith("report.") for name in _imports(path))
    ]
    assert not importers, f"they should hand their results to a stage (cli/stages.py, cli/ab_stages.py): {importers}"


def test_no_verb_starts_another_as_a_process():
    started = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _modules(*PIPELINE, "services")
        for line, text in _strings(path)
        if text == "cli" and '"-m", "cli"' in path.read_text().replace("'", '"')
    ]
    assert not started, f"call the verb's stages in this process instead: {started}"


def test_the_k6_scripts_read_exactly_the_variables_the_runner_declares():
    read = {name for script in (ROOT / "k6").rglob("*.js") for name in ENV_READ.findall(script.read_text())}
    assert read == set(k6.SCRIPT_VARIABLES), (
        f"read, undeclared: {sorted(read - set(k6.SCRIPT_VARIABLES))}; "
        f"declared, never read: {sorted(set(k6.SCRIPT_VARIABLES) - read)}"
    )


def test_the_runner_passes_k6_only_declared_variables():
    assert k6.script_environment({"BASE_URL": "http://127.0.0.1:1", "K6_NO_USAGE_REPORT": "true"})
    with pytest.raises(ValueError, match="no k6 script reads ROUNDS"):
        k6.script_environment({"ROUNDS": "3"})
