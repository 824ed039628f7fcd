"""The notifications service: contacts, preferences, skill alerts, inbox, email and webhooks."""
