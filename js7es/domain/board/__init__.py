"""Notice boards (JS7's js7.data.board): GlobalBoard and PlannableBoard items, notices, their state."""
