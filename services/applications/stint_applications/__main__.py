"""`python -m stint_applications`: serve until SIGTERM (settings from the environment)."""

from stint_runtime.service import run_service

from stint_applications.entrypoints.app import build

if __name__ == "__main__":
    run_service("applications", build)
