"""Errors raised by the forecasting code: each names the column or setting at fault."""

from __future__ import annotations


class SeriesError(ValueError):
    """A time series cannot be used as given (wrong unit, no time zone, too short, ...)."""
