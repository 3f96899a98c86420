"""Storage: Meta -> SQLAlchemy Core tables, system tables, migrations and app installs."""
