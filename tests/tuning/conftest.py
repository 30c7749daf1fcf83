"""A throw-away PostgreSQL server for the multi-worker tests: initdb in a temporary folder, 127.0.0.1, a free port.

Debian's `postgresql` package provides initdb and pg_ctl (`.ci/run` installs it when missing).
PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user. Without
the server binaries the tests that need it skip, except under CI, where they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

USER, PASSWORD, DATABASE = "tuner", "s3cret-pw", "hpo"


def _binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's initdb/pg_ctl are missing under CI: .ci/run should have installed the postgresql package")
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed: apt-get install postgresql")
    pytest.importorskip("psycopg")
    import psycopg

    folder = Path(tempfile.mkdtemp(prefix="tujie-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server will not run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                    "--no-sync"], check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start"],
                   check=True, capture_output=True)
    try:
        with psycopg.connect(host=str(folder), port=port, user="postgres", dbname="postgres", autocommit=True) as db:
            db.execute(f"CREATE USER {USER} WITH PASSWORD '{PASSWORD}'")
            db.execute(f"CREATE DATABASE {DATABASE} OWNER {USER}")
        yield f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
