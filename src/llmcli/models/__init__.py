"""Models: the registry of names and aliases, built-in offline defaults, and loading."""
