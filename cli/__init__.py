"""The command line, `./run.sh [VERB] [OPTIONS]`: one module per verb in `cli/verbs/`."""
