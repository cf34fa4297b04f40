"""Admin-editable dialog files: the model, loader (with schema checks) and linter."""
