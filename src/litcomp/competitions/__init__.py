"""The competitions service: competitions, entries, likes, comments and results."""
