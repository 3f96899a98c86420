"""Two gunicorn processes without ``REDIS_URL`` (issue 12): each runs embedded automation
(an in-process queue and worker thread), yet a workflow fires exactly once per change,
because one process at a time holds the relay lease. PostgreSQL (TESSERA_TEST_DATABASE_URL)
required; in CI its absence fails the run.
"""

from __future__ import annotations

import uuid

import pytest
from mp_site import all_counted, create_items, install_site, items, run_count
from multiproc_helpers import Cluster, wait_for


@pytest.fixture(scope="module")
def embedded(pg_url, tmp_path_factory):
    """2 gunicorn processes, no REDIS_URL (embedded automation): (tessera, token, cluster)."""
    tmp = tmp_path_factory.mktemp("embedded")
    t, token = install_site(pg_url, tmp)
    c = Cluster(tmp, pg_url, None, {"TESSERA_CSRF": False})
    try:
        c.start_web(2)
        c.wait_ready(2)
        yield t, token, c
    finally:
        c.stop()
        t.engine.dispose()


def test_embedded_automation_runs_once_with_two_web_processes(embedded):
    """Each process has its in-process queue and worker thread; one relay holder feeds them."""
    t, token, c = embedded
    since = len(c.log_lines())
    names = [f"e{i}-{uuid.uuid4().hex[:4]}" for i in range(16)]
    create_items(c, token, "name", names)
    assert len(c.pids("/api/v1/mp/item", 201, "POST", since)) == 2, "one process took every write"
    rows = wait_for(lambda: all_counted(t, len(names)), 20, "every item counted")
    wait_for(lambda: run_count(t) == len(names), 5, "one run per item")
    # a second relay or worker would double some count a moment later
    with pytest.raises(AssertionError):
        wait_for(lambda: any(r["hits"] != 1 for r in items(t)), 1.0, "a doubled run")
    assert {r["hits"] for r in rows} == {1}
    assert run_count(t) == len(names)
    c.check_alive()
