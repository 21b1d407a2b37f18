"""Home Assistant: entity states over REST, service calls, and the planning inputs read from entities."""
