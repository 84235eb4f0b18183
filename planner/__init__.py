"""planner: an optimization-based sourcing planner for critical minerals."""

__version__ = "0.1.0"
