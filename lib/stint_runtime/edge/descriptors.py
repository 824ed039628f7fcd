"""The descriptor set Envoy's transcoder loads: the contracts image without source info.

    python -m stint_runtime.edge.descriptors gen/stint.binpb deploy/k8s/components/edge/stint.binpb

Comments are of no use to the transcoder, and without them the ConfigMap holding the set stays
far below the 256 KiB that `kubectl apply` can keep in its last-applied annotation.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from google.protobuf import descriptor_pb2


def edge_descriptor_set(image: bytes) -> bytes:
    """`image` (a FileDescriptorSet with imports) without source code info, deterministic."""
    files = descriptor_pb2.FileDescriptorSet.FromString(image)
    for file in files.file:
        file.ClearField("source_code_info")
    return files.SerializeToString(deterministic=True)


def write_edge_descriptor_set(image: Path, out: Path) -> None:
    out.write_bytes(edge_descriptor_set(image.read_bytes()))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    write_edge_descriptor_set(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
