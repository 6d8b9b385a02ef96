"""Read models built from the event stream: Cockpit tables, Kafka export, replay and audit tools."""
