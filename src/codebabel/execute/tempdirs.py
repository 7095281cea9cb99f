"""Temporary folders of sandboxes and warm servers, and their removal even after ``kill -9``.

Every sandbox and warm-server folder lives under one per-user root, ``$TMPDIR/codebabel-<uid>/``, in the
folder of the process that made it: ``owner-XXXX/`` beside ``owner-XXXX.lock``, a file that process holds
locked (flock) as long as it lives. Normal exits and exceptions remove the folders (context managers,
``close``, and an atexit hook for the owner folder); kill -9 runs nothing, but the kernel releases the lock,
so the next sandbox or warm server (:func:`sweep_dead_owners`) finds the lock free and removes what was left.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

from codebabel.errors import CodebabelError

_OWNER_PREFIX = "owner-"
_owner: tuple[int, Path, int] | None = None  # (pid, folder, locked fd) of this process's owner folder
_owner_lock = threading.Lock()


def temp_root() -> Path:
    """``$TMPDIR/codebabel-<uid>/`` (mode 0700), refused in one line if someone else owns that path."""
    root = Path(tempfile.gettempdir()) / f"codebabel-{os.geteuid()}"
    try:
        root.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise CodebabelError(f"{root}: not a folder of this user (uid {os.geteuid()}); remove it, or set TMPDIR "
                             "to another folder")
    return root


def _owner_dir() -> Path:
    """This process's folder under :func:`temp_root`, made (with its held lock) on first use; a forked child
    makes its own."""
    global _owner
    with _owner_lock:
        if _owner is not None and _owner[0] == os.getpid() and _owner[1].is_dir():
            return _owner[1]
        root = temp_root()
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".new-", suffix=".lock")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a file no one else has opened: never blocks
        name = _OWNER_PREFIX + Path(tmp).name[len(".new-"):-len(".lock")]
        os.rename(tmp, root / f"{name}.lock")  # locked before a sweep can see it
        folder = root / name
        folder.mkdir(mode=0o700)
        if _owner is None:
            atexit.register(_remove_owner_dir)
        _owner = (os.getpid(), folder, fd)
        return folder


def _remove_owner_dir() -> None:
    """At exit: this process's owner folder and its lock (not a parent's, in a forked child)."""
    global _owner
    if _owner is None or _owner[0] != os.getpid():
        return
    _, folder, fd = _owner
    _owner = None
    shutil.rmtree(folder, ignore_errors=True)
    Path(f"{folder}.lock").unlink(missing_ok=True)
    os.close(fd)


def private_tempdir(prefix: str) -> Path:
    """A new empty folder (mode 0700) in this process's owner folder, e.g. a sandbox's ``/tmp``."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_owner_dir()))


def sweep_dead_owners() -> int:
    """Remove the owner folders under :func:`temp_root` whose process is gone (their lock is free); returns how
    many. Live owners (this process included: flock locks are per open file) are never touched."""
    root = temp_root()
    removed = 0
    for lock in sorted(root.glob(f"{_OWNER_PREFIX}*.lock")):
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:  # removed meanwhile by its owner or another sweep
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its process lives
            os.close(fd)
            continue
        try:
            shutil.rmtree(lock.with_suffix(""), ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    now = time.time()
    for entry in root.iterdir():
        try:
            if entry.name.startswith(_OWNER_PREFIX) and entry.is_dir() and not Path(f"{entry}.lock").exists():
                shutil.rmtree(entry, ignore_errors=True)  # a sweep or an exit cut short between its two steps
                removed += 1
            elif entry.name.startswith(".new-") and now - entry.lstat().st_mtime > 60:
                entry.unlink(missing_ok=True)  # a process killed while making its lock
        except OSError:
            continue
    return removed
