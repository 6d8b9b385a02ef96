"""The process side of a Subagent: starts job steps, streams their output, ends them, maps outcomes.

Asyncio-based and free of journal and HTTP: the Agent's JobRunner builds a ProcessSpec, starts it
after `OrderProcessingStarted` is durable, turns chunks into OrderStdoutWritten/OrderStderrWritten
and the outcome into OrderProcessed.

    launcher = ProcessLauncher()                           # one per Subagent; the JobRunner is given it
    process = await launcher.start(spec, on_output)
    process.kill(immediately=False)                        # SIGTERM to the group, SIGKILL after sigkill_delay_s
    outcome = await process.wait()                         # after the last chunk, with no process left

- `ProcessSpec` (spec.py): order id, job name, workflow path, the Executable from the workflow, the
  evaluated env and arguments, work dir, executables dir, timeout, sigkill delay, returnCodeMeaning,
  failOnErrWritten, v1Compatible.
- `on_output(kind, chunk)`: kind "stdout" or "stderr"; chunks of at most 8,192 characters (UTF-8,
  undecodable bytes replaced), flushed at least every `chunk_delay_s` (0.1 s; JS7: 0.4 s); never
  called concurrently for one process; a slow callback pauses the pipes (output.py).
- `JobProcess` (base.py): `pid` (= process group id; None for an internal job), `wait()`, `kill()`.
  `wait()` does not raise for the job's failures: a step that cannot start (unknown file, '..' in
  a relative path, bad command line, unknown className) ends as Failed with a message.
- Outcomes (base.outcome_of): Succeeded/Failed with namedValues {"returnCode": rc, ...return values};
  a signal's return code is 128 + signal; failOnErrWritten fails a step that wrote to stderr; a
  Failed's message is the last stderr line (as JS7); a timeout gives TimedOut(Failed(rc)), kill()
  Killed(Failed(rc)) - rc 143 after SIGTERM, 137 after SIGKILL, or what a SIGTERM trap exits with.
- Executables: ShellScriptExecutable (script file written once per script text, run by its shebang
  or /bin/sh; scripts.py), PathExecutable (relative to the executables dir), CommandLineExecutable
  (shlex-split, no shell, PATH lookup), InternalExecutable (a Python callable in a thread;
  internal.py, builtin_jobs.py). Every process gets its own session and process group, stdin
  /dev/null, cwd = work dir, and the environment described in environment.py, including
  JS7_RETURN_VALUES: a file the job appends `name=value` lines to, read after the exit and removed.
- Process ends (os_process.py): when the main process ends, what is left of its group is terminated
  (SIGTERM, SIGKILL after sigkill_delay_s); `wait()` returns only when the group is empty.
- As a node of its own (`js7es subagent --config FILE`): node.py (`SubagentNode`: dedication to one
  Director, its events in memory until released), api.py (`/subagent/api/command` and `/event`),
  wire.py (a ProcessSpec as JS7's StartOrderProcess). The Director's side is js7es.nodes.agent.subagents.
- Process limits are left to the caller (the Agent's JobRunner counts per job and per Agent);
  `ProcessLauncher.running` counts the launcher's running OS processes.
"""

from js7es.nodes.subagent.base import JobProcess, RefusedProcess, outcome_of
from js7es.nodes.subagent.internal import JobContext, JobError
from js7es.nodes.subagent.launcher import ProcessLauncher
from js7es.nodes.subagent.output import CHUNK_SIZE, DEFAULT_CHUNK_DELAY_S
from js7es.nodes.subagent.spec import OutputCallback, ProcessSpec, StdoutOrStderr

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_CHUNK_DELAY_S",
    "JobContext",
    "JobError",
    "JobProcess",
    "OutputCallback",
    "ProcessLauncher",
    "ProcessSpec",
    "RefusedProcess",
    "StdoutOrStderr",
    "outcome_of",
]
