"""Script files of ShellScriptExecutables: written once per script text, reused by every step.

A script is written to `<temp dir>/script-<sha256 prefix>` (mode 0700, through a rename so no
process ever sees half a file) on its first use and kept while the launcher lives: a workflow's jobs
are few and each runs many times, so writing it for every step would cost a file per spawn. Files no
step uses are deleted when more than MAX_UNUSED have piled up (e.g. after many deployments).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections import OrderedDict
from pathlib import Path

MAX_UNUSED = 256
SHELL = "/bin/sh"


@functools.lru_cache(maxsize=4 * MAX_UNUSED)
def _file_name(script: str) -> str:
    """A script's file name, from its text (hashed once per text while it is in use)."""
    return "script-" + hashlib.sha256(script.encode()).hexdigest()[:32]


class ScriptFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._users: dict[str, int] = {}
        self._unused: OrderedDict[str, None] = OrderedDict()
        self._directory = str(directory)  # plain strings: no pathlib per step

    def acquire(self, script: str) -> list[str]:
        """The argv that runs the script: the file itself when it has a shebang, else `/bin/sh file`."""
        path = f"{self._directory}/{_file_name(script)}"
        known = path in self._users or path in self._unused
        self._unused.pop(path, None)
        if not known or not os.path.exists(path):  # a stat per step: a tmp cleaner may have deleted it
            self._write(Path(path), script)
        self._users[path] = self._users.get(path, 0) + 1
        return [path] if script.startswith("#!") else [SHELL, path]

    def release(self, argv: list[str]) -> None:
        path = argv[-1]
        count = self._users.get(path, 0) - 1
        if count > 0:
            self._users[path] = count
            return
        self._users.pop(path, None)
        self._unused[path] = None
        while len(self._unused) > MAX_UNUSED:
            old, _ = self._unused.popitem(last=False)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(old)

    @staticmethod
    def _write(path: Path, script: str) -> None:
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o700)
        with open(fd, "wb") as file:
            file.write(script.encode())
        os.replace(tmp, path)
