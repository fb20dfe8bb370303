"""Storage: one module per table family, each the only place that writes SQL for its tables."""
