"""Orders: their states, outcomes and events, one pure `apply`, and the event source that decides."""
