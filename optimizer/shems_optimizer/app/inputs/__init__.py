"""Inputs of a planning run: the forecasts made from the stored history, and scenario files."""
