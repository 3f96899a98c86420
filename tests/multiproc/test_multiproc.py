"""Several processes, one deployment (issue 12): real gunicorn, real RQ workers, PostgreSQL.

With Redis: gunicorn with 2 processes + 2 ``flask --app app worker`` processes. A workflow
fires exactly once per change when records are created through both web processes; a CLI
``template upgrade`` (a renamed field) is served by both web processes and run by the
workers without a restart; sign-in throttling holds across the web processes.
(test_multiproc_embedded.py: the same without Redis.) Needs TESSERA_TEST_DATABASE_URL and a Redis
(TESSERA_TEST_REDIS_URL); in CI a missing or unreachable one fails the run.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from mp_site import (
    THROTTLE,
    V2,
    all_counted,
    create_items,
    flush,
    install_site,
    redis_or_fail,
    run_count,
)
from multiproc_helpers import FLASK, REPO, Cluster, wait_for


@pytest.fixture(scope="module")
def redis_url():
    """The test Redis database, flushed around the module."""
    url = redis_or_fail()
    yield url
    flush(url)


@pytest.fixture(scope="module")
def deployment(pg_url, redis_url, tmp_path_factory):
    """2 gunicorn processes + 2 RQ workers on PostgreSQL and Redis: (tessera, token, cluster)."""
    tmp = tmp_path_factory.mktemp("multiproc")
    t, token = install_site(pg_url, tmp)
    c = Cluster(tmp, pg_url, redis_url, {"TESSERA_CSRF": False, **THROTTLE})
    try:
        c.start_web(2)
        c.start_workers(2)
        c.wait_ready(2)
        yield t, token, c
    finally:
        c.stop()
        t.engine.dispose()


def test_workflow_runs_once_and_upgrade_reaches_every_process(deployment, tmp_path):
    t, token, c = deployment

    # -- each change fires its workflow once, whichever web process took the write
    since = len(c.log_lines())
    names = [f"a{i}" for i in range(16)]
    create_items(c, token, "name", names)
    assert len(c.pids("/api/v1/mp/item", 201, "POST", since)) == 2, "one process took every write"
    rows = wait_for(lambda: all_counted(t, len(names)), 20, "every item counted")
    c.check_alive()
    wait_for(lambda: run_count(t) == len(names), 5, "one run per item")
    assert sorted(r["name"] for r in rows) == sorted(names)
    assert {r["hits"] for r in rows} == {1}, [(r["name"], r["hits"]) for r in rows]

    # -- a CLI upgrade (field renamed) is served by both web processes without a restart
    source = tmp_path / "mp-v2.yaml"
    source.write_text(yaml.safe_dump(V2))
    done = subprocess.run(
        [FLASK, "--app", "app", "template", "upgrade", str(source)],
        cwd=REPO, env=c.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    since = len(c.log_lines())
    worker_marks = [p.stat().st_size for p in c.worker_logs]
    auth = {"Authorization": f"Bearer {token}"}
    reads = c.parallel([("GET", "/api/v1/mp/item?limit=5", None, auth)] * 12)
    for status, _, body in reads:
        assert status == 200, body[:300]
        first = json.loads(body)["data"][0]
        assert "title" in first and "name" not in first, first
    assert len(c.pids("/api/v1/mp/item", 200, "GET", since)) == 2

    # ... and run by the workers: the v2 workflow reads the renamed field
    new = [f"b{i}" for i in range(12)]
    create_items(c, token, "title", new)
    assert len(c.pids("/api/v1/mp/item", 201, "POST", since)) == 2
    total = len(names) + len(new)

    def echoed():
        rows = all_counted(t, total)
        return rows if rows and all(r["echo"] for r in rows if r["title"] in new) else None

    rows = wait_for(echoed, 20, "the v2 workflow on every new item")
    assert {r["title"]: r["echo"] for r in rows if r["title"] in new} == {n: n for n in new}
    assert {r["hits"] for r in rows} == {1}
    grew = [p.stat().st_size > mark for p, mark in zip(c.worker_logs, worker_marks, strict=True)]
    assert any(grew), "no worker logged a job after the upgrade"
    c.check_alive()
    assert "Traceback" not in "".join(p.read_text(errors="replace") for p in c.worker_logs)


def test_sign_in_throttling_is_shared_by_the_web_processes(deployment):
    c = deployment[2]
    wrong = {"username": "ann", "password": "wrong-password", "next": "/"}
    form = {"Content-Type": "form"}
    for _ in range(2):
        assert c.request("POST", "/login", wrong, form)[0] == 401
    since = len(c.log_lines())
    # every process now refuses the account, the right password included: the two
    # failures it must wait after were counted (in Redis) by whichever process saw them
    right = {**wrong, "password": "password123"}
    # the kernel may hand a burst to one process: send bursts until both have answered
    for _ in range(8):
        answers = c.parallel([("POST", "/login", right if i % 3 == 0 else wrong, form)
                              for i in range(10)])  # fmt: skip
        assert [a[0] for a in answers] == [429] * 10
        assert all(int(a[1]["Retry-After"]) > 0 for a in answers)
        if len(c.pids("/login", 429, "POST", since)) == 2:
            break
    assert len(c.pids("/login", 429, "POST", since)) == 2, "one process answered every attempt"
