"""`python -m stint_payouts`: serve until SIGTERM (settings from the environment)."""

import asyncio

from stint_runtime.settings import load_settings

from stint_payouts.entrypoints.app import PayoutsService

if __name__ == "__main__":
    raise SystemExit(asyncio.run(PayoutsService(load_settings("payouts")).run_until_signalled()))
