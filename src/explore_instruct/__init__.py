"""EXPLORE-INSTRUCT: explore a domain as a tree of tasks and generate instruction-tuning data."""

__version__ = "0.1.0"
