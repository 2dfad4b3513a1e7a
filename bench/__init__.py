"""PETBench: a harness that crosses tasks with parameter-efficient tuning methods."""

__version__ = "0.1.0"
