"""The process spawner's own process (run as a script: `python -I -S spawner_process.py REQUESTS REPLIES
AGENT_PID`; standard library only).

It starts the job processes for the Agent, so that the Agent's event loop does not wait while each
child execs: a child started with vfork holds its parent until its exec is done, and under the shell
job's load that was 41 % of the Agent loop's wall time (bench/README.md, "the process spawner").

REQUESTS is a stream socket (a request may be as large as an environment can be): each request is a
4-byte big-endian length and `marshal` of `(request_id, argv, env, cwd)`. REPLIES is a sequenced-packet
socket, one message per reply, `marshal` of:

- `("started", request_id, pid)` with the read ends of the child's stdout and stderr pipes attached;
- `("failed", request_id, errno, strerror, filename)` when it could not be started;
- `("exited", pid, returncode)` when it has ended and been reaped here (negative: the ending signal).

Each child is started with one exec (posix_spawn), in a new session (its own process group), stdin from
/dev/null, SIGPIPE and SIGXFSZ at their defaults, as subprocess.Popen starts it. Every descriptor of this
process is close-on-exec, so a child inherits only its three standard ones. When REQUESTS ends (the
Agent closed it or died), the spawner exits; the children are not its business then (the job guard
kills the jobs of a dead Agent; a stopping Agent has ended its own). It dies with the Agent at once,
by the parent-death signal, so that it starts nothing for a dead Agent.
"""

from __future__ import annotations

import contextlib
import ctypes
import marshal
import os
import selectors
import shutil
import signal
import socket
import struct
import sys

_HEADER = struct.Struct(">I")
PR_SET_PDEATHSIG = 1
_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)  # Python ignores them; a child must not inherit that


class Spawner:
    def __init__(self, requests: socket.socket, replies: socket.socket) -> None:
        self._requests = requests
        self._replies = replies
        self._selector = selectors.DefaultSelector()
        self._selector.register(requests, selectors.EVENT_READ)
        self._buffer = bytearray()
        self._devnull = os.open(os.devnull, os.O_RDONLY)  # close-on-exec, as all of Python's descriptors
        self._cwd = os.getcwd()

    def run(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.fileobj is self._requests:
                    if not self._read_requests():
                        return
                else:
                    self._reap(key.fd, key.data)

    def _read_requests(self) -> bool:
        data = self._requests.recv(1 << 20)
        if not data:
            return False
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 4:
            (length,) = _HEADER.unpack_from(buffer)
            if len(buffer) < 4 + length:
                break
            request = marshal.loads(bytes(buffer[4 : 4 + length]))
            del buffer[: 4 + length]
            self._spawn(*request)
        return True

    def _spawn(self, request_id: int, argv: list[str], env: dict[str, str], cwd: str) -> None:
        pipes: list[int] = []
        try:
            if cwd != self._cwd:
                os.chdir(cwd)
                self._cwd = cwd
            executable = argv[0]
            if "/" not in executable:  # searched in the job's PATH, as Popen does
                found = shutil.which(executable, path=env.get("PATH", os.defpath))
                if found is None:
                    raise FileNotFoundError(2, "No such file or directory", executable)
                executable = found
            out_r, out_w = os.pipe()
            pipes += (out_r, out_w)
            err_r, err_w = os.pipe()
            pipes += (err_r, err_w)
            pid = os.posix_spawn(
                executable,
                argv,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, self._devnull, 0),
                    (os.POSIX_SPAWN_DUP2, out_w, 1),
                    (os.POSIX_SPAWN_DUP2, err_w, 2),
                ],
                setsid=True,
                setsigdef=_DEFAULT_SIGNALS,
            )
        except OSError as e:
            for fd in pipes:
                os.close(fd)
            self._send(("failed", request_id, e.errno or 0, e.strerror or str(e), e.filename), [])
            return
        os.close(out_w)
        os.close(err_w)
        self._selector.register(os.pidfd_open(pid), selectors.EVENT_READ, pid)
        self._send(("started", request_id, pid), [out_r, err_r])
        os.close(out_r)
        os.close(err_r)

    def _reap(self, pidfd: int, pid: int) -> None:
        self._selector.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        self._send(("exited", pid, os.waitstatus_to_exitcode(status)), [])

    def _send(self, reply: tuple[str | int | None, ...], fds: list[int]) -> None:
        socket.send_fds(self._replies, [marshal.dumps(reply)], fds)


def die_with(parent: int) -> bool:
    """SIGKILL to this process when `parent` (the Agent) ends; whether it still runs. A request that
    the Agent sent just before it died must not start a process after its death: the job guard may
    have scanned for its jobs already, and the next Agent knows nothing of it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            print(f"process spawner: prctl: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
    except (OSError, AttributeError) as e:  # no prctl: ended by its requests' end only
        print(f"process spawner: no parent-death signal: {e}", file=sys.stderr)
    return os.getppid() == parent


def main(argv: list[str]) -> int:
    if not die_with(int(argv[3])):
        return 1
    requests = socket.socket(fileno=int(argv[1]))
    replies = socket.socket(fileno=int(argv[2]))
    for sock in (requests, replies):  # passed to this process inheritable: no child must get them
        sock.set_inheritable(False)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, KeyboardInterrupt):  # the Agent is gone
        Spawner(requests, replies).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
