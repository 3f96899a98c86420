"""Local customisations survive template upgrades: stable ids and a three-way merge.

``identity`` gives record types, fields and options ids that last through renames
(kept beside each stored version, never written in YAML); ``three_way`` merges the
author's installed version (base), the customised installed one (local) and the
author's new version (theirs) property by property; ``service`` reads the three from
the database and applies the merged result through the ordinary upgrade.
"""
