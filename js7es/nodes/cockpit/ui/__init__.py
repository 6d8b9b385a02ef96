"""The Cockpit's web UI at ``/``: server-rendered pages (Jinja2) with htmx and Server-Sent Events.

Every read and every change goes through the JOC API in the same process (`api.JocApi`: the API's own
routes over an in-process ASGI transport, with the session's token), so that the permission checks, the
folder permissions and the audit trail are the API's, exactly as JOC's GUI uses JOC's API. Live updates
come from the projection: the projector's batch signal wakes the page's event stream (live.py).
"""
