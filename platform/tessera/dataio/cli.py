"""``flask --app app import`` and ``flask --app app export``.

import: exit 1 with the per-row report on stderr when a row is refused and
``--skip-invalid`` is not given (then nothing is written); with it, the good rows are
imported and the refused ones reported on stderr (exit 0). ``--dry-run`` only reports
(exit 1 when a row would be refused).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from tessera.errors import TesseraError


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _parse_maps(maps: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in maps:
        column, eq, key = item.partition("=")
        if not eq or not column.strip():
            _fail(f"--map {item!r}: expected COLUMN=FIELD (FIELD empty to ignore the column)")
        out[column.strip()] = key.strip() or None
    return out


@click.command("import")
@with_appcontext
@click.argument("app_id")
@click.argument("rt_key")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--map", "maps", multiple=True, help="COLUMN=FIELD (repeatable); FIELD empty ignores")
@click.option("--match", "match", multiple=True, help="match field (repeatable; a+b for both)")
@click.option("--on-match", type=click.Choice(["skip", "update", "create"]), default="skip")
@click.option("--encoding", default=None, help="file encoding (default: detected)")
@click.option("--sheet", default=None, help="XLSX sheet name (default: the first)")
@click.option("--skip-invalid", is_flag=True, help="import good rows, report refused ones")
@click.option("--dry-run", is_flag=True, help="only report what would happen")
@click.option("--create-missing", is_flag=True, help="create link targets named but missing")
@click.option(
    "--workflows", type=click.Choice(["none", "per_row", "summary"]), default="none",
    help="whether imported rows fire workflows",
)  # fmt: skip
def import_cmd(app_id, rt_key, file, maps, match, on_match, encoding, sheet, skip_invalid,
               dry_run, create_missing, workflows) -> None:  # fmt: skip
    """Import a CSV/TSV/XLSX FILE into record type RT_KEY of app APP_ID."""
    from tessera.dataio import mapping as mapping_mod
    from tessera.dataio import service
    from tessera.dataio.importer import ImportOptions, format_problem
    from tessera.dataio.readers import open_table

    t = current_app.extensions["tessera"]
    try:
        app, rt, _ = t.records.resolve(app_id, rt_key)
        table = open_table(file, encoding=encoding, sheet=sheet, max_bytes=service.max_bytes(t))
        table.close()
    except TesseraError as exc:
        _fail(f"import refused: {exc}")
    remembered = service.remembered_mapping(t, app_id, rt_key)
    chosen = mapping_mod.suggest(app, rt, table.headers, remembered)
    chosen.update(_parse_maps(maps))
    defaults = mapping_mod.import_defaults(app, rt)
    options = ImportOptions(
        mapping=chosen, match=list(match) or defaults["match"], on_match=on_match,
        encoding=encoding, sheet=sheet, skip_invalid=skip_invalid, workflows=workflows,
        create_missing=create_missing,
    )  # fmt: skip
    try:
        job_id = service.create_job(t, app_id, rt_key, Path(file), Path(file).name, options, None)
        result = service.execute(t, job_id, "check" if dry_run else "run")
    except (TesseraError, ValueError) as exc:
        _fail(f"import refused: {exc}")
    job = service.get_job(t, job_id)
    if result is None:
        _fail(f"import #{job_id} failed: {job['error']}")
    used = ", ".join(f"{c} → {k}" for c, k in chosen.items() if k)
    click.echo(f"mapping: {used}", err=True)
    for p in result.problems:
        click.echo(format_problem(p), err=True)
    c = result.counts
    summary = (
        f"{c['rows']} rows: {c['created']} created, {c['updated']} updated, "
        f"{c['skipped']} skipped, {c['refused']} refused"
    )
    if c["links_created"]:
        summary += f", {c['links_created']} linked records created"
    if dry_run:
        click.echo(f"import #{job_id} (dry run, nothing written): {summary}")
        sys.exit(0 if result.ok else 1)
    if not result.written or (not result.ok and not skip_invalid):
        _fail(f"import #{job_id} refused, nothing written: {summary}")
    click.echo(f"import #{job_id}: {summary}")


@click.command("export")
@with_appcontext
@click.argument("app_id")
@click.argument("view_key")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None)
@click.option("--locale", default="en", help="language of headers and labels (en, zh-CN)")
def export_cmd(app_id, view_key, fmt, output, locale) -> None:
    """Export view VIEW_KEY of app APP_ID (its filter, sort and columns) as CSV or XLSX."""
    from tessera.dataio.export import export_view

    t = current_app.extensions["tessera"]
    if fmt == "xlsx" and not output:
        _fail("--format xlsx needs -o FILE (a workbook is not written to the terminal)")
    try:
        if output:
            with open(output, "wb") as fh:
                n = export_view(t, app_id, view_key, fmt, fh, user_id=None, locale=locale)
            click.echo(f"{n} rows written to {output}", err=True)
        else:
            export_view(t, app_id, view_key, fmt, sys.stdout.buffer, user_id=None, locale=locale)
    except TesseraError as exc:
        _fail(f"export refused: {exc}")


def register(app) -> None:
    """Attach the import and export commands."""
    app.cli.add_command(import_cmd)
    app.cli.add_command(export_cmd)
