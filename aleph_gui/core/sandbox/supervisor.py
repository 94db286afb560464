"""Runs INSIDE a plugin's long-lived sandbox (stdlib only, `python -I -S supervisor.py FD`).

Starting bubblewrap costs milliseconds; a command hook runs one short command per event. So one
sandbox per plugin stays up with this small supervisor in it, and the app asks it, over the
SOCK_SEQPACKET socket inherited as FD, to start each command. Messages are JSON, one per packet:

  app -> here  {"op": "spawn", "id": N, "argv": [...], "env": {...}, "cwd": "..."}
               + 3 file descriptors (the command's stdin, stdout, stderr) as SCM_RIGHTS
               {"op": "kill", "id": N, "signal": 9}      signal the command's process group
  here -> app  {"ready": true}                        once, when listening
               {"id": N, "started": PID}
               {"id": N, "exit": CODE}                negative: killed by that signal
               {"id": N, "exit": 127|126, "error": "..."}  could not start (also on its stderr)

Each command runs in its own session (so its process group can be killed as a whole). When the
app closes the socket (or dies), every command still running is killed and this exits, which
ends the sandbox. Diagnostics go to stderr, which the app copies into the plugin's log.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys

MAX_MESSAGE = 1 << 20
MAX_FDS = 3


class Supervisor:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.running: dict[int, subprocess.Popen[bytes]] = {}
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd is written
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.control, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)

    def send(self, message: dict[str, object]) -> None:
        self.control.sendall(json.dumps(message).encode())

    def spawn(self, request: dict[str, object], fds: list[int]) -> None:
        ident = int(str(request["id"]))
        try:
            if len(fds) != MAX_FDS:
                raise ValueError(f"expected {MAX_FDS} file descriptors, got {len(fds)}")
            argv = [str(a) for a in request["argv"]]  # type: ignore[attr-defined]
            env = {str(k): str(v) for k, v in dict(request.get("env") or {}).items()}  # type: ignore[call-overload]
            cwd = request.get("cwd")
            proc = subprocess.Popen(argv, stdin=fds[0], stdout=fds[1], stderr=fds[2], env=env,
                                    cwd=str(cwd) if cwd else None, start_new_session=True, close_fds=True)
        except (OSError, ValueError, TypeError, KeyError, subprocess.SubprocessError) as err:
            # What a shell does: the reason on the command's stderr, 127 (not found) or 126.
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            name = str(request.get("argv", ["?"])[0]) if request.get("argv") else "?"  # type: ignore[index]
            if len(fds) == MAX_FDS:
                try:
                    os.write(fds[2], f"cannot run {name}: {reason}\n".encode())
                except OSError:
                    pass
            code = 127 if isinstance(err, FileNotFoundError) else 126
            self.send({"id": ident, "exit": code, "error": f"cannot run {name}: {reason}"})
            return
        finally:
            for fd in fds:  # the command holds them now; keeping them would hide its EOF
                os.close(fd)
        self.running[ident] = proc
        self.send({"id": ident, "started": proc.pid})

    def kill(self, request: dict[str, object]) -> None:
        proc = self.running.get(int(str(request["id"])))
        if proc is not None and proc.returncode is None:
            try:
                os.killpg(proc.pid, int(str(request.get("signal", signal.SIGKILL))))
            except ProcessLookupError:
                pass  # already gone; its exit is reported by reap()

    def reap(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass
        for ident, proc in list(self.running.items()):
            code = proc.poll()
            if code is not None:
                del self.running[ident]
                self.send({"id": ident, "exit": code})

    def shutdown(self) -> None:
        for proc in self.running.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def handle(self) -> bool:
        """One control message; False when the app has gone."""
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.control, MAX_MESSAGE, MAX_FDS)
        except ConnectionError:
            return False
        if not data:
            for fd in fds:
                os.close(fd)
            return False
        try:
            request = json.loads(data)
            op = request.get("op")
        except (ValueError, AttributeError):
            sys.stderr.write("sandbox supervisor: ignored a malformed request\n")
            for fd in fds:
                os.close(fd)
            return True
        if op == "spawn":
            self.spawn(request, list(fds))
        else:
            for fd in fds:
                os.close(fd)
            if op == "kill":
                self.kill(request)
        return True

    def run(self) -> int:
        try:
            self.send({"ready": True})
            while True:
                for key, _ in self.selector.select():
                    if key.fileobj is self.control:
                        if not self.handle():
                            return 0
                    else:
                        self.reap()
        except ConnectionError:
            return 0  # the app went away mid-message: same as a clean close
        finally:
            self.shutdown()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        sys.stderr.write("usage: supervisor.py FD\n")
        return 2
    control = socket.socket(fileno=int(argv[0]))
    control.set_inheritable(False)
    return Supervisor(control).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
