"""Photo files that follow their transaction: a rollback removes them, a commit keeps them.

A photo's row is flushed first; its file is then written under a temporary name, synced
and renamed into place before the transaction commits, so a committed row always has its
file (accepted data is never lost). If the transaction rolls back instead, the files it
placed are removed (also when the session is closed without a commit), so a failed
request leaves no orphan. Only a crash between the rename and the commit can leave an
unreferenced file behind, which is harmless.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

PENDING = "gridsvc_pending_photo_files"


def place_file(session: Session, target: Path, content: bytes) -> None:
    """Write ``content`` at ``target`` durably; the session's rollback will remove it."""
    watch(session)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    try:
        with open(partial, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)  # a reader never sees half a photo
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    sync_directory(target.parent)
    session.info.setdefault(PENDING, []).append(target)


def sync_directory(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def watch(session: Session) -> None:
    """Listen to the session's commit and rollback, once per session."""
    if session.info.get(f"{PENDING}_watched"):
        return
    session.info[f"{PENDING}_watched"] = True
    event.listen(session, "after_commit", forget_files)
    # A rollback, or a close without commit: after_commit has not claimed the files.
    event.listen(session, "after_transaction_end", remove_files)


def forget_files(session: Session) -> None:
    """Forget the files of a committed transaction: they belong to committed rows."""
    session.info.pop(PENDING, None)


def remove_files(session: Session, transaction: SessionTransaction) -> None:
    """Remove the files an outermost transaction placed when it ends without a commit."""
    if transaction.parent is not None:
        return  # an inner savepoint; the rows of the outer transaction may still commit
    for path in session.info.pop(PENDING, []):
        Path(path).unlink(missing_ok=True)
