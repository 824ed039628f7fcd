"""The descriptor set Envoy's transcoder loads: the contracts image without source info, plus
google/rpc/status.proto and error_details.proto (convert_grpc_status renders the details the
services send, e.g. google.rpc.BadRequest, only for types in the set).

    python -m stint_runtime.edge.descriptors gen/stint.binpb deploy/k8s/components/edge/stint.binpb

Comments are of no use to the transcoder, and without them the ConfigMap holding the set stays
far below the 256 KiB that `kubectl apply` can keep in its last-applied annotation.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

# Files the error bodies need beyond the contracts (and what they import).
ERROR_FILES: tuple[FileDescriptor, ...] = (status_pb2.DESCRIPTOR, error_details_pb2.DESCRIPTOR)


def add_with_dependencies(
    files: descriptor_pb2.FileDescriptorSet, file: FileDescriptor, present: set[str]
) -> None:
    """Appends `file` after its dependencies, each once (a pool is built in this order)."""
    if file.name in present:
        return
    for dependency in file.dependencies:
        add_with_dependencies(files, dependency, present)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    files.file.append(proto)
    present.add(file.name)


def edge_descriptor_set(image: bytes) -> bytes:
    """`image` (a FileDescriptorSet with imports) without source code info, with the error
    detail types; deterministic."""
    files = descriptor_pb2.FileDescriptorSet.FromString(image)
    for file in files.file:
        file.ClearField("source_code_info")
    present = {file.name for file in files.file}
    for extra in ERROR_FILES:
        add_with_dependencies(files, extra, present)
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
