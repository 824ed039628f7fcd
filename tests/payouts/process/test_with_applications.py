"""Listings, applications and payouts as separate processes talking only through the broker,
payouts paying through the stripe SDK to the simulator process: an approved engagement is
funded at its start, paid once the student registers an account, and applications marks it
PAID when PayoutPaid comes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from stint.applications.v1 import service_pb2_grpc
from stint.listings.v1 import service_pb2_grpc as listings_grpc
from stint.payouts.v1 import service_pb2_grpc as payouts_grpc
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.payment_provider import simulator_url, start_simulator
from stint_runtime.stack.processes import free_port

from tests.applications.api.kit import (
    ApplicationsClient,
    EngStatus,
    apply_once_known,
    new_student,
)
from tests.listings.api.kit import ListingsClient
from tests.payouts.api.kit import PayoutsClient, PayoutStatus, Who
from tests.support.isolation import own_group_settings
from tests.support.service_process import ServiceProcess
from tests.support.service_settings import settings_for_test

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
EVENT_WAIT = 60.0
DESTINATION = "acct_PRIVATEDESTINATION9876"


@pytest.fixture
def processes(infra: Endpoints, tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    started = {}
    for name in ("listings", "applications", "payouts"):
        settings = settings_for_test(name, infra, "with_payouts")
        settings = own_group_settings(settings)  # not the session's backlog of other tests
        started[name] = ServiceProcess(settings, tmp_path)
    yield started
    for process in started.values():
        process.stop()


async def test_an_approved_engagement_is_paid_and_applications_marks_it_paid(
    processes: dict[str, ServiceProcess], tmp_path: Path
) -> None:
    port = free_port()
    provider = start_simulator(tmp_path / "provider", port, tmp_path / "provider.log")
    try:
        processes["listings"].start()
        processes["applications"].start()
        processes["payouts"].start(
            extra_env={"STINT_PAYOUTS_PROVIDER_API_BASE": simulator_url(port)}
        )
        address = {name: p.settings.grpc_address for name, p in processes.items()}
        async with (
            insecure_channel(address["listings"]) as listings_channel,
            insecure_channel(address["applications"]) as applications_channel,
            insecure_channel(address["payouts"]) as payouts_channel,
        ):
            for name, channel in (
                ("listings", listings_channel),
                ("applications", applications_channel),
                ("payouts", payouts_channel),
            ):
                await processes[name].wait_serving(channel)
            catalogue = ListingsClient(
                listings_grpc.ListingsServiceStub(listings_channel),
                processes["listings"].settings,
                SystemClock(),
            )
            work = ApplicationsClient(
                service_pb2_grpc.ApplicationsServiceStub(applications_channel),
                processes["applications"].settings,
            )
            money = PayoutsClient(
                payouts_grpc.PayoutsServiceStub(payouts_channel), processes["payouts"].settings
            )
            listing = await catalogue.published(seats=1)
            student = new_student()
            applied = await apply_once_known(work, listing.id, student, limit=EVENT_WAIT)
            offered = await work.offer(await work.shortlist(applied))
            engagement = (await work.accept(offered, student)).engagement
            approved = await work.approve(await work.submit(engagement, student))
            assert approved.status == EngStatus.ENGAGEMENT_STATUS_APPROVED

            held = await money.payout_in(
                engagement.id, PayoutStatus.PAYOUT_STATUS_HELD, limit=EVENT_WAIT
            )
            assert held.amount == listing.fee
            await money.register(
                Who(student.subject, "student"),
                currency=listing.fee.currency,
                destination=DESTINATION,
            )
            paid = await money.payout_in(
                engagement.id, PayoutStatus.PAYOUT_STATUS_PAID, limit=EVENT_WAIT
            )
            assert paid.employer_org_id == listing.employer_org_id
            done = await work.wait_engagement(
                engagement.id, EngStatus.ENGAGEMENT_STATUS_PAID, limit=EVENT_WAIT
            )
            assert done.status == EngStatus.ENGAGEMENT_STATUS_PAID
        for process in processes.values():
            assert process.stop() == 0
        log = (tmp_path / "payouts-1.log").read_text(errors="replace")
        assert "payouts" in log  # the service did log
        assert DESTINATION not in log
        assert DESTINATION[:-4] not in log
    finally:
        provider.stop()
