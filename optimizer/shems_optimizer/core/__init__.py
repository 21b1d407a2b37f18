"""Core: the typed model of a home and the mathematics that plans it.

The site model, the tariff, the planning horizon, the forecasters, the optimizer and the control
rules that turn a plan step into device set-points. Pure computation on typed values: no I/O, no
network, no database, no HTTP; only numpy, pandas, highspy, pulp, scikit-learn, voluptuous and holidays
from outside (see the import contracts in ``pyproject.toml``).
"""
