"""Examples of integrating with Stint from outside the services."""
