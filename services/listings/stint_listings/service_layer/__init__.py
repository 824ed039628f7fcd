"""Use cases: commands in, aggregate changes saved with their events."""
