"""Who listens: subscribers of the decision stream (logger, Prometheus)."""
