"""The one error type for bad site configuration or series: it always names the field."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value that cannot be planned with.

    ``field`` is a dotted path such as ``batteries[0].capacity_kwh`` so a person can find the value
    in their YAML; ``problem`` says what is wrong in plain words.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)
