"""What an operator sees: ``/healthz``, Prometheus metrics at ``/metrics``,
and one JSON log line per request."""
