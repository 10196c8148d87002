"""The reaper: finds expired and orphaned clusters of the provider, and deletes them when armed."""
