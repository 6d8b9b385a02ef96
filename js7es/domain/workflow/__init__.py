"""Workflows in JS7's JSON form: instructions, jobs, positions, parameters."""
