"""The Controller: holds workflows and orders, orchestrates the Agents."""
