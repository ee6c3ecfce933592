"""The project's own PostgreSQL, used when DATABASE_URL is unset, really starts, serves and stops."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from dcr.embedded_pg import Cluster, effective_data_dir
from tests.services import ROOT, free_port


@pytest.fixture
def tmp_path():
    """A folder the 'postgres' user can reach (as root the cluster runs as that user)."""
    path = Path(tempfile.mkdtemp(prefix="dcr-pg-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def cluster(tmp_path):
    # Its own folder and port: never the developer's var/pg, never another test's cluster.
    cluster = Cluster(data_dir=tmp_path / "pg", port=free_port())
    yield cluster
    cluster.stop()


def test_starts_on_first_use_and_serves_a_query_with_pg_trgm(cluster):
    cluster.start()

    with psycopg.connect(cluster.url()) as conn:
        conn.execute("create extension if not exists pg_trgm")
        similarity = conn.execute("select similarity('Smith', 'Smyth')").fetchone()[0]
    assert cluster.is_running()
    assert 0 < similarity < 1


def test_stops_cleanly_and_starts_again_with_its_data(cluster):
    cluster.start()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("create table kept (value text)")
        conn.execute("insert into kept values ('still here')")

    cluster.stop()
    assert not cluster.is_running()
    cluster.start()

    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("select value from kept").fetchone() == ("still here",)


def test_listens_on_loopback_only_when_asked(tmp_path):
    cluster = Cluster(data_dir=tmp_path / "pg", port=free_port(), listen_address="127.0.0.1")
    try:
        cluster.start()
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/dcr") as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        cluster.stop()


def test_manage_py_uses_it_when_database_url_is_unset(tmp_path):
    """A newcomer's first command: no DATABASE_URL, and Django still reaches a PostgreSQL of its own."""
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DCR_PG_DATA_DIR": str(tmp_path / "pg"),
        "DCR_PG_PORT": str(port),
    }
    try:
        result = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from django.db import connection; c = connection.cursor(); c.execute('select version()');"
                "print(c.fetchone()[0])",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "PostgreSQL 1" in result.stdout
    finally:
        Cluster(data_dir=tmp_path / "pg", port=port).stop()


def test_a_private_project_folder_still_gets_a_data_folder_the_server_can_reach(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)

    data_dir = effective_data_dir(private / "var" / "pg")

    try:
        if os.geteuid() == 0:  # the server runs as 'postgres', who cannot enter `private`
            assert str(data_dir).startswith("/var/lib/dcr/")
            assert (private / "var" / "pg").resolve() == data_dir
        else:  # the server runs as this user, who can
            assert data_dir == (private / "var" / "pg").resolve()
        cluster = Cluster(data_dir=data_dir, port=free_port())
        cluster.start()
        assert cluster.is_running()
        cluster.stop()
    finally:
        if str(data_dir).startswith("/var/lib/dcr/"):
            shutil.rmtree(data_dir, ignore_errors=True)
