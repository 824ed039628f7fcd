"""Infrastructure for development and tests: embedded servers, containers or external ones."""
