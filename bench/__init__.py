"""The command line of the tracking-server benchmark: one module per verb under `bench.verbs`."""
