"""The listing aggregate, its rules and events: plain Python, no drivers, no protobuf."""
