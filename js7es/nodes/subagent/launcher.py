"""The Subagent's process launcher: one per Subagent, owning its temp dir, script files and base env."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shlex
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from js7es.domain.workflow.job import (
    CommandLineExecutable,
    InternalExecutable,
    PathExecutable,
    ShellScriptExecutable,
)
from js7es.nodes.subagent.base import JobProcess, RefusedProcess
from js7es.nodes.subagent.child_watcher import use_pidfd_child_watcher
from js7es.nodes.subagent.environment import base_env, job_env
from js7es.nodes.subagent.guard import JobGuard
from js7es.nodes.subagent.internal import InternalJobProcess
from js7es.nodes.subagent.os_process import OsJobProcess
from js7es.nodes.subagent.output import DEFAULT_CHUNK_DELAY_S
from js7es.nodes.subagent.scripts import ScriptFiles
from js7es.nodes.subagent.spawner import ProcessSpawner
from js7es.nodes.subagent.spec import OutputCallback, ProcessSpec

log = logging.getLogger(__name__)


class ProcessLauncher:
    """Starts job steps. Its temp dir (mode 0700) holds the script files and each step's return values
    file; it is created if missing and, when the launcher made it itself, removed by `close()`.

    `base_environ`: where the clean base environment is copied from (default: the Agent's os.environ,
    see environment.BASE_ENV_NAMES). `spawner=False`: the processes are started by the Agent's own
    process, its event loop waiting for each exec (where the spawner is not supported, always so).
    Process limits (per job, per Agent) are the caller's business: the Agent's JobRunner counts its
    running steps before it starts one.
    """

    def __init__(
        self,
        temp_dir: Path | None = None,
        *,
        chunk_delay_s: float = DEFAULT_CHUNK_DELAY_S,
        base_environ: Mapping[str, str] | None = None,
        spawner: bool = True,
    ) -> None:
        use_pidfd_child_watcher()
        self._own_temp_dir = temp_dir is None
        self.temp_dir = Path(tempfile.mkdtemp(prefix="js7es-subagent-")) if temp_dir is None else temp_dir.absolute()
        self.temp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._temp_dir_str = str(self.temp_dir)
        self.chunk_delay_s = chunk_delay_s
        self.base_env = base_env(base_environ)
        self._scripts = ScriptFiles(self.temp_dir)
        self._counter = itertools.count(1)
        self._prefix = f"rv-{os.getpid()}-"
        self.running = 0
        # Kills this launcher's job processes and what they started when the Agent dies (guard.py).
        self.guard = JobGuard() if JobGuard.supported() else None
        # Starts them beside the event loop (spawner.py); without it the loop waits for each exec.
        self.spawner = ProcessSpawner() if spawner and ProcessSpawner.supported() else None

    def close(self) -> None:
        if self.spawner is not None:
            self.spawner.close()
        if self.guard is not None:
            self.guard.close()
        if self._own_temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    async def start(self, spec: ProcessSpec, on_output: OutputCallback) -> JobProcess:
        executable = spec.executable
        if isinstance(executable, InternalExecutable):
            return InternalJobProcess(spec, executable.class_name, executable.job_arguments, on_output)
        release: list[str] | None = None
        match executable:
            case ShellScriptExecutable(script=script):
                argv = release = self._scripts.acquire(script)
            case PathExecutable(path=path):
                resolved = resolve_path(path, spec.executables_dir)
                if isinstance(resolved, str):
                    return RefusedProcess(resolved)
                argv = [str(resolved)]
            case CommandLineExecutable(command=command):
                try:
                    argv = shlex.split(command)
                except ValueError as e:
                    return RefusedProcess(f"Invalid command line {command!r}: {e}")
                if not argv:
                    return RefusedProcess("Empty command line")
            case _:
                return RefusedProcess(f"Unsupported executable {type(executable).__name__}")
        # The job need not write return values: the file is named, not created, before the start.
        return_values_file = f"{self._temp_dir_str}/{self._prefix}{next(self._counter)}"
        env = job_env(
            self.base_env,
            order_id=spec.order_id,
            workflow_path=spec.workflow_path,
            job_name=spec.job_name,
            arguments=spec.arguments,
            env=spec.env,
            return_values_file=return_values_file,
            v1_compatible=spec.v1_compatible,
        )
        if self.guard is not None:
            env.update(self.guard.env_entry())

        def on_end() -> None:
            self.running -= 1
            if release is not None:
                self._scripts.release(release)

        try:
            child = await OsJobProcess.spawn(argv, env, spec, on_output, self.chunk_delay_s, self.spawner)
        except OSError as e:
            if release is not None:
                self._scripts.release(release)
            return RefusedProcess(f"Cannot start {argv[0]}: {e.strerror or e}")
        self.running += 1
        process = OsJobProcess(spec, child, return_values_file=return_values_file, on_end=on_end)
        # Let its task enter its try block: a task cancelled before its first step (the loop stopping)
        # would run no cleanup at all, leaving the process group behind.
        await asyncio.sleep(0)
        return process


def resolve_path(path: str, executables_dir: Path) -> Path | str:
    """An absolute path as it is; a relative one inside `executables_dir`, refusing '..' (a problem text)."""
    pure = PurePosixPath(path)
    if not path:
        return "Empty executable path"
    if pure.is_absolute():
        return Path(path)
    if ".." in pure.parts:
        return f"Executable path must not contain '..': {path!r}"
    return executables_dir.absolute() / pure
