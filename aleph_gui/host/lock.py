"""`HostLock`: one host per Aleph home, an exclusive `flock` on `$ALEPH_HOME/host.lock`.

The kernel drops a process's `flock` when the process dies, however it dies (`kill -9` included), so a
stale lock file never blocks a new host. The descriptor is not inherited by child processes (plugin
processes must not keep the lock of a host that died).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "host.lock"


class HostLock:
    def __init__(self, home: Path) -> None:
        self.path = home / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
