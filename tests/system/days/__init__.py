"""Simulated days: a whole home run through 48 h of simulated time with SHEMS in charge."""
