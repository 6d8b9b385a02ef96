"""The Cockpit's read side: pure query functions from the projected tables (schema.py) to JOC's JSON
shapes, one small module per family of JOC endpoints.

Every function is synchronous, takes a `Connection` or an `Engine` (`common.Db`) and returns dicts
ready for JSON (numbers of order arguments stay `Decimal`: write them with
`js7es.domain.value.dumps`). No HTTP and no models here: the JOC API layer parses the request, checks
permissions and passes the account's folders as `folders` (None = unrestricted), which every query
applies inside its SQL, before any LIMIT.

- orders.py: /orders, /order, /orders/overview/snapshot (counts per state), /orders/overview/summary
- history.py: /orders/history, /tasks/history, /order/history
- logs.py: /task/log, /task/log/running, /order/log
- workflows.py: /workflows, /workflow
- agents.py: /agents; controllers.py: /controllers, /controller
"""
