"""Real Redis and a real Celery worker for the tests that depend on the queue. No mocks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_redis(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    while True:
        try:
            if client.ping():
                return
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def running_redis() -> Iterator[str]:
    """REDIS_URL when set (CI starts one); otherwise a private redis-server on a free loopback port."""
    url = os.environ.get("REDIS_URL")
    if url:
        _wait_for_redis(url)
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run the README's test command, which installs it")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_redis(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def database_url(settings_dict: dict) -> str:
    host = settings_dict["HOST"] or "localhost"
    user = settings_dict["USER"]
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    name = settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{name}?host={host}&port={settings_dict['PORT'] or 5432}"
    return f"postgres://{user}{password}@{host}:{settings_dict['PORT'] or 5432}/{name}"


class CeleryWorker:
    """A `celery -A dcr worker` process on a queue of its own, reading the test database."""

    def __init__(self, redis_url: str, db_settings: dict, concurrency: int = 1):
        self.redis_url = redis_url
        self.queue = f"dcr-test-{uuid.uuid4().hex[:8]}"
        self.db_settings = db_settings
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / "test-logs" / f"{self.queue}.log"

    def start(self, timeout: float = 30.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dcr.settings.base",
            "DATABASE_URL": database_url(self.db_settings),
            "REDIS_URL": self.redis_url,
            "DCR_EMBEDDED_AUTOSTART": "0",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        pool = (
            ["--pool=solo"]
            if self.concurrency == 1
            else ["--pool=prefork", f"--concurrency={self.concurrency}"]
        )
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dcr",
                "worker",
                *pool,
                "-Q",
                self.queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                "-n",
                f"{self.queue}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while "ready." not in self.log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """As a crash would: SIGKILL, no chance to finish or acknowledge."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "log", None):
            self.log.close()
