"""Access: teams, role assignments, sharing and the rules that scope every read and write.

Roles are declared in templates (``roles:``); who holds which role in which app, which
teams exist and who belongs to them, and which records are shared, live in the system
tables of :mod:`tessera.access.tables`. The rest of this package compiles a user's
rules into the SQL condition :func:`tessera.query.policy.scoped_select` applies and the
write checks the records service calls. Web, API, export and automation ask it; none of
them checks ``is_admin`` or ownership on its own.
"""
