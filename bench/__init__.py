"""Issue 6's benchmarks against the stack `make up` runs: `make bench` or `python -m bench`."""
