"""One process per study directory: ``OUT/study.lock``, held while a study runs.

Two ``actlab compare`` processes on one directory would train the same units twice and race for
their checkpoints. :func:`hold` takes an exclusive lock on ``OUT/study.lock`` (``flock`` on POSIX,
``msvcrt.locking`` on Windows) and writes the holder's pid into it; a second process is refused at
once with that pid, or waits (``wait=True``). The operating system releases the lock when its
holder exits in any way -- a SIGKILL included -- so a stale lock never blocks a rerun. Readers
(``actlab report``, ``diagnose`` on a finished study) take no lock.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from actlab.errors import ActlabError

__all__ = ["LOCKFILE", "hold"]

LOCKFILE = "study.lock"


@contextlib.contextmanager
def hold(
    out: str | os.PathLike,
    *,
    wait: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold ``out/study.lock`` for the block (creating ``out`` if missing).

    Args:
        out: the study's output directory.
        wait: when another process holds it, wait for it instead of refusing.
        on_wait: called once with the holder's pid (as text) before waiting.

    Raises:
        ActlabError: another process holds the lock (and not ``wait``), or the directory
            cannot be created, or the lock file is a symbolic link.
    """
    out = Path(out)
    path = out / LOCKFILE
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ActlabError(f"cannot create output directory {out}: {e}") from None
    if path.is_symlink():
        raise ActlabError(f"{path} is a symbolic link; actlab writes only inside {out}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            holder = _holder(fd)
            if not wait:
                raise ActlabError(
                    f"another actlab process (pid {holder}) is running the study in {out}; let "
                    f"it finish, or rerun with --wait to start when it does"
                )
            if on_wait is not None:
                on_wait(holder)
            _lock(fd)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            _unlock(fd)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode(errors="replace").strip()
    return text or "unknown"


try:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # Windows
    import msvcrt
    import time

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 1 << 20, os.SEEK_SET)  # lock a byte past the pid
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _lock(fd: int) -> None:
        while not _try_lock(fd):
            time.sleep(0.5)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 1 << 20, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
