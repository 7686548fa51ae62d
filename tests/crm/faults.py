"""Real parts for the fault tests: a redis-server of the test's own, and Celery pointed at it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from kombu import pools as kombu_pools

from crm.celery import app as celery_app

# Spare ports of this test module (6379 is the shared development Redis).
REDIS_PORTS = range(6390, 6400)


class RedisServer:
    """A throw-away redis-server (no persistence) that a test can stop and start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed argument list
            [
                str(shutil.which("redis-server")), "--port", str(self.port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def free_redis_server() -> RedisServer:
    """A started server on the first spare port nobody listens on."""
    for port in REDIS_PORTS:
        try:
            redis.Redis(port=port, socket_connect_timeout=0.2).ping()
        except redis.exceptions.ConnectionError:
            server = RedisServer(port)
            server.start()
            return server
    raise RuntimeError("no spare Redis port free in 6390–6399")


def _drop_broker_connections() -> None:
    """Forget pooled broker connections, bound to the old URL: kombu's global producer and
    connection pools, and the app's own (the same reset Celery does after a fork)."""
    kombu_pools.reset()
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextmanager
def celery_broker(url: str) -> Iterator[Any]:
    """Celery publishes to `url` and does not run tasks eagerly, for the duration."""
    conf = celery_app.conf
    saved = {key: conf[key] for key in ("broker_url", "task_always_eager")}
    _drop_broker_connections()
    conf.update(broker_url=url, task_always_eager=False)
    try:
        yield celery_app
    finally:
        _drop_broker_connections()
        conf.update(saved)


class WorkerProcess:
    """`celery -A crm worker` as a child process on its own queue, its output collected."""

    def __init__(self, *, broker_url: str, database_url: str, queue: str, cwd: str) -> None:
        env = os.environ | {"DATABASE_URL": database_url, "REDIS_URL": broker_url}
        self.queue = queue
        self.lines: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603 - fixed argument list
            [
                sys.executable, "-m", "celery", "-A", "crm", "worker",
                # prefork with one child: the child is what the test kills
                "--pool=prefork", "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h",
                "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def children(self) -> list[int]:
        """Process ids of the pool's children (from /proc: no psutil needed)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=5)
        print(self.output[-5000:])  # shown by pytest when the test fails


def wait_for(condition: Any, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.1)
