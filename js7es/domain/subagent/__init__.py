"""The Director ↔ Subagent protocol (JS7's js7-data subagent package)."""
