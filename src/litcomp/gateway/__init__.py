"""The gateway: the one entry point. Routes, balances, breaks circuits, limits rates."""
