"""Wiring: the one place that composes the service from its parts (the top of the engine's layers).

:mod:`~shems_optimizer.wiring.process` builds every component from a
:class:`~shems_optimizer.app.config.ServiceConfig`, hands the adapters to the application and the
application to the API, then starts and stops them; :mod:`~shems_optimizer.wiring.testing` runs it
in-process for tests.
"""
