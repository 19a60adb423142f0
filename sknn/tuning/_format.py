"""How the stages round the values they derive and print the values they tried."""

from __future__ import annotations

from numbers import Real


def _tidy(value):
    """Round a float to 6 significant digits, so 0.1 * 2 prints as 0.2."""
    return float(f"{value:.6g}")


def _fmt(value):
    """A number as ``%g`` (0.001, 2.5, 1e-05), anything else as its repr."""
    return f"{value:g}" if isinstance(value, Real) else repr(value)
