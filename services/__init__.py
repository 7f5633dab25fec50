"""Targets and how to run them: the registry, server environments, databases and the launcher."""
