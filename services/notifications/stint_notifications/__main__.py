"""`python -m stint_notifications`: serve until SIGTERM (settings from the environment)."""

import asyncio

from stint_runtime.settings import load_settings

from stint_notifications.entrypoints.app import NotificationsService

if __name__ == "__main__":
    service = NotificationsService(load_settings("notifications"))
    raise SystemExit(asyncio.run(service.run_until_signalled()))
