"""`python -m tools.bench [name ...]`: run the named benchmarks, or all of them."""

from __future__ import annotations

import sys

from tools.bench import BENCHMARKS


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - BENCHMARKS.keys())
    if unknown:
        print(f"unknown benchmarks {unknown}; known: {sorted(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
