"""The sandbox, without Flask: the limits, admission and the warm pool, the
bubblewrap command builder, the fork server's client, the runner that feeds
and watches a run, the stream parser (untrusted bytes to the trace model) and
the status decision. ``service.Sandbox`` is what the web layer calls."""
