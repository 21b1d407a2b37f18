"""Sub-commands of ``shems-optimizer``; one module per command."""
