"""How pytest-xdist spreads the suite over processes (scripts/test runs it with -n and --dist loadgroup).

- The tests of a module with a module-scoped fixture (real processes its tests share, in order, like
  the standalone or the bad-input topology) stay together on one worker: an `xdist_group` named after
  the module. Every other test is a unit of its own.
- On a worker, the slow units (marked `slow`: the real-process crash and chaos families) come first,
  so that they start at once on every worker instead of queueing up at the end on one of them.
  (Every worker sorts alike, as xdist requires; a run without xdist keeps the files' order.)

Internal accounts' passwords are hashed with argon2's cheapest profile in the tests and in the nodes they
start (js7es/nodes/cockpit/api/passwords.py: JS7ES_TEST_MODE with JS7ES_TEST_PASSWORD_HASHING): at its
recommended cost each hash took 0.1-0.3 s, minutes of the suite's run. One test checks the default cost.

Ports, temporary directories, PostgreSQL schemas and Kafka topics are per test already (tests/ports.py,
tmp_path, the fixtures in tests/cockpit and tests/projections), so that workers do not meet.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("JS7ES_TEST_MODE", "1")
os.environ.setdefault("JS7ES_TEST_PASSWORD_HASHING", "cheapest")


def _module(item: pytest.Item) -> str | None:
    return item.module.__name__ if isinstance(item, pytest.Function) else None


def _shares_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(d.scope == "module" for defs in info.name2fixturedefs.values() for d in defs)


@pytest.hookimpl(tryfirst=True)  # before xdist's hook, which writes the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    grouped = {_module(item) for item in items if _shares_module_fixture(item)}

    def unit(item: pytest.Item) -> str:  # what xdist schedules as one: the group, else the test
        module = _module(item)
        return module if module is not None and module in grouped else item.nodeid

    slow: dict[str, bool] = {}
    for item in items:
        if unit(item) != item.nodeid:
            item.add_marker(pytest.mark.xdist_group(name=unit(item)))
        slow[unit(item)] = slow.get(unit(item), False) or item.get_closest_marker("slow") is not None
    if hasattr(config, "workerinput"):  # an xdist worker
        items.sort(key=lambda item: not slow[unit(item)])  # stable: each part (and group) keeps its order


def pytest_collection_finish(session: pytest.Session) -> None:
    """xdist writes a test's group into its id, which is what its scheduler reads: a pytest on which
    that does not take (pytest-xdist issue 1386) would spread a module's shared processes silently."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [item.nodeid for item in session.items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        raise pytest.UsageError(f"--dist loadgroup lost the xdist_group of {lost[0]} (pytest-xdist issue 1386)")
