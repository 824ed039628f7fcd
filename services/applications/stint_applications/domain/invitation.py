"""An employer's invitation to a student who completed work for the organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Invitation:
    id: str
    listing_id: str
    employer_org_id: str
    student_id: str
    invited_by: str
    create_time: datetime
