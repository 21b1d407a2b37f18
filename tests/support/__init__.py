"""Helpers shared by tests that drive real processes: child processes and bounded waits, headless
Chromium over the DevTools protocol, a stand-in for Home Assistant's ingress proxy."""
