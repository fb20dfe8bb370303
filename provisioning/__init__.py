"""First-boot helpers that need no box: installing the package-shipped models."""
