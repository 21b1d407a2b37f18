"""The site: how the home is described (site document, schedules) and how that becomes the core model."""
