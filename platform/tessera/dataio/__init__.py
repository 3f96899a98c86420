"""Data in and out: file readers, column mapping, the import runner, dedupe and export.

Files are parsed into rows here; rows reach the database only through the records
service (``Records.bulk_create`` / ``bulk_update``), and exports read only through the
query layer, so validation, audit and the access policy apply to both.
"""
