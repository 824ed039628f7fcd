"""MongoDB persistence: units of work, the transactional outbox and its relay, durable timers."""
