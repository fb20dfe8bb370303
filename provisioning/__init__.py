"""First-boot and fleet helpers: data directory, box identity, trust anchors, models."""
