"""The use cases: one plain function per RPC, consumed event and timer."""
