"""What the `stint` operator commands do: dead-letter topics, outbox and failed timers."""

from __future__ import annotations


class OperatorError(Exception):
    """A refusal or failure the command reports as `stint: <message>` with its exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


# Exit codes: 0 done, 1 failed (unreachable, missing topic, bad settings), 2 bad arguments
# (argparse), 3 refused: nothing matched (an unknown event id, a record that is not parked).
EXIT_FAILED = 1
EXIT_REFUSED = 3
