"""A PostgreSQL cluster of the project's own, used when DATABASE_URL is unset.

The machine's PostgreSQL binaries (Debian's `postgresql` package) run a cluster in a data folder
inside the project (``var/pg`` by default). It listens on a Unix socket in that folder and, when
asked, on a loopback port, so it never clashes with another server on the machine. ``initdb``
refuses to run as root, so as root the cluster is initialised and run as the ``postgres`` user
with the folder owned by it. Local connections are trusted: the socket folder is the only way in.
"""

from __future__ import annotations

import fcntl
import grp
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 5432
SUPERUSER = "postgres"
DATABASE = "dcr"


class EmbeddedPostgresError(RuntimeError):
    pass


def _find_bindir() -> Path:
    """The newest installed PostgreSQL's bin folder, or the one holding pg_ctl on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").exists():
            return bindir
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).resolve().parent
    raise EmbeddedPostgresError(
        "PostgreSQL is not installed: run `apt-get install postgresql postgresql-contrib` "
        "or set DATABASE_URL to an existing server."
    )


@dataclass(frozen=True)
class Cluster:
    data_dir: Path
    port: int = DEFAULT_PORT
    listen_address: str = ""  # empty: Unix socket only

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def _run_as(self) -> list[str]:
        # initdb and postgres refuse root; run them as the postgres system user instead.
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SUPERUSER)
            except KeyError as exc:
                raise EmbeddedPostgresError("running as root needs the 'postgres' system user") from exc
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            return [runuser, "-u", SUPERUSER, "--"]
        return []

    def _owner(self) -> tuple[int, int] | None:
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(SUPERUSER)
        return entry.pw_uid, entry.pw_gid

    def _cmd(self, tool: str, *args: str) -> list[str]:
        return [*self._run_as, str(_find_bindir() / tool), *args]

    def database_settings(self, name: str = DATABASE) -> dict[str, object]:
        host = self.listen_address or str(self.socket_dir)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": SUPERUSER,
            "PASSWORD": "",
            "HOST": host,
            "PORT": str(self.port),
        }

    def url(self, name: str = DATABASE) -> str:
        if self.listen_address:
            return f"postgres://{SUPERUSER}@{self.listen_address}:{self.port}/{name}"
        return f"postgres://{SUPERUSER}@/{name}?host={self.socket_dir}&port={self.port}"

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = subprocess.run(self._cmd("pg_ctl", "status", "-D", str(self.pgdata)), capture_output=True)
        return result.returncode == 0

    @contextmanager
    def _lock(self):
        # Several processes (runserver's reloader, pytest-xdist workers) may start at once.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _prepare_folders(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        owner = self._owner()
        if owner:
            for path in (self.data_dir, self.pgdata, self.socket_dir):
                os.chown(path, *owner)
            self.log_file.touch(exist_ok=True)
            os.chown(self.log_file, *owner)
        os.chmod(self.pgdata, 0o700)
        # root (and the project's user) must be able to reach the socket.
        os.chmod(self.data_dir, 0o755)  # noqa: S103
        os.chmod(self.socket_dir, 0o777)  # noqa: S103

    def initialise(self) -> None:
        self._prepare_folders()
        result = subprocess.run(
            self._cmd(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            hint = ""
            if os.geteuid() == 0:
                hint = (
                    f"\nAs root the cluster runs as the '{SUPERUSER}' user, who must be able to reach "
                    f"{self.data_dir}: choose a folder outside a private home (set DCR_PG_DATA_DIR)."
                )
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip()}{hint}")
        settings = (
            f"listen_addresses = '{self.listen_address}'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "fsync = on\n"
            "max_connections = 200\n"
            "shared_buffers = 256MB\n"
            "work_mem = 16MB\n"
            "maintenance_work_mem = 256MB\n"
            "synchronous_commit = on\n"
        )
        with open(self.pgdata / "postgresql.auto.conf", "a") as conf:
            conf.write(settings)
        if self.listen_address:
            with open(self.pgdata / "pg_hba.conf", "a") as hba:
                hba.write(f"host all all {self.listen_address}/32 trust\n")

    def start(self, timeout: float = 30.0) -> None:
        """Initialise on first use, start if stopped, and make sure the database exists."""
        with self._lock():
            if not self.is_initialised():
                self.initialise()
            if not self.is_running():
                self._prepare_folders()
                result = subprocess.run(
                    self._cmd(
                        "pg_ctl",
                        "start",
                        "-D",
                        str(self.pgdata),
                        "-l",
                        str(self.log_file),
                        "-w",
                        "-t",
                        str(int(timeout)),
                        "-o",
                        f"-p {self.port} -k {self.socket_dir} -c listen_addresses='{self.listen_address}'",
                    ),
                    capture_output=True,
                    text=True,
                )
                if result.returncode != 0:
                    log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                    raise EmbeddedPostgresError(f"PostgreSQL did not start: {result.stderr}\n{log}")
            self._wait_ready(timeout)
            self._ensure_database(DATABASE)

    def _psql(self, sql: str, database: str = "postgres") -> str:
        host = self.listen_address or str(self.socket_dir)
        result = subprocess.run(
            [
                str(_find_bindir() / "psql"),
                "-h",
                host,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-Atc",
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(result.stderr.strip())
        return result.stdout.strip()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._psql("select 1")
                return
            except EmbeddedPostgresError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _ensure_database(self, name: str) -> None:
        # name is one of this module's constants, never user input
        if self._psql(f"select 1 from pg_database where datname = '{name}'") != "1":  # noqa: S608
            self._psql(f'create database "{name}"')

    def stop(self) -> None:
        if self.is_running():
            subprocess.run(
                self._cmd("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w"),
                check=True,
                capture_output=True,
            )


FALLBACK_ROOT = Path("/var/lib/dcr")


def reachable_by(user: str, path: Path) -> bool:
    """Whether `user` can traverse every folder down to `path` (judged from owners and mode bits)."""
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid, *(g.gr_gid for g in grp.getgrall() if user in g.gr_mem)}
    for folder in [*reversed(path.parents), path]:
        if not folder.exists():
            break
        info = folder.stat()
        if info.st_uid == entry.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def effective_data_dir(data_dir: Path) -> Path:
    """The folder the cluster really lives in.

    As root the cluster runs as 'postgres', which cannot enter a private folder (a clone under a 0700
    mktemp folder, or /root). Then the data lives under /var/lib/dcr, in a folder named after the project
    path, and `data_dir` becomes a symlink to it so it is still found where one looks.
    """
    data_dir = data_dir.resolve()
    if os.geteuid() != 0 or reachable_by(SUPERUSER, data_dir.parent):
        return data_dir
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:10]  # noqa: S324 - a name, not security
    target = FALLBACK_ROOT / f"{data_dir.name}-{digest}"
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(FALLBACK_ROOT, 0o755)  # noqa: S103 - 'postgres' must traverse it
    if not data_dir.exists() and not data_dir.is_symlink():
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        data_dir.symlink_to(target)
    return target


def default_cluster(base_dir: Path) -> Cluster:
    data_dir = Path(os.environ.get("DCR_PG_DATA_DIR", base_dir / "var" / "pg"))
    port = int(os.environ.get("DCR_PG_PORT", DEFAULT_PORT))
    listen = os.environ.get("DCR_PG_LISTEN", "")
    return Cluster(data_dir=effective_data_dir(data_dir), port=port, listen_address=listen)


def main(argv: list[str]) -> int:
    """`python -m dcr.embedded_pg start|stop|status|url`, for scripts."""
    base_dir = Path(__file__).resolve().parent.parent
    cluster = default_cluster(base_dir)
    action = argv[0] if argv else "status"
    if action == "start":
        cluster.start()
        print(cluster.url())
    elif action == "stop":
        cluster.stop()
        print("stopped")
    elif action == "url":
        print(cluster.url())
    elif action == "status":
        print("running" if cluster.is_running() else "stopped")
        return 0 if cluster.is_running() else 3
    else:
        print("usage: python -m dcr.embedded_pg start|stop|status|url", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
