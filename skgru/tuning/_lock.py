"""An exclusive, crash-safe lock on a search ``directory``.

Two searches saving their state in one directory would overwrite each other's
history, so a search holds ``skgru_search.lock`` there from before its first
trial until ``fit`` returns.  The lock is an OS advisory lock on that file
(``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows): the operating system
drops it when the holding process ends, however it ends (SIGKILL included), so
a crashed search never leaves a stale lock behind and resumes at once.  The
file itself stays, holding the last holder's pid, host and start time, which
the error names.  Advisory locks are reliable on local file systems; on network
file systems they depend on the server (NFS needs lockd).
"""

from __future__ import annotations

import json
import os
import socket
import time

__all__ = ["LOCK_FILE", "DirectoryLock", "DirectoryLockedError"]

LOCK_FILE = "skgru_search.lock"
_POLL_S = 0.2  # how often a waiting search retries (seconds)


class DirectoryLockedError(RuntimeError):
    """Another search holds the directory's lock."""


def _try_lock(fd):
    """Take the lock without blocking; False if someone else holds it."""
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd):
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


class DirectoryLock:
    """The lock of one search directory (a context manager).

    Parameters
    ----------
    directory : str or path-like
        Created if missing.
    timeout : float or None, default=0
        Seconds to wait for another search to release the directory: ``0``
        fails at once, ``None`` waits as long as it takes.
    """

    def __init__(self, directory, timeout=0.0):
        self.directory = os.fspath(directory)
        self.timeout = timeout
        self._fd = None

    @property
    def path(self):
        return os.path.join(self.directory, LOCK_FILE)

    def holder(self):
        """What the lock file says about its (last) holder, or None."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                return json.loads(fh.read() or "null")
        except (OSError, ValueError):
            return None

    def acquire(self):
        os.makedirs(self.directory, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if self.timeout is None else time.monotonic() + float(self.timeout)
        try:
            while not _try_lock(fd):
                if deadline is not None and time.monotonic() >= deadline:
                    raise DirectoryLockedError(self._busy_message())
                time.sleep(_POLL_S)
            info = {"pid": os.getpid(), "host": socket.gethostname(),
                    "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            # Written from byte 1 on Windows would be cleaner; a short JSON
            # overwrite is fine: readers only use it for the error message.
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(info).encode())
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def _busy_message(self):
        h = self.holder() or {}
        who = (f"process {h.get('pid', '?')} on host {h.get('host', '?')} "
               f"(since {h.get('since', '?')})") if h else "another process"
        waited = "" if not self.timeout else f" after waiting {self.timeout:g} s"
        return (f"The search directory {self.directory!r} is in use by another "
                f"search: {who} holds {self.path}{waited}. Two searches cannot "
                "share a directory (they would overwrite each other's history). "
                "Wait for it to finish, use another directory, or pass "
                "lock_timeout=<seconds> (None: no limit) to wait for it.")

    def release(self):
        if self._fd is None:
            return
        try:
            _unlock(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
