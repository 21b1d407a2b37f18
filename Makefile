# SHEMS — the two commands of the README, plus helpers.
.PHONY: demo test build shell check

PYTHON ?= python3
DEMO_VENV ?= .cache/demo-venv

# Plan 48 h for a sample home on the bundled real data (host Python >= 3.11, no services needed).
demo:
	@scripts/demo

# Build or reuse the hermetic environment and run lint, types and the whole test suite in it.
test:
	@scripts/dev test

build:
	@scripts/dev build

shell:
	@scripts/dev shell

# Run the checks with your own Python >= 3.13 and services (see README: "Your own services").
check:
	@scripts/check
