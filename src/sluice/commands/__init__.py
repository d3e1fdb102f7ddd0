"""Sub-commands of the ``sluice`` CLI, one module per group."""
