"""The spec layer: experiment models, spec files, overrides, checks and forms (imports only the base: errors, registry)."""
