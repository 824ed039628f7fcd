"""Fixtures for contract tests: images compiled from proto/ (or a changed copy) with protogen."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from tools import protogen

# (file relative to proto/, text to replace, replacement)
Change = tuple[str, str, str]
ChangedImage = Callable[[Change], Path]


@pytest.fixture(scope="session")
def image_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image of the current proto/, built with the same protoc invocation as `make proto`."""
    out = tmp_path_factory.mktemp("image") / "stint.binpb"
    protogen.build_image(out)
    return out


@pytest.fixture(scope="session")
def image(image_path: Path) -> descriptor_pb2.FileDescriptorSet:
    return protogen.load_image(image_path)


@pytest.fixture
def changed_image(tmp_path: Path) -> ChangedImage:
    """Builds an image of a copy of proto/ with one textual change applied."""

    def build(change: Change) -> Path:
        file, old, new = change
        copy = tmp_path / "proto"
        shutil.copytree(protogen.PROTO_DIR, copy)
        source = copy / file
        text = source.read_text()
        assert text.count(old) == 1, f"{old!r} must occur exactly once in {file}"
        source.write_text(text.replace(old, new))
        out = tmp_path / "changed.binpb"
        protogen.build_image(out, copy)
        return out

    return build
