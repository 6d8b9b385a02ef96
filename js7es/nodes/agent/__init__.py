"""The Agent: a Director that keeps its own journal and runs orders with its local Subagent."""
