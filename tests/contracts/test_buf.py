"""buf lint and the breaking-change check against the committed baseline (proto/baseline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contracts.conftest import Change, ChangedImage
from tools import protogen

LISTING = "stint/listings/v1/resources.proto"
LISTINGS_SERVICE = "stint/listings/v1/service.proto"


def test_lint_passes_on_our_files(image_path: Path) -> None:
    result = protogen.buf_lint(image_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_catches_a_style_violation(changed_image: ChangedImage) -> None:
    change = (LISTING, "LISTING_STATUS_UNSPECIFIED = 0;", "LISTING_STATUS_NONE = 0;")
    result = protogen.buf_lint(changed_image(change))
    assert result.returncode != 0
    assert "LISTING_STATUS_NONE" in result.stdout


def test_no_breaking_change_against_baseline(image_path: Path) -> None:
    assert protogen.BASELINE.is_file(), (
        "commit a baseline: python tools/protogen.py --write-baseline"
    )
    result = protogen.buf_breaking(image_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param((LISTING, "  int32 seats_filled = 12;\n", ""), "seats_filled", id="delete"),
        pytest.param(
            (LISTING, "int32 estimated_hours = 9;", "int32 estimated_hours = 30;"),
            "estimated_hours",
            id="renumber",
        ),
        pytest.param(
            (LISTING, "int64 version = 20;", "string version = 20;"), "version", id="type"
        ),
        pytest.param(
            (
                LISTINGS_SERVICE,
                "  rpc GetListing(GetListingRequest) returns (GetListingResponse) {\n"
                "    option (google.api.http) = {\n"
                '      get: "/v1/listings/{listing_id}"\n'
                "    };\n"
                "  }\n",
                "",
            ),
            "GetListing",
            id="drop-rpc",
        ),
    ],
)
def test_breaking_change_is_caught(changed_image: ChangedImage, change: Change, named: str) -> None:
    result = protogen.buf_breaking(changed_image(change))
    assert result.returncode != 0, "buf breaking accepted a breaking change"
    assert f'"{named}"' in result.stdout, result.stdout + result.stderr
