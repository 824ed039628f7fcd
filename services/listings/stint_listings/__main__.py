"""`python -m stint_listings`: serve listings until SIGTERM (settings from the environment)."""

from stint_runtime.service import run_service

from stint_listings.entrypoints.app import build

if __name__ == "__main__":
    run_service("listings", build)
