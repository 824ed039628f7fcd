"""The compiled contracts carry exactly the names DESIGN.md §2-3 fixes, topics and request rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from buf.validate import validate_pb2
from google.protobuf import descriptor_pb2
from stint import topics

from tests.contracts.conftest import ChangedImage
from tools import protogen

Image = descriptor_pb2.FileDescriptorSet

# DESIGN.md §3, as written there.
SERVICES = {
    "stint.listings.v1.ListingsService": """CreateListing UpdateListing SubmitForReview
        ApproveListing RejectListing PublishListing CloseListing CancelListing GetListing
        SearchListings""",
    "stint.applications.v1.ApplicationsService": """Apply WithdrawApplication
        ShortlistApplication RejectApplication ExtendOffer AcceptOffer DeclineOffer GetApplication
        ListApplications SubmitDeliverable RequestRevision ApproveDeliverable CancelEngagement
        OpenDispute ResolveDispute GetEngagement ListEngagements LeaveFeedback
        GetCompletionRecord PostMessage ListMessages GetStudentProfile InviteStudent
        ListSigningKeys VerifyCompletionRecord""",
    "stint.payouts.v1.PayoutsService": """RegisterPayoutAccount GetPayout ListPayouts GetBalance
        RetryPayout GetLedger Reconcile""",
    "stint.notifications.v1.NotificationsService": """RegisterContact SetPreferences
        SubscribeSkills RegisterWebhook ListNotifications MarkRead""",
}
EVENTS = {
    "stint.listings.v1": """ListingSubmitted ListingPublished ListingUpdated ListingRejected
        ListingFilled ListingReopened ListingClosed ListingCancelled ListingExpired
        ListingApproved""",
    "stint.applications.v1": """ApplicationSubmitted ApplicationShortlisted OfferExtended
        OfferAccepted OfferDeclined ApplicationRejected ApplicationWithdrawn ApplicationExpired
        EngagementStarted DeliverableSubmitted RevisionRequested DeliverableApproved
        EngagementCancelled EngagementExpired DisputeOpened DisputeResolved FeedbackPublished
        EngagementCompleted MessagePosted StudentInvited""",
    "stint.payouts.v1": """PayoutScheduled PayoutHeld PayoutPaid PayoutFailed EscrowFunded
        EscrowRefunded""",
    "stint.notifications.v1": "NotificationDelivered NotificationFailed",
}
TOPICS = {
    "stint.listings.v1": "listings.v1",
    "stint.applications.v1": "applications.v1",
    "stint.payouts.v1": "payouts.v1",
    "stint.notifications.v1": "notifications.v1",
}
# DESIGN.md §2: enum -> its states.
STATES = {
    "stint.listings.v1.ListingStatus": """DRAFT PENDING_REVIEW PUBLISHED FILLED CLOSED EXPIRED
        REJECTED CANCELLED""",
    "stint.applications.v1.ApplicationStatus": """SUBMITTED SHORTLISTED OFFERED ACCEPTED REJECTED
        WITHDRAWN DECLINED EXPIRED""",
    "stint.applications.v1.EngagementStatus": """ACTIVE SUBMITTED REVISION_REQUESTED APPROVED
        AUTO_APPROVED PAID CANCELLED EXPIRED DISPUTED RESOLVED""",
    "stint.payouts.v1.PayoutStatus": "PENDING PROCESSING PAID RETRYING FAILED HELD",
}
# Events carry ids, never contact or payment details (DESIGN.md §1, §4).
PII_WORDS = ("email", "phone", "address", "url", "secret", "token", "password", "destination")


def services(image: Image) -> dict[str, descriptor_pb2.ServiceDescriptorProto]:
    return {f"{f.package}.{s.name}": s for f in protogen.ours(image) for s in f.service}


def messages(image: Image) -> dict[str, descriptor_pb2.DescriptorProto]:
    return {f"{f.package}.{m.name}": m for f in protogen.ours(image) for m in f.message_type}


def enums(image: Image) -> dict[str, descriptor_pb2.EnumDescriptorProto]:
    return {f"{f.package}.{e.name}": e for f in protogen.ours(image) for e in f.enum_type}


def test_every_design_rpc_exists(image: Image) -> None:
    found = {name: {m.name for m in s.method} for name, s in services(image).items()}
    assert found == {name: set(rpcs.split()) for name, rpcs in SERVICES.items()}


def test_every_design_event_exists_with_its_topic(image: Image) -> None:
    expected = {f"{pkg}.{e}": TOPICS[pkg] for pkg, names in EVENTS.items() for e in names.split()}
    assert protogen.event_topics(image) == expected


def test_generated_topics_module_matches_the_contracts(image: Image) -> None:
    assert protogen.event_topics(image) == topics.EVENT_TOPICS
    assert set(topics.ALL) == set(TOPICS.values())
    assert topics.LISTINGS == "listings.v1"
    assert topics.APPLICATIONS == "applications.v1"
    assert topics.PAYOUTS == "payouts.v1"
    assert topics.NOTIFICATIONS == "notifications.v1"


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=" ".join)
def test_generated_topics_module_is_ruff_clean(command: list[str]) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    argv = [str(ruff), *command, "--no-cache", str(protogen.TOPICS_MODULE)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=protogen.ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_event_without_topic_fails_generation(changed_image: ChangedImage) -> None:
    option = '  option (stint.common.v1.event).topic = "listings.v1";\n'
    change = (
        "stint/listings/v1/events.proto",
        f"message ListingExpired {{\n{option}",
        "message ListingExpired {\n",
    )
    with pytest.raises(protogen.ContractError, match="ListingExpired"):
        protogen.event_topics(protogen.load_image(changed_image(change)))


@pytest.mark.parametrize("enum_name", sorted(STATES))
def test_state_enums_have_exactly_the_design_states(image: Image, enum_name: str) -> None:
    prefix = enum_name.rsplit(".", 1)[1]
    prefix = "".join(f"_{c}" if c.isupper() else c.upper() for c in prefix).lstrip("_") + "_"
    values = [v.name for v in enums(image)[enum_name].value]
    assert values[0] == f"{prefix}UNSPECIFIED"
    assert [v.removeprefix(prefix) for v in values[1:]] == STATES[enum_name].split()


def has_rules(message: descriptor_pb2.DescriptorProto) -> bool:
    def reparsed(options: descriptor_pb2.FieldOptions) -> descriptor_pb2.FieldOptions:
        return descriptor_pb2.FieldOptions.FromString(options.SerializeToString())

    message_options = descriptor_pb2.MessageOptions.FromString(message.options.SerializeToString())
    return message_options.HasExtension(validate_pb2.message) or any(
        reparsed(field.options).HasExtension(validate_pb2.field) for field in message.field
    )


def test_every_request_has_validation_rules_or_is_empty(image: Image) -> None:
    by_name = messages(image)
    unruled = [
        method.input_type
        for service in services(image).values()
        for method in service.method
        if by_name[method.input_type.lstrip(".")].field
        and not has_rules(by_name[method.input_type.lstrip(".")])
    ]
    assert unruled == []


def reachable(image: Image, roots: list[str]) -> set[str]:
    by_name = messages(image) | {
        f"{f.package}.{m.name}": m for f in image.file for m in f.message_type
    }
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo += [f.type_name.lstrip(".") for f in by_name[name].field if f.type_name]
    return seen


def test_events_carry_no_personal_data_fields(image: Image) -> None:
    by_name = messages(image)
    offending = [
        f"{name}.{field.name}"
        for name in sorted(reachable(image, list(protogen.event_topics(image))))
        if name.startswith("stint.")
        for field in by_name[name].field
        if any(word in field.name for word in PII_WORDS)
    ]
    assert offending == []
