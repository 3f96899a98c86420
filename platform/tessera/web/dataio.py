"""Import wizard and view export in the browser.

Steps: upload (``/a/<app>/import/<type>``) → preview + mapping + options
(``/imports/<id>``) → dry run in the background with a progress bar → report
(downloadable CSV with an error column) → import with a progress bar, cancel → result
and undo. The page polls ``/imports/<id>/progress`` (JSON). Export:
``/a/<app>/v/<view>/export?format=csv|xlsx`` with the table's own query arguments
(search, quick filters, sort). Every step calls :mod:`tessera.dataio.service`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from tessera.dataio import mapping, report, service
from tessera.dataio import merge as merge_mod
from tessera.dataio.export import csv_chunks, view_rows, write_xlsx
from tessera.dataio.importer import ImportOptions
from tessera.dataio.readers import FileProblem, open_table
from tessera.errors import Conflict, TesseraError
from tessera.fields import for_field
from tessera.web import common
from tessera.web.hostile import maybe_int
from tessera.web.i18n import label_locale, user_zone

bp = Blueprint("dataio", __name__)
common.protect(bp)

TRANSLATIONS = Path(__file__).resolve().parent / "translations_dataio"
PREVIEW_ROWS = 8
ENCODINGS = ("", "utf-8", "gb18030", "utf-16", "big5", "latin-1")
STATUS = {
    "pending": lazy_gettext("Waiting for the mapping"),
    "checking": lazy_gettext("Checking"),
    "checked": lazy_gettext("Check finished"),
    "running": lazy_gettext("Importing"),
    "done": lazy_gettext("Import finished"),
    "refused": lazy_gettext("Refused: nothing was imported"),
    "failed": lazy_gettext("Failed"),
    "cancelled": lazy_gettext("Cancelled"),
    "undone": lazy_gettext("Undone"),
}


@bp.context_processor
def _helpers() -> dict:
    return {"status_label": lambda status: STATUS.get(status, status)}


def init_app(app) -> None:
    """Let import uploads exceed MAX_CONTENT_LENGTH, up to IMPORT_MAX_BYTES.

    Registered first among the app's before_request hooks, because the CSRF check reads
    the form (and so the upload) under the limit in force when it runs.
    """
    app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)


def _upload_limit() -> None:
    if request.endpoint == "dataio.upload":
        request.max_content_length = service.max_bytes(_t()) + 1024 * 1024


@bp.get("/a/<app_id>/import/<rt_key>")
def upload_form(app_id: str, rt_key: str):
    """Step 1: choose a file."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    jobs = [j for j in service.recent_jobs(_t(), app.id) if j["created_by"] == common.me()]
    return render_template("dataio/upload.html", app=app, rt=rt, jobs=jobs, encodings=ENCODINGS)


@bp.post("/a/<app_id>/import/<rt_key>")
def upload(app_id: str, rt_key: str):
    """Keep the upload, read its header, create the job with a suggested mapping."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Choose a file to import."), "error")
        return redirect(url_for(".upload_form", app_id=app.id, rt_key=rt.key))
    t = _t()
    encoding = request.form.get("encoding") or None
    try:
        path = service.keep_upload(t, file.stream, file.filename)
        headers = _headers(t, path, encoding, request.form.get("sheet") or None, file.filename)
    except FileProblem as exc:
        flash(_("The file cannot be imported: %(why)s", why=str(exc)), "error")
        return redirect(url_for(".upload_form", app_id=app.id, rt_key=rt.key))
    remembered = service.remembered_mapping(t, app.id, rt.key)
    options = ImportOptions(
        mapping=mapping.suggest(app, rt, headers, remembered),
        match=mapping.import_defaults(app, rt)["match"],
        encoding=encoding,
        sheet=request.form.get("sheet") or None,
    )
    job = service.create_job(t, app.id, rt.key, path, file.filename, options, common.me())
    return redirect(url_for(".job", job_id=job))


def _headers(t, path, encoding, sheet, name) -> list[str]:
    table = open_table(
        path, encoding=encoding, sheet=sheet, max_bytes=service.max_bytes(t), name=name
    )
    table.close()
    return table.headers


@bp.get("/imports/<int:job_id>")
def job(job_id: int):
    """The wizard page for the job's current step."""
    t = _t()
    j = _job(job_id)
    app = common.meta(j["app_id"])
    rt = common.record_type(app, j["record_type"])
    options = ImportOptions.from_json(j["options"])
    preview = _preview(t, j, options) if j["status"] == "pending" else None
    return render_template(
        "dataio/job.html", app=app, rt=rt, job=j, options=options, preview=preview,
        fields=mapping.importable_fields(rt), keys=_match_choices(app, rt),
        links=_link_choices(app, rt),
    )  # fmt: skip


def _link_choices(app, rt) -> list[tuple]:
    """(link field, target record type, fields of the target a link cell may name)."""
    out = []
    for f in rt.fields:
        if f.type in ("link", "link_many") and app.has_record_type(f.opt("to")):
            target = app.record_type(f.opt("to"))
            usable = [t for t in target.fields if t.type in ("text", "email", "phone", "url")
                      or t.unique]  # fmt: skip
            out.append((f, target, [t for t in usable if t.key != target.title]))
    return out


def _preview(t, j, options) -> dict | None:
    try:
        table = open_table(j["file_path"], encoding=options.encoding, sheet=options.sheet,
                           max_bytes=service.max_bytes(t), name=j["file_name"])  # fmt: skip
    except FileProblem as exc:
        return {"error": str(exc)}
    try:
        rows = []
        for _number, cells in table.rows:
            rows.append(["" if c is None else str(c) for c in cells[: len(table.headers)]])
            if len(rows) >= PREVIEW_ROWS:
                break
    finally:
        table.close()
    return {"headers": table.headers, "rows": rows, "encoding": table.encoding}


def _match_choices(app, rt) -> list[str]:
    declared = mapping.import_defaults(app, rt)["match"]
    usual = [f.key for f in rt.fields if f.type in ("phone", "email", "text") or f.unique]
    return list(dict.fromkeys([*declared, *usual]))


@bp.post("/imports/<int:job_id>/check")
def check(job_id: int):
    """Save the mapping and options, then start the dry run."""
    j = _job(job_id)
    app = common.meta(j["app_id"])
    rt = common.record_type(app, j["record_type"])
    options = ImportOptions.from_json(j["options"])
    form = request.form
    try:  # the columns in file order (the form numbers them so)
        headers = _headers(_t(), j["file_path"], options.encoding, options.sheet, j["file_name"])
    except FileProblem as exc:
        flash(str(exc), "error")
        return redirect(url_for(".job", job_id=job_id))
    options.mapping = {h: (form.get(f"map.{i}") or None) for i, h in enumerate(headers)}
    options.match = form.getlist("match")
    options.on_match = form.get("on_match", "skip")
    options.skip_invalid = form.get("skip_invalid") == "1"
    options.create_missing = form.get("create_missing") == "1"
    options.workflows = form.get("workflows", "none")
    options.link_by = {
        k.removeprefix("link_by."): v
        for k, v in form.items()
        if k.startswith("link_by.") and v and v != "title"
    }
    problems = mapping.check(rt, headers, options.mapping) + options.problems()
    service.update_options(_t(), job_id, options)
    if problems:
        for p in problems:
            flash(p, "error")
        return redirect(url_for(".job", job_id=job_id))
    service.start(_t(), job_id, "check")
    return redirect(url_for(".job", job_id=job_id))


@bp.post("/imports/<int:job_id>/edit")
def edit(job_id: int):
    """Back to the mapping step."""
    _job(job_id)
    service.update_job(_t(), job_id, status="pending")
    return redirect(url_for(".job", job_id=job_id))


@bp.post("/imports/<int:job_id>/run")
def run(job_id: int):
    """Start the import (after a dry run)."""
    j = _job(job_id)
    if j["status"] != "checked":
        abort(409, _("Run the check first."))
    service.start(_t(), job_id, "run")
    return redirect(url_for(".job", job_id=job_id))


@bp.post("/imports/<int:job_id>/cancel")
def cancel(job_id: int):
    """Stop a running job (what it wrote is undone)."""
    _job(job_id)
    service.cancel(_t(), job_id)
    return redirect(url_for(".job", job_id=job_id))


@bp.post("/imports/<int:job_id>/undo")
def undo(job_id: int):
    """Undo a finished import as a whole."""
    _job(job_id)
    try:
        counts = service.undo(_t(), job_id, common.me())
    except Conflict as exc:
        flash(str(exc), "error")
    except TesseraError as exc:
        flash(str(exc), "error")
    else:
        flash(
            _("Import undone: %(deleted)d records deleted, %(restored)d restored.", **counts), "ok"
        )
    return redirect(url_for(".job", job_id=job_id))


@bp.get("/imports/<int:job_id>/progress")
def progress(job_id: int):
    """JSON progress for the page's poller."""
    j = _job(job_id)
    total = j["total_rows"] or None
    if total:
        percent = min(100, round(100 * j["processed"] / total))
    else:
        percent = None if j["fraction"] is None else round(100 * j["fraction"])
    return {
        "status": j["status"],
        "processed": j["processed"],
        "total": total,
        "percent": percent,
        "counts": j["counts"] or {},
        "error": j["error"],
    }


@bp.get("/imports/<int:job_id>/report.csv")
def report_csv(job_id: int):
    """The refused rows as the file had them, plus an error column."""
    j = _job(job_id)
    body = report.refused_rows_csv(_t(), j)
    name = f"import-{job_id}-report.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@bp.get("/a/<app_id>/v/<view_key>/export")
def export(app_id: str, view_key: str):
    """The view as CSV or XLSX, with the page's search, quick filters and sort."""
    from tessera.web.views import quick_filter, sort_arg

    app = common.meta(app_id)
    v = common.view(app, view_key)
    if v.record_type is None:
        abort(404, _("A dashboard has no rows to export; export one of its views."))
    rt = app.record_type(v.record_type)
    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    extra = quick_filter(rt)
    headers, rows, sheet = view_rows(
        _t(), app.id, v, user_id=common.me(), locale=label_locale(),
        extra_filter={"all": extra} if extra else None, sort=sort_arg(v) or None,
        q=request.args.get("q") or None, zone=user_zone(),
    )  # fmt: skip
    disposition = {"Content-Disposition": f'attachment; filename="{app.id}-{v.key}.{fmt}"'}
    if fmt == "csv":  # streamed as it is read: the download starts at once
        body = stream_with_context(csv_chunks(headers, rows))
        return Response(body, mimetype="text/csv; charset=utf-8", headers=disposition)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (closed by _chunks)
    write_xlsx(headers, rows, spool, sheet=sheet)  # a zip: written whole, then sent
    spool.seek(0)
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(_chunks(spool), mimetype=mime, headers=disposition)


@bp.get("/a/<app_id>/duplicates/<rt_key>")
def duplicates(app_id: str, rt_key: str):
    """Likely duplicate groups, each with a merge form."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    groups = merge_mod.find_duplicates(_t(), app.id, rt.key, common.me())
    fields = [f for f in rt.fields if not for_field(f).computed]
    return render_template("dataio/duplicates.html", app=app, rt=rt, groups=groups, fields=fields)


@bp.post("/a/<app_id>/duplicates/<rt_key>/merge")
def merge_records(app_id: str, rt_key: str):
    """Merge the posted records into the chosen survivor."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    ids = [maybe_int(i) for i in request.form.getlist("ids")]
    if None in ids:
        abort(400, _("Records to merge are named by their numbers (ids)."))
    keep = request.form.get("keep", type=maybe_int)
    chosen = {
        f.key: number
        for f in rt.fields
        if (number := maybe_int(request.form.get(f"value.{f.key}", ""))) is not None
    }
    if keep is None or keep not in ids:
        flash(_("Choose the record to keep."), "error")
    else:
        merged = merge_mod.merge(_t(), app.id, rt.key, keep, ids, chosen, common.actor())
        flash(
            _(
                "%(n)d records merged into %(title)s.",
                n=len(ids),
                title=present_title(app, rt, merged),
            ),
            "ok",
        )
    return redirect(url_for(".duplicates", app_id=app.id, rt_key=rt.key))


def present_title(_app, rt, record) -> str:
    """The record's title text."""
    from tessera.web import present

    return present.title(rt, record)


def _chunks(spool):
    try:
        while chunk := spool.read(256 * 1024):
            yield chunk
    finally:
        spool.close()


def _t():
    return common.engine_objects()


def _job(job_id: int) -> dict:
    try:
        service.reap_stale(_t(), job_id=job_id)  # a job whose process died ends here
        j = service.get_job(_t(), job_id)
    except TesseraError:
        abort(404, _("That import does not exist."))
    if j["created_by"] != common.me():
        abort(404, _("That import does not exist."))
    return j
