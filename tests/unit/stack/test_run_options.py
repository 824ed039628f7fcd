"""`python -m stint_runtime.run` options: defaults, environment, flags and service discovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from stint_runtime.run import discover_services, parse_args, port_hint
from stint_runtime.settings import DEFAULT_GRPC_PORTS
from stint_runtime.stack.processes import PortInUseError


def test_defaults_are_the_fixed_ports_of_the_settings_and_data_under_dot_stint(
    tmp_path: Path,
) -> None:
    options = parse_args(["--root", str(tmp_path)], {})

    assert (options.kafka_port, options.mongodb_port, options.smtp_port) == (19092, 27117, 2525)
    assert options.grpc_ports == DEFAULT_GRPC_PORTS
    assert options.data_dir == tmp_path.resolve() / ".stint"
    assert not options.stack_only


def test_the_environment_overrides_every_port_and_the_data_directory(tmp_path: Path) -> None:
    env = {
        "STINT_KAFKA_PORT": "29092",
        "STINT_MONGODB_PORT": "37117",
        "STINT_SMTP_PORT": "3525",
        "STINT_PAYOUTS_GRPC_PORT": "60053",
        "STINT_DATA_DIR": str(tmp_path / "data"),
    }

    options = parse_args(["--root", str(tmp_path)], env)

    assert (options.kafka_port, options.mongodb_port, options.smtp_port) == (29092, 37117, 3525)
    assert options.grpc_ports == {**DEFAULT_GRPC_PORTS, "payouts": 60053}
    assert options.data_dir == (tmp_path / "data").resolve()


def test_flags_win_over_the_environment(tmp_path: Path) -> None:
    options = parse_args(
        ["--stack-only", "--kafka-port", "39092", "--data-dir", str(tmp_path)],
        {"STINT_KAFKA_PORT": "29092"},
    )

    assert options.kafka_port == 39092
    assert options.stack_only
    assert options.data_dir == tmp_path.resolve()


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_a_port_variable_that_is_not_a_port_is_refused_naming_it(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args([], {"STINT_MONGODB_PORT": value})

    assert f"STINT_MONGODB_PORT={value!r} is not a port number" in capsys.readouterr().err


def test_a_service_exists_when_its_package_has_a_main_module(tmp_path: Path) -> None:
    for name, has_main in (("payouts", True), ("listings", True), ("applications", False)):
        package = tmp_path / "services" / name / f"stint_{name}"
        package.mkdir(parents=True)
        (package / "__init__.py").touch()
        if has_main:
            (package / "__main__.py").touch()

    assert discover_services(tmp_path) == ["listings", "payouts"]


@pytest.mark.parametrize(
    ("what", "setting"),
    [
        ("kafka", "STINT_KAFKA_PORT"),
        ("smtp", "STINT_SMTP_PORT"),
        ("listings", "STINT_LISTINGS_GRPC_PORT"),
    ],
)
def test_a_taken_port_is_reported_with_the_setting_that_moves_it(what: str, setting: str) -> None:
    hint = port_hint(PortInUseError(what, "127.0.0.1", 4242))

    assert "port 4242" in hint
    assert setting in hint
