"""Search: ``GET /search`` over competitions and entries here, writers in users."""
