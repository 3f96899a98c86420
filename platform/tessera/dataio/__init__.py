"""Data in and out: file readers, column mapping, the import runner, dedupe, merge, export.

Files are parsed into rows here; rows reach the database only through the records
service (``Records.bulk_create`` / ``bulk_update`` / ``update`` / ``delete``; an undo
deletes unlinked rows a batch at a time with the service's audit writer), and
exports and the duplicate finder read only through the query layer, so validation,
audit and the access policy apply to all of them.

Modules: ``readers`` (CSV/TSV/XLSX, encodings, headers), ``mapping`` (column → field
suggestions, template ``import`` defaults), ``importer`` (the runner), ``dedupe`` (match
keys), ``undo``, ``service`` (import jobs), ``jobs`` (RQ entry point), ``report`` (the
refused rows as CSV), ``export``, ``merge`` (duplicate finder and merge), ``checks``
(template checks), ``tables`` (system tables), ``cli``.

Settings (app config or environment):

- ``IMPORT_MAX_BYTES``: the largest file an import reads (default 200 MB); browser
  uploads may exceed ``MAX_CONTENT_LENGTH`` up to it;
- ``IMPORT_DIR``: where uploads wait for their import (default ``instance/imports``);
  with ``REDIS_URL`` it must be storage every worker sees;
- ``IMPORT_MATCH_INDEX_MAX``: record types up to this many records are matched against
  an in-memory key index built once per pass (default 300,000); larger ones with one
  SQL lookup per batch;
- ``IMPORT_STALE_SECONDS``: a running import whose heartbeat (renewed every quarter of
  it) stops this long lost its process; it is failed and undone when next looked at
  (default 300).
"""

SETTINGS = (
    "IMPORT_MAX_BYTES",
    "IMPORT_DIR",
    "IMPORT_MATCH_INDEX_MAX",
    "IMPORT_STALE_SECONDS",
)
