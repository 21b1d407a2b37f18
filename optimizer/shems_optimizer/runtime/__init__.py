"""Runtime: what every layer may use and that knows nothing of energy.

Structured logs, background tasks, the blocking-call thread, health probes, the watchdog, small
files and JSON encoding. Nothing here imports another part of the engine.
"""
