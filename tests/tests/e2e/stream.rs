//! Live updates through the gateway (GET /api/v1/stream): who sees which bus events.
