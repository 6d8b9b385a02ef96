"""Agents: the Controller's view of each Agent, and the Agent's own state and events."""
