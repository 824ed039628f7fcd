"""The cast of the demo: one employer org, an admin and five students, unique per run."""

from __future__ import annotations

from dataclasses import dataclass

from tools.demo.gateway import User


@dataclass(frozen=True)
class Student:
    user: User
    name: str
    email: str
    skills: tuple[str, ...]


@dataclass(frozen=True)
class Cast:
    run: str
    employer: User
    employer_email: str
    admin: User
    admin_email: str
    students: tuple[Student, ...]

    @property
    def org(self) -> str:
        assert self.employer.org is not None
        return self.employer.org


def cast(run: str) -> Cast:
    """Ids and addresses carry `run`, so the demo can run again on the same platform."""
    skills = {
        "amara": ("python", "sql"),
        "bo": ("python",),
        "chen": ("sql",),
        "dara": ("design",),
        "eli": ("design", "figma"),
    }
    students = tuple(
        Student(
            User(f"stu-{name}-{run}", "student"),
            name.capitalize(),
            f"{name}.{run}@students.example.edu",
            wanted,
        )
        for name, wanted in skills.items()
    )
    return Cast(
        run=run,
        employer=User(f"emp-ada-{run}", "employer", f"org-northwind-{run}"),
        employer_email=f"ada.{run}@northwind.example.com",
        admin=User(f"adm-{run}", "admin"),
        admin_email=f"moderation.{run}@stint.example.org",
        students=students,
    )
