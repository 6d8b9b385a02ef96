"""File order sources (JS7's OrderWatch / FileWatch): the item, its events and its state on both sides."""
