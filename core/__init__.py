"""The bottom layer: errors, paths and the typed records every stage reads and writes."""
