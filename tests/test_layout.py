"""The package's layout holds: the layer contract (pyproject.toml) and no import cycle anywhere."""

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_no_module_is_in_an_import_cycle():
    graph = grimp.build_graph("codebabel", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append(" -> ".join(graph.find_shortest_chain(importer=imported, imported=module) + (imported,)))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_package_imports_one_that_imports_it_back():
    """Sibling packages (e.g. languages/ and execute/) may depend one way only."""
    graph = grimp.build_graph("codebabel", exclude_type_checking_imports=True)
    top = sorted(m for m in graph.find_children("codebabel"))
    both = [(a, b) for i, a in enumerate(top) for b in top[i + 1:]
            if graph.chain_exists(importer=a, imported=b, as_packages=True)
            and graph.chain_exists(importer=b, imported=a, as_packages=True)]
    assert not both, f"packages that import each other: {both}"


def test_layer_contract_holds():
    """import-linter's layers contract in pyproject.toml (`lint-imports`, run here through this interpreter)."""
    out = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                          "lint_imports_command()"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
