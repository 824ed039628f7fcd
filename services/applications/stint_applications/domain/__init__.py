"""Applications, engagements, seats and listing snapshots: plain Python, no drivers or protobuf."""
