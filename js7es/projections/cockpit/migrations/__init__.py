"""Alembic migrations of the Cockpit's read model (applied on start and by `js7es cockpit migrate`)."""
