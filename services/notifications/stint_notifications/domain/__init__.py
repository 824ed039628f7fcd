"""The notifications domain: plain Python, no drivers."""
