"""The Cockpit's own event-sourced store (ARCHITECTURE §7), on the `eventsourcing` library's persistence
layer: its application recorders (in-memory POPO, SQLite, PostgreSQL) hold our events, mapped by
`mapper.RecordMapper` to `StoredEvent`s whose topic is the event's TYPE (the domain's codec, not a
module path). The domain (js7es/domain/cockpit) decides and applies; this package loads and appends.

API (store.py)::

    store = CockpitStore.open("sqlite:///data/cockpit-store.sqlite")   # or "memory:", "postgresql://…",
    store = CockpitStore.open(StoreSettings.parse(url, schema="tenant")) # settings.py
    store.execute(keys.account("alice"), StoreAccount(roles=("it_operator",)), meta)
        -> list[CockpitRecord] | Problem    # all events appended, or none; [] when nothing changes
    store.record_login(account, address, succeeded=..., meta=...)
    store.bootstrap_root(password_hash, meta, default_roles) -> bool   # only on a store without IAM events
    store.recover_unanswered(meta) -> list[request_id]                 # at the active Cockpit's start
    store.iam() -> IamState            # in memory, refreshed from newer notifications on each call
    store.load(key) -> (version, state);  store.events(key) -> list[CockpitRecord]
    store.notifications(after_id, limit) -> list[CockpitRecord]        # the total order, for followers
    store.last_notification_id() -> int;  store.wait(after_id, timeout_s) -> bool
    store.close()

Aggregate ids are uuid5 of the stable key (``account:<name>``, ``role:<name>``, ``settings:<section>``,
``identity-service:<name>``, ``command:<request_id>``, ``login:<id>``). An append carries each touched
aggregate's next version (originator_version): another writer's append to one of them makes it fail as
a whole, and `execute` decides again on the newer state. Notification ids are the store's total order
(the recorders commit them in order: SQLite has one writer, PostgreSQL's recorder locks the table).
"""
