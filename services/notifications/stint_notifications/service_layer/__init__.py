"""Use cases: one plain function per RPC, consumed event, timer and delivery step."""
