"""The one direction of dependencies (ARCHITECTURE §2): domain ← journal ← projections ← nodes."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "js7es"
LAYERS = ["domain", "journal", "projections", "nodes"]
THIRD_PARTY_ALLOWED = {
    "domain": set(),
    "journal": {"tqdm", "fastavro", "eventsourcing"},
    "projections": {"tqdm", "fastavro", "eventsourcing", "kafka", "psycopg", "psycopg_pool", "sqlalchemy", "alembic"},
}


def imported_modules(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def violations(layer: str, source: str) -> list[str]:
    allowed_layers = {f"js7es.{name}" for name in LAYERS[: LAYERS.index(layer) + 1]}
    result = []
    for lineno, module in imported_modules(source):
        top = module.split(".")[0]
        if module.startswith("."):
            result.append(f"line {lineno}: relative import {module}")
        elif top == "js7es":
            if not any(module == a or module.startswith(a + ".") for a in allowed_layers) and module != "js7es":
                result.append(f"line {lineno}: {layer} imports {module}")
        elif top not in sys.stdlib_module_names and top != "__future__":
            if layer == "nodes" or top in THIRD_PARTY_ALLOWED.get(layer, set()):
                continue
            result.append(f"line {lineno}: {layer} imports third-party {module}")
    return result


def test_every_layer_imports_only_inward() -> None:
    problems = []
    checked = 0
    for layer in LAYERS[:-1]:
        for path in sorted((ROOT / layer).rglob("*.py")):
            checked += 1
            problems.extend(f"{path.relative_to(ROOT)}: {v}" for v in violations(layer, path.read_text()))
    assert checked > 10
    assert problems == []


# What the command line may import when it starts (STYLE habits 15 and 18): its own light modules, the
# clients of the Controller, the standalone's layout; everything else (the nodes, the Cockpit, the
# exporter, the journal, any third-party package) inside the function that runs a subcommand.
CLI_LIGHT = (
    "js7es.nodes.cli",
    "js7es.nodes.client",
    "js7es.nodes.errors",
    "js7es.nodes.standalone.layout",
    "js7es.domain.problem",
    "js7es.domain.value",  # exact JSON numbers (stdlib only)
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(source: str) -> list[tuple[int, str]]:
    """The imports a module runs when it is loaded: not those in functions, nor under TYPE_CHECKING."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
    return found


def heavy_imports_at_load(module: str, source: str) -> list[str]:
    problems = []
    for lineno, imported in top_level_imports(source):
        top = imported.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        if not any(imported == light or imported.startswith(light + ".") for light in CLI_LIGHT):
            problems.append(f"{module} line {lineno}: imports {imported} when loaded")
    return problems


def test_the_command_line_loads_only_light_modules() -> None:
    problems = []
    checked = 0
    for path in sorted((ROOT / "nodes").rglob("*.py")):
        module = module_name(path)
        if any(module == light or module.startswith(light + ".") for light in CLI_LIGHT):
            checked += 1
            problems.extend(heavy_imports_at_load(module, path.read_text()))
    assert checked > 15
    assert problems == []


def test_no_module_imports_the_command_line() -> None:
    """A CLI module is an entry point, never a library others import."""
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        if module == "js7es.nodes.cli" or module.startswith("js7es.nodes.cli."):
            continue
        for lineno, imported in imported_modules(path.read_text()):
            if imported == "js7es.nodes.cli" or imported.startswith("js7es.nodes.cli."):
                problems.append(f"{module} line {lineno}: imports {imported}")
    assert problems == []


def test_the_check_catches_violations() -> None:
    assert violations("domain", "import fastavro\n") == ["line 1: domain imports third-party fastavro"]
    assert violations("domain", "from js7es.journal import api\n") == ["line 1: domain imports js7es.journal"]
    assert violations("journal", "from js7es.nodes.cli import main\n") == ["line 1: journal imports js7es.nodes.cli"]
    assert violations("domain", "from . import x\n") == ["line 1: relative import ."]
    assert violations("domain", "import json\nfrom js7es.domain.value import Value\n") == []
    assert violations("journal", "import tqdm\nfrom js7es.domain import codec\n") == []
    loaded = "import argparse\nimport httpx\nfrom js7es.nodes.cockpit import server\n"
    assert heavy_imports_at_load("m", loaded) == [
        "m line 2: imports httpx when loaded",
        "m line 3: imports js7es.nodes.cockpit when loaded",
    ]
    lazily = "from js7es.nodes.client import errors\ndef run():\n    import sqlalchemy\n"
    assert heavy_imports_at_load("m", lazily) == []
