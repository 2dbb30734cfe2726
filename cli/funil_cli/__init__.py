"""The `funil` command line: the operator's HTTP API (docs/operator-api.md) from a terminal."""
