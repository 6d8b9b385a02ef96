"""The pure model of js7es: workflows, orders, items, events, expressions.

Only the standard library may be imported here (a test enforces it). Time and ids come in through a
context argument, so that replaying a journal is deterministic.
"""
