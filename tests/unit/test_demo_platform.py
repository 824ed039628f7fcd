"""The platform the demo starts for itself runs on its own embedded servers, whatever the shell
exports."""

from __future__ import annotations

from pathlib import Path

from stint_runtime.stack.backends import select_backend

from tools.demo.platform import own_platform_env

SHELL = {
    "PATH": "/usr/bin",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka.staging:9092",
    "MONGODB_URI": "mongodb://app:pw@db.staging:27017/",
    "STINT_KAFKA_BOOTSTRAP_SERVERS": "kafka.staging:9092",
    "STINT_MONGODB_URI": "mongodb://app:pw@db.staging:27017/",
    "STINT_STACK_BACKEND": "external",
    "STINT_CLOCK_FILE": "/home/dev/stint/.stint/clock-offset",
    "STINT_MONGODB_PORT": "27117",
}


def test_no_server_of_the_shell_reaches_the_demo_platform(tmp_path: Path) -> None:
    env = own_platform_env(SHELL, tmp_path)
    assert not {k for k, v in env.items() if "staging" in v}
    assert "STINT_CLOCK_FILE" not in env
    assert env["STINT_MONGODB_PORT"] != "27117"
    assert env["STINT_DATA_DIR"] == str(tmp_path)
    assert env["PATH"] == "/usr/bin"
    assert select_backend(env, lambda: True) == "embedded"
