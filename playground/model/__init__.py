"""The trace model (contract v1) and its compact columnar form: plain
dataclasses, the standard library only."""
