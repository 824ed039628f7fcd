"""`stint reset` deletes the development data after confirmation, and refuses outside development;
`make run`'s first ready line is the one README quotes."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from stint_runtime.cli import main
from stint_runtime.ops.reset import OWNER_FILE, Claim, ResetPlan, claim
from stint_runtime.persistence.mongo import Client
from stint_runtime.run import status_table
from stint_runtime.running import RunningPlatform
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port

REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    for name in ("mail", "payment-provider", "logs"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "kept.txt").write_text("x")
    return tmp_path


def use(monkeypatch: pytest.MonkeyPatch, uri: str, answer: str | None = None) -> str:
    """Point the command at `uri`, with a database name of the test's own; stdin says `answer`."""
    database = f"t_reset_{uuid.uuid4().hex[:8]}"
    monkeypatch.delenv("STINT_MONGODB_URI", raising=False)
    monkeypatch.setenv("MONGODB_URI", uri)
    monkeypatch.setenv("STINT_MONGODB_DATABASE", database)
    monkeypatch.delenv("STINT_ENVIRONMENT", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer) if answer is not None else io.StringIO())
    return database


@pytest.mark.integration
def test_reset_drops_the_databases_and_data_after_a_yes(
    mongo: Client, infra: Endpoints, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = use(monkeypatch, infra.mongodb_uri, answer="y\n")
    claim(data_dir, infra.mongodb_uri)
    mongo[database]["listings"].insert_one({"_id": "l-1"})
    assert main(["reset", "--data-dir", str(data_dir)]) == 0
    assert database not in mongo.list_database_names()
    assert not (data_dir / "mail").exists()
    assert not (data_dir / "payment-provider").exists()
    assert (data_dir / "logs" / "kept.txt").exists(), "logs stay"


@pytest.mark.integration
@pytest.mark.parametrize("answer", ["n\n", "\n", None], ids=["no", "enter", "no-stdin"])
def test_without_confirmation_nothing_is_deleted(
    mongo: Client,
    infra: Endpoints,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str | None,
) -> None:
    database = use(monkeypatch, infra.mongodb_uri, answer=answer)
    claim(data_dir, infra.mongodb_uri)
    mongo[database]["listings"].insert_one({"_id": "l-1"})
    try:
        assert main(["reset", "--data-dir", str(data_dir)]) == 3
        assert database in mongo.list_database_names()
        assert (data_dir / "mail" / "kept.txt").exists()
        out = capsys.readouterr().out
        assert database in out, "the confirmation says what would be deleted"
        assert str(data_dir / "mail") in out
    finally:
        mongo.drop_database(database)


@pytest.mark.integration
def test_yes_skips_the_question(
    mongo: Client, infra: Endpoints, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = use(monkeypatch, infra.mongodb_uri)
    claim(data_dir, infra.mongodb_uri)
    mongo[database]["listings"].insert_one({"_id": "l-1"})
    assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 0
    assert database not in mongo.list_database_names()


def test_a_stopped_embedded_server_has_its_storage_removed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (data_dir / "mongodb").mkdir()
    port = free_port()
    Claim(port, "token", ["mail", "payment-provider", "mongodb"]).write(data_dir)
    use(monkeypatch, f"mongodb://127.0.0.1:{port}/?directConnection=true")
    assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 0
    assert not (data_dir / "mongodb").exists()


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("STINT_ENVIRONMENT", "production", "STINT_ENVIRONMENT is production"),
        ("MONGODB_URI", "mongodb://db.example.com:27017/", "not the local development server"),
        (
            "MONGODB_URI",
            "mongodb://127.0.0.1:27117,10.0.0.5:27017/?replicaSet=rs0",
            "not the local development server",
        ),
    ],
    ids=["production", "remote-host", "one-remote-member"],
)
def test_reset_refuses_outside_development(
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    reason: str,
) -> None:
    use(monkeypatch, f"mongodb://127.0.0.1:{free_port()}/")
    monkeypatch.setenv(variable, value)
    if value == "production":
        monkeypatch.setenv("STINT_JWT_SECRET", "x" * 40)
        monkeypatch.setenv("STINT_JWT_ISSUER", "https://id.example")
        monkeypatch.setenv("STINT_JWT_AUDIENCE", "stint")
    assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 3
    assert reason in capsys.readouterr().err
    assert (data_dir / "mail" / "kept.txt").exists()


def test_the_readme_quotes_the_ready_line_make_run_prints() -> None:
    backend = SimpleNamespace(
        endpoints=Endpoints("127.0.0.1:19092", "mongodb://127.0.0.1:27117", "127.0.0.1", 2525),
        logs={},
        label="embedded",
        maildir=None,
    )
    first = status_table(backend, [], 3.2).splitlines()[0]  # type: ignore[arg-type]
    assert first.startswith("stint: ready in 3.2s")
    readme = (REPOSITORY / "README.md").read_text()
    assert "`stint: ready in …s`" in readme
    assert "make reset" in readme


def test_the_plan_shows_the_uri_without_its_password(data_dir: Path) -> None:
    plan = ResetPlan(["stint_listings"], "mongodb://app:s3cret@127.0.0.1:27117/", True)
    shown = "\n".join(plan.describe())
    assert "s3cret" not in shown
    assert "127.0.0.1:27117" in shown


def port_of(uri: str) -> int:
    return int(uri.split("//")[1].split("/")[0].rsplit(":", 1)[1])


@pytest.mark.integration
def test_a_server_on_the_recorded_port_that_is_not_ours_is_refused(
    mongo: Client,
    infra: Endpoints,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A `kubectl port-forward` or SSH tunnel to staging on the embedded port: not dropped."""
    database = use(monkeypatch, infra.mongodb_uri)
    Claim(port_of(infra.mongodb_uri), "a-token-that-server-never-saw", ["mail"]).write(data_dir)
    mongo[database]["listings"].insert_one({"_id": "l-1"})
    try:
        assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 3
        assert "is not the embedded MongoDB" in capsys.readouterr().err
        assert database in mongo.list_database_names()
        assert (data_dir / "mail" / "kept.txt").exists()
    finally:
        mongo.drop_database(database)


@pytest.mark.integration
def test_the_recorded_port_is_used_whatever_the_default(
    mongo: Client, infra: Endpoints, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run --mongodb-port N`: reset finds the server on N with no MONGODB_URI set."""
    database = use(monkeypatch, infra.mongodb_uri)
    monkeypatch.delenv("MONGODB_URI")
    claim(data_dir, infra.mongodb_uri)
    mongo[database]["listings"].insert_one({"_id": "l-1"})
    assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 0
    assert database not in mongo.list_database_names()
    assert (data_dir / "mongodb").exists() is False


@pytest.mark.integration
def test_a_uri_naming_another_local_port_is_refused(
    mongo: Client,
    infra: Endpoints,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use(monkeypatch, f"mongodb://localhost:{free_port()}/?replicaSet=rs0")
    claim(data_dir, infra.mongodb_uri)
    assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 3
    assert "is not the embedded MongoDB" in capsys.readouterr().err


@pytest.mark.integration
def test_reset_is_refused_while_make_run_is_up(
    mongo: Client,
    infra: Endpoints,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = use(monkeypatch, infra.mongodb_uri)
    claim(data_dir, infra.mongodb_uri)
    RunningPlatform(os.getpid(), "127.0.0.1:1", infra.mongodb_uri).write(data_dir)
    mongo[database]["listings"].insert_one({"_id": "l-1"})
    try:
        assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 3
        assert "stop it first" in capsys.readouterr().err
        assert database in mongo.list_database_names()
        assert (data_dir / "mail" / "kept.txt").exists()
    finally:
        mongo.drop_database(database)


def test_a_directory_make_run_never_claimed_is_left_alone(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--data-dir /var/lib`: its mongodb/ and mail/ are not make run's."""
    (data_dir / "mongodb").mkdir()
    use(monkeypatch, f"mongodb://127.0.0.1:{free_port()}/?directConnection=true")
    assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 3
    assert OWNER_FILE in capsys.readouterr().err
    assert (data_dir / "mongodb").exists()
    assert (data_dir / "mail" / "kept.txt").exists()


def test_only_the_directories_the_claim_lists_are_removed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (data_dir / "mongodb").mkdir()
    Claim(None, "token", ["mail"]).write(data_dir)
    use(monkeypatch, f"mongodb://127.0.0.1:{free_port()}/?directConnection=true")
    assert main(["reset", "--yes", "--data-dir", str(data_dir)]) == 0
    assert not (data_dir / "mail").exists()
    assert (data_dir / "payment-provider" / "kept.txt").exists()
    assert (data_dir / "mongodb").exists(), "an external server's data is not make run's"
