"""`perf`: weight-free speed and memory of every method beside its peer."""
