"""``flask --app app worker`` and ``flask --app app workflow install|list|runs|retry|...``."""

from __future__ import annotations

import json
import logging
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from tessera.errors import TesseraError

workflow_cli = AppGroup("workflow", help="Install recipes, list workflows and runs, retry runs.")


def _t():
    return current_app.extensions["tessera"]


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit when the queue is empty (tests, cron).")
@click.option("--name", default=None, help="Worker name (default: host:pid:random).")
@click.option("--no-relay", is_flag=True, help="Do not relay outbox events from this process.")
@with_appcontext
def worker_cmd(burst: bool, name: str | None, no_relay: bool) -> None:
    """Run an automation worker (RQ) against REDIS_URL; it outlives Redis and DB outages.

    No process is forked (jobs run in this process; scheduled jobs are moved by the relay
    holder), so a killed worker leaves nothing behind. When Redis goes away the worker
    waits and reconnects with backoff (logged once per outage) instead of exiting.
    """
    auto = _t().automation
    if auto.embedded:
        _fail(
            "the worker needs REDIS_URL (e.g. redis://127.0.0.1:6379/0); without it the web "
            "process runs automation itself (AUTOMATION_EMBEDDED)"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _t().engine.dispose()  # nothing pooled before the loop (a fork must not share sockets)
    if burst:
        from tessera.automation import schedule

        schedule.plan_all(auto)
        auto.tick()
        auto.sweep()
    elif not no_relay:
        auto.start(worker=False)  # relay + sweep thread beside the worker (one holder relays)
    try:
        _work(auto, name, burst)
    finally:
        auto.stop()


def _work(auto, name: str | None, burst: bool) -> None:
    """RQ's work loop, started again (new name suffix) whenever Redis dropped it."""
    import time

    from redis.exceptions import RedisError

    log = logging.getLogger("tessera.automation")
    incarnation, backoff = 0, 0.2
    while True:
        worker = None
        try:
            worker = auto.make_worker(f"{name}.{incarnation}" if name and incarnation else name)
            worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
        except (OSError, RedisError) as exc:  # RQ's teardown itself may need Redis
            log.warning("automation worker: Redis away (%s)", exc.__class__.__name__)
        except Exception:  # noqa: BLE001 - a worker outlives what it meets; say what it was
            log.exception("automation worker: the RQ loop failed; starting it again")
        if burst or (worker is not None and worker._stop_requested):
            return
        log.warning("automation worker: RQ loop ended (Redis away?); reconnecting")
        while not _redis_up(auto):
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
        log.warning("automation worker: Redis reachable again; resuming")
        incarnation, backoff = incarnation + 1, 0.2


def _redis_up(auto) -> bool:
    try:
        return bool(auto.redis.ping())
    except Exception:  # noqa: BLE001 - any failure means not yet
        return False


@workflow_cli.command("recipes")
def recipes_cmd() -> None:
    """List the recipes in workflows/ with their parameters."""
    from tessera.automation.recipes import list_recipes

    for r in list_recipes():
        params = ", ".join(
            p["key"] + ("*" if p.get("required") else f"={p.get('default', '')}")
            for p in r["params"]
        )
        click.echo(f"{r['key']}: {params}")


@workflow_cli.command("install")
@click.argument("recipe")
@click.option("--app", "app_id", required=True, help="App id the record type belongs to.")
@click.option("--record-type", "record_type", required=True, help="Record type to install onto.")
@click.option("--param", "params", multiple=True, help="k=v (repeatable).")
@click.option("--key", default=None, help="Workflow key (default: <recipe>_<record type>).")
@with_appcontext
def install_cmd(
    recipe: str, app_id: str, record_type: str, params: tuple[str, ...], key: str | None
) -> None:
    """Install RECIPE (a key in workflows/ or a path) onto a record type."""
    from tessera.automation.recipes import install_recipe

    values = {}
    for item in params:
        if "=" not in item:
            _fail(f"--param {item!r}: write it as name=value")
        k, _, v = item.partition("=")
        values[k.strip()] = v
    try:
        wf_key = install_recipe(_t(), app_id, record_type, recipe, values, key=key)
    except TesseraError as exc:
        _fail(str(exc))
    click.echo(f"installed workflow {wf_key} on {app_id}.{record_type}")


@workflow_cli.command("list")
@click.argument("app_id")
@with_appcontext
def list_cmd(app_id: str) -> None:
    """List the workflows of APP_ID with trigger, state and failed runs."""
    from tessera.automation.runs import list_workflows

    try:
        rows = list_workflows(_t(), app_id)
    except TesseraError as exc:
        _fail(str(exc))
    for w in rows:
        state = "paused" if w["paused"] else ("enabled" if w["enabled"] else "disabled")
        click.echo(
            f"{w['key']}\t{w['trigger'].get('on')}\t{w['record_type'] or '-'}\t{state}"
            f"\tfailed={w['failed_runs']}"
        )
        if w["warning"]:
            click.echo(f"  warning: {w['warning']}")


@workflow_cli.command("runs")
@click.option("--app", "app_id", default=None)
@click.option("--workflow", "workflow_key", default=None)
@click.option("--status", default=None)
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def runs_cmd(app_id, workflow_key, status, limit, as_json) -> None:
    """List recent runs (newest first)."""
    from tessera.automation.runs import list_runs

    rows = list_runs(_t(), app_id=app_id, workflow_key=workflow_key, status=status, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    for r in rows:
        click.echo(
            f"#{r['id']}\t{r['app_id']}.{r['workflow_key']}\t{r['trigger']}\trecord={r['record_id']}"
            f"\t{r['status']}\tattempt={r['attempt']}\t{r['error'] or ''}"
        )


@workflow_cli.command("retry")
@click.argument("run_id", type=int)
@with_appcontext
def retry_cmd(run_id: int) -> None:
    """Re-run a failed run from its failed step."""
    from tessera.automation.runs import retry_run

    try:
        retry_run(_t(), run_id)
    except TesseraError as exc:
        _fail(str(exc))
    click.echo(f"run {run_id} queued again")


@workflow_cli.command("pause")
@click.argument("app_id")
@click.argument("key")
@with_appcontext
def pause_cmd(app_id: str, key: str) -> None:
    """Pause workflow KEY of APP_ID."""
    from tessera.automation.runs import pause_workflow

    try:
        pause_workflow(_t(), app_id, key)
    except TesseraError as exc:
        _fail(str(exc))
    click.echo(f"{app_id}.{key} paused")


@workflow_cli.command("resume")
@click.argument("app_id")
@click.argument("key")
@with_appcontext
def resume_cmd(app_id: str, key: str) -> None:
    """Resume workflow KEY of APP_ID."""
    from tessera.automation.runs import resume_workflow

    try:
        resume_workflow(_t(), app_id, key)
    except TesseraError as exc:
        _fail(str(exc))
    click.echo(f"{app_id}.{key} resumed")


@workflow_cli.command("test")
@click.argument("app_id")
@click.argument("key")
@click.option("--record", "record_id", type=int, default=None)
@with_appcontext
def test_cmd(app_id: str, key: str, record_id: int | None) -> None:
    """Dry-run workflow KEY against a record: what each action would do."""
    from tessera.automation.runs import test_workflow

    try:
        result = test_workflow(_t(), app_id, key, record_id)
    except TesseraError as exc:
        _fail(str(exc))
    click.echo(json.dumps(result, default=str, indent=2, ensure_ascii=False))


def register(app) -> None:
    """Attach ``worker`` and the ``workflow`` group to the Flask CLI."""
    app.cli.add_command(worker_cmd)
    app.cli.add_command(workflow_cli)
