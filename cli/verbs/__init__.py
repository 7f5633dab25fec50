"""One module per command-line verb; each exposes `add_arguments(parser)` and `main(args) -> int`."""
