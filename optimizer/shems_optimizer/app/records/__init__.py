"""Records: the typed rows every store keeps, and the repository interface its back-ends implement.

The application speaks to a store only through :class:`~shems_optimizer.app.records.repository.Repository`;
SQLite and TimescaleDB implement it in ``adapters/store``.
"""
