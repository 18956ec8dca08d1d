"""A freshly migrated SQLite file for the real servers the tests start (tests/browser,
tests/rooms/live.py): `manage.py migrate` runs once per test session, and each server gets a
copy of its result (migrating a new file costs ~10 s; copying it, milliseconds)."""

import atexit
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_migrated: str | None = None


def migrated_copy(path: str | os.PathLike, env: dict) -> None:
    """Make `path` a migrated, empty CONTORL database, as `migrate` on a new file would."""
    global _migrated
    if _migrated is None:
        workdir = tempfile.mkdtemp(prefix="contorl-migrated-")
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
        template = os.path.join(workdir, "migrated.sqlite3")
        result = subprocess.run(  # noqa: S603 (fixed argv)
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
            cwd=ROOT,
            env={**env, "SQLITE_PATH": template},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py migrate failed:\n{result.stdout}\n{result.stderr}")
        _migrated = template
    # The backup API, not a file copy: it reads the database as SQLite sees it (WAL included).
    with closing(sqlite3.connect(_migrated)) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)
