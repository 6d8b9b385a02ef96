"""Processes: controller, agent, cockpit, cluster watch; HTTP, TLS, configuration and the CLI."""
