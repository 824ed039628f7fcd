"""Compile proto/ into the importable contracts package under gen/ (python, grpc, typed stubs)."""

from __future__ import annotations

import ast
import importlib.resources
import inspect
import shutil
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
GEN_DIR = ROOT / "gen"
IMAGE = GEN_DIR / "stint.binpb"
VALIDATE_SET = GEN_DIR / "validate.binpb"
VALIDATE_PROTO = "buf/validate/validate.proto"
MYPY_PLUGINS = ("mypy", "mypy_grpc")


def contract_files() -> list[str]:
    """Every .proto of ours, relative to proto/ (what protoc calls its import path)."""
    return sorted(str(p.relative_to(PROTO_DIR)) for p in (PROTO_DIR / "stint").rglob("*.proto"))


def validate_descriptor() -> bytes:
    """The serialized descriptor of buf/validate/validate.proto, as shipped inside protovalidate.

    protovalidate carries no .proto source, only generated code holding the descriptor bytes.
    """
    from protovalidate._gen.buf.validate import validate_pb

    tree = ast.parse(inspect.getsource(validate_pb))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "file_desc":
            literal = node.args[0]
            if isinstance(literal, ast.Constant) and isinstance(literal.value, bytes):
                return literal.value
    raise RuntimeError("protovalidate no longer embeds validate.proto's descriptor")


def write_validate_set() -> None:
    fds = descriptor_pb2.FileDescriptorSet()
    fds.file.add().ParseFromString(validate_descriptor())
    VALIDATE_SET.write_bytes(fds.SerializeToString())


def run_protoc(*args: str) -> None:
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    bindir = Path(sys.executable).parent
    plugins = [f"--plugin=protoc-gen-{name}={bindir / f'protoc-gen-{name}'}" for name in MYPY_PLUGINS]
    argv = ["protoc", *plugins, f"--descriptor_set_in={VALIDATE_SET}", f"-I{PROTO_DIR}", f"-I{include}"]
    argv += args
    if protoc.main(argv) != 0:
        raise SystemExit(f"protoc failed: {' '.join(args[:3])}...")


def add_package_markers() -> None:
    for top in ("stint", "buf"):
        for folder in [GEN_DIR / top, *(p for p in (GEN_DIR / top).rglob("*") if p.is_dir())]:
            (folder / "__init__.py").touch()
    (GEN_DIR / "stint" / "py.typed").touch()


def main() -> None:
    files = contract_files()
    if not files:
        raise SystemExit("no .proto files under proto/stint")
    shutil.rmtree(GEN_DIR, ignore_errors=True)
    GEN_DIR.mkdir()
    write_validate_set()
    out = str(GEN_DIR)
    run_protoc(
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *files,
        VALIDATE_PROTO,
    )
    run_protoc("--include_imports", "--include_source_info", f"-o{IMAGE}", *files)
    add_package_markers()
    print(f"generated {len(files)} contract files into {GEN_DIR.relative_to(ROOT)}/", file=sys.stderr)


if __name__ == "__main__":
    main()
