"""Tests of the Home Assistant integration, run with Home Assistant's own test harness."""
