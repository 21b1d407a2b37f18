"""SHEMS engine: forecasting, planning, storage, ingestion, dispatch and the add-on API.

The engine is importable without Home Assistant; the integration in ``custom_components/shems``
talks to it only over the add-on's HTTP/WebSocket API. The import name ``shems_optimizer`` is
unique to this project (a bare ``optimizer`` package would collide in site-packages).
"""

__version__ = "0.1.0"
