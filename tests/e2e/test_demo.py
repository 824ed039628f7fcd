"""`make demo` against a running platform: every step of the journey happens, in under a minute
of driving, and the outcome (payouts, records, webhook, emails) is what the scenario says."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stint_runtime.clock import read_clock_offset
from stint_runtime.running import RunningPlatform, alive

from tools.demo.mailbox import emails

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

REPOSITORY = Path(__file__).resolve().parents[2]
STEP = re.compile(r"^\[\s*(\d+)/(\d+)\] ([^:]+): (.*)$", re.MULTILINE)
DEMO_TIMEOUT = 240.0


def data_dir_of(platform: RunningPlatform) -> Path:
    return Path(platform.clock_file).parent


def run_demo(platform: RunningPlatform) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tools.demo", "--data-dir", str(data_dir_of(platform))],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    return result, time.monotonic() - started


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[make demo] {line}")


def test_the_demo_walks_the_whole_journey_on_the_running_platform(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    result, seconds = run_demo(platform)
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert f"using the platform in {data_dir_of(platform)}" in output
    steps = STEP.findall(output)
    assert [int(n) for n, *_ in steps] == list(range(1, len(steps) + 1))
    assert len(steps) == int(steps[0][1]) >= 16, output
    assert not [s for s in steps if s[3].startswith("FAILED")], output
    assert "demo complete" in output

    assert "payout to Amara: PAID 60000 USD" in output
    assert "payout to Bo: HELD 36000 USD (minor units) until Bo registered an account, " in output
    assert "then PAID 36000 USD" in output
    assert "ledger of the org, escrowed: 132000 USD" in output  # 2 x (60000 + 10 % fee)
    assert "ledger of the org, refunded: 26400 USD" in output  # 40 % of 66000
    assert "ledger of the org, paid to students: 96000 USD" in output
    assert "ledger of the org, platform fees: 9600 USD" in output
    assert "engagement of Amara: ENGAGEMENT_STATUS_PAID" in output
    assert "engagement of Bo: ENGAGEMENT_STATUS_PAID" in output
    assert re.search(r"Chen's application \w+ EXPIRED; Chen was told", output), output
    assert re.search(r"REJECTED \(.+\), fixed, resubmitted, approved, PUBLISHED", output)
    assert re.search(r"completion records verified: \w+, \w+\n", output), output
    assert "university webhooks verified: 1" in output
    assert re.search(r"trace of the approval: [0-9a-f]{32}", output)
    assert "platform clock moved: +8 days" in output

    run = re.search(r"run id (\w+)", output)
    assert run is not None
    mail = emails(Path(platform.maildir))
    expired = [m for m in mail if f"chen.{run.group(1)}@" in m.to]
    assert "Your application expired" in [m.subject for m in expired]
    report(capsys, f"the demo took {seconds:.1f}s ({len(steps)} steps, {len(mail)} emails)")
    assert seconds < DEMO_TIMEOUT


def test_a_second_run_on_the_same_platform_also_completes(platform: RunningPlatform) -> None:
    """Its ids are its own: the demo can be run again; the clock is put back each time."""
    before = read_clock_offset(Path(platform.clock_file))
    result, _ = run_demo(platform)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "platform clock moved: +8 days" in result.stdout
    assert "platform clock put back" in result.stdout
    assert read_clock_offset(Path(platform.clock_file)) == before, "the developer's clock moved"


def test_with_no_platform_running_the_demo_starts_one_and_stops_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.demo", "--data-dir", str(tmp_path)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT + 120,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert "no running platform found; starting one on free ports" in output
    assert "demo complete" in output
    started = re.search(r"demo: platform ready in [0-9.]+s \(pid (\d+)\)", output)
    assert started is not None, output
    assert not alive(int(started.group(1))), "the platform the demo started is still running"
