"""Compile proto/ into the importable contracts package under gen/ (python, grpc, typed stubs).

Also writes gen/stint.binpb (the descriptor image buf lints), gen/stint/descriptor_set.binpb
(the same image published inside the contracts package: every Stint file with its imports and
source info, i.e. the proto comments; servers' reflection serves it, gateways and transcoders
load it), gen/stint/topics.py (topic constants read from the `(stint.common.v1.event)` options)
and gen/asyncapi.json.

    python tools/protogen.py                   # what `make proto` runs
    python tools/protogen.py --check           # then buf lint + breaking check against the baseline
    python tools/protogen.py --write-baseline  # then make this contract set the released baseline
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.resources
import inspect
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

# The contracts package's resource name; lib/stint_runtime/grpc/reflection.py reads it.
DESCRIPTOR_SET_NAME = "descriptor_set.binpb"

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
GEN_DIR = ROOT / "gen"
IMAGE = GEN_DIR / "stint.binpb"
DESCRIPTOR_SET = GEN_DIR / "stint" / DESCRIPTOR_SET_NAME
VALIDATE_SET = GEN_DIR / "validate.binpb"
TOPICS_MODULE = GEN_DIR / "stint" / "topics.py"
ASYNCAPI = GEN_DIR / "asyncapi.json"
BUF_CONFIG = PROTO_DIR / "buf.yaml"
BASELINE = PROTO_DIR / "baseline" / "stint-v1.binpb"
BUF = Path(sys.executable).parent / "buf"
VALIDATE_PROTO = "buf/validate/validate.proto"
EVENT_OPTION = "stint.common.v1.event"
MYPY_PLUGINS = ("mypy", "mypy_grpc")
TOPIC_NAME = re.compile(r"^([a-z][a-z0-9_]*)\.v[1-9][0-9]*$")


class ContractError(Exception):
    """The contracts break a rule the code generation relies on."""


def contract_files(proto_dir: Path = PROTO_DIR) -> list[str]:
    """Every .proto of ours, relative to proto/ (what protoc calls its import path)."""
    return sorted(str(p.relative_to(proto_dir)) for p in (proto_dir / "stint").rglob("*.proto"))


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


def write_validate_set(path: Path = VALIDATE_SET) -> None:
    fds = descriptor_pb2.FileDescriptorSet()
    fds.file.add().ParseFromString(validate_descriptor())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fds.SerializeToString())


def run_protoc(*args: str, proto_dir: Path = PROTO_DIR, validate_set: Path = VALIDATE_SET) -> None:
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    # google/api/annotations.proto and http.proto, as shipped by googleapis-common-protos.
    googleapis = str(Path(importlib.import_module("google.api.http_pb2").__file__ or "").parents[2])
    bindir = Path(sys.executable).parent
    plugins = [
        f"--plugin=protoc-gen-{name}={bindir / f'protoc-gen-{name}'}" for name in MYPY_PLUGINS
    ]
    argv = [
        "protoc",
        *plugins,
        f"--descriptor_set_in={validate_set}",
        f"-I{proto_dir}",
        f"-I{include}",
        f"-I{googleapis}",
    ]
    argv += args
    if protoc.main(argv) != 0:
        raise SystemExit(f"protoc failed: {' '.join(args[:3])}...")


def build_image(out: Path, proto_dir: Path = PROTO_DIR) -> None:
    """Compile proto_dir's contracts into a descriptor image (with imports and source info)."""
    validate_set = out.with_name("validate.binpb")
    write_validate_set(validate_set)
    files = contract_files(proto_dir)
    run_protoc(
        "--include_imports",
        "--include_source_info",
        f"-o{out}",
        *files,
        proto_dir=proto_dir,
        validate_set=validate_set,
    )


def load_image(path: Path = IMAGE) -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


def ours(image: descriptor_pb2.FileDescriptorSet) -> list[descriptor_pb2.FileDescriptorProto]:
    """The files of the image that are Stint contracts (not validate.proto or google/*)."""
    return [f for f in image.file if f.name.startswith("stint/")]


def event_files(
    image: descriptor_pb2.FileDescriptorSet,
) -> list[descriptor_pb2.FileDescriptorProto]:
    """The per-service events.proto files (the common envelope file declares no events)."""
    return [
        f
        for f in ours(image)
        if f.name.endswith("/events.proto") and f.package != "stint.common.v1"
    ]


def event_topics(image: descriptor_pb2.FileDescriptorSet) -> dict[str, str]:
    """Event full name -> topic, from each event message's `(stint.common.v1.event)` option.

    Needs the generated stint.common.v1.events_pb2 importable: it registers the option.
    """
    if str(GEN_DIR) not in sys.path:
        # The editable install lists gen/ on sys.path only if it existed when Python started,
        # which is not the case on the first generation in a fresh clone.
        sys.path.insert(0, str(GEN_DIR))
        importlib.invalidate_caches()
    events_pb2 = importlib.import_module("stint.common.v1.events_pb2")
    option = events_pb2.event
    topics: dict[str, str] = {}
    for file in event_files(image):
        for message in file.message_type:
            name = f"{file.package}.{message.name}"
            # Parse the options again: the image may have been read before the option was known.
            options = descriptor_pb2.MessageOptions.FromString(message.options.SerializeToString())
            if not options.HasExtension(option):
                raise ContractError(f"{file.name}: {name} lacks option ({EVENT_OPTION}).topic")
            topic = str(options.Extensions[option].topic)
            if not TOPIC_NAME.match(topic):
                raise ContractError(f"{file.name}: {name} has a malformed topic {topic!r}")
            topics[name] = topic
    if not topics:
        raise ContractError("no event messages found")
    return topics


def topic_constant(topic: str) -> str:
    match = TOPIC_NAME.match(topic)
    if match is None:
        raise ContractError(f"malformed topic {topic!r}")
    return match.group(1).upper()


def topics_module_source(topics: dict[str, str]) -> str:
    """Source of gen/stint/topics.py: one constant per topic, ALL, and EVENT_TOPICS."""
    names = {topic: topic_constant(topic) for topic in sorted(set(topics.values()))}
    lines = [
        '"""Kafka topics of the Stint contracts. Generated by tools/protogen.py: do not edit."""',
        "",
        "from typing import Final",
        "",
    ]
    lines += [f'{constant}: Final = "{topic}"' for topic, constant in names.items()]
    members = ", ".join(names.values()) + ("," if len(names) == 1 else "")
    lines += ["", f"ALL: Final[tuple[str, ...]] = ({members})", ""]
    lines.append("# Full name of every event message -> the topic it is published on.")
    lines.append("EVENT_TOPICS: Final[dict[str, str]] = {")
    lines += [f'    "{event}": {names[topic]},' for event, topic in sorted(topics.items())]
    lines.append("}")
    return "\n".join(lines) + "\n"


def add_package_markers() -> None:
    for top in ("stint", "buf"):
        for folder in [GEN_DIR / top, *(p for p in (GEN_DIR / top).rglob("*") if p.is_dir())]:
            (folder / "__init__.py").touch()
    (GEN_DIR / "stint" / "py.typed").touch()


def buf(*args: str) -> subprocess.CompletedProcess[str]:
    """Run buf with our configuration (run from ROOT; paths in messages are relative to it)."""
    return subprocess.run([str(BUF), *args], cwd=ROOT, capture_output=True, text=True, check=False)


def buf_lint(image: Path = IMAGE) -> subprocess.CompletedProcess[str]:
    """buf lint on the Stint files of a protoc-built image."""
    return buf("lint", str(image), "--path", "stint", "--config", str(BUF_CONFIG))


def buf_breaking(image: Path = IMAGE, against: Path = BASELINE) -> subprocess.CompletedProcess[str]:
    """buf breaking (FILE rules) of an image's Stint files against the released baseline image."""
    return buf(
        "breaking",
        str(image),
        "--against",
        str(against),
        "--path",
        "stint",
        "--config",
        str(BUF_CONFIG),
        "--against-config",
        str(BUF_CONFIG),
    )


def check(results: Iterable[subprocess.CompletedProcess[str]]) -> None:
    failed = [r for r in results if r.returncode != 0]
    for result in failed:
        print(result.stdout + result.stderr, file=sys.stderr)
    if failed:
        raise SystemExit("buf checks failed")


def generate() -> None:
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
    build_image(IMAGE)
    add_package_markers()
    shutil.copyfile(IMAGE, DESCRIPTOR_SET)
    importlib.invalidate_caches()
    image = load_image()
    try:
        topics = event_topics(image)
    except ContractError as error:
        raise SystemExit(f"contract error: {error}") from error
    TOPICS_MODULE.write_text(topics_module_source(topics))

    from tools.asyncapi import write_asyncapi

    write_asyncapi(image, topics, ASYNCAPI)
    print(
        f"generated {len(files)} contract files into {GEN_DIR.relative_to(ROOT)}/", file=sys.stderr
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="buf lint and breaking check")
    parser.add_argument(
        "--write-baseline",
        action="store_true",
        help=f"copy the image to {BASELINE.relative_to(ROOT)} (do this when releasing contracts)",
    )
    args = parser.parse_args(argv)
    generate()
    if args.check:
        check([buf_lint(), buf_breaking()])
    if args.write_baseline:
        check([buf_lint()])
        BASELINE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(IMAGE, BASELINE)
        print(f"wrote baseline {BASELINE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
