"""The Cockpit's read side: exactly-once projections of each Controller's event stream into SQLite or
PostgreSQL (ARCHITECTURE §7; JOC's history service in reference/joc-cockpit.md §5).

- `schema` — the tables (SQLAlchemy Core), keyed by Controller (multi-client);
- `database` — engines for SQLite and PostgreSQL, Alembic migrations, table digests, log reading;
- `projector` — `Projector.apply(controller_id, events)`: one transaction per batch with the stored
  EventId; redelivered and duplicate events change nothing;
- `batch` — how one batch moves the rows (orders through the domain's `apply_order`);
- `writers` — how the rows reach the database: executemany, or COPY on PostgreSQL in a rebuild;
- `carry` — the rows a rebuild keeps in memory from one batch to the next;
- `rebuild` — drop one Controller's read model and replay a journal directory or any event source.

The HTTP follower that feeds it lives in js7es.nodes.cockpit.
"""
