"""Account and cohort services (writes)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from trainer_app.models import Cohort
from trainer_app.roles import INSTRUCTOR, ROLES, TRAINEE, user_role, user_role_set

USER_CSV_COLUMNS = ("username", "email", "role", "cohort", "password")


@dataclass
class UserImportResult:
    created_users: int
    created_cohorts: int
    errors: list[str]


def user_create(*, username: str, password: str, role: str, email: str = ""):
    user = get_user_model().objects.create_user(username=username, email=email, password=password)
    user_role_set(user=user, role=role)
    return user


def cohort_ensure(*, name: str, owner) -> tuple[Cohort, bool]:
    return Cohort.objects.get_or_create(name=name, defaults={"owner": owner})


def users_import_csv(*, text: str) -> UserImportResult:
    """Create users and cohorts from CSV, all or nothing.

    Columns: username,email,role,cohort,password. A trainee row joins the named
    cohort; an instructor row owns it (the cohort is created by its instructor's
    row, which may come anywhere in the file). Every bad row is reported by its
    line number and nothing is created when any row is bad.
    """
    # Found by fuzzing: a NUL byte reached PostgreSQL (DataError) and a lone CR broke the csv module.
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return UserImportResult(0, 0, [f"line {line}: contains a NUL byte; is this a text file?"])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        records = list(reader)  # parsed once, here, so a malformed file is one clear error
    except csv.Error as exc:
        return UserImportResult(0, 0, [f"line {reader.line_num}: not readable as CSV ({exc})"])
    missing = [c for c in ("username", "role") if c not in (reader.fieldnames or [])]
    if missing:
        return UserImportResult(0, 0, [f"line 1: missing column(s) {', '.join(missing)}; expected {','.join(USER_CSV_COLUMNS)}"])
    users = get_user_model().objects
    rows, seen = [], set()
    problems_by_line: dict[int, list[str]] = {}
    for line_no, row in enumerate(records, start=2):
        row = {k: (v or "").strip() for k, v in row.items() if k}
        username, role = row.get("username", ""), row.get("role", "").lower()
        problems = []
        if not username:
            problems.append("username is empty")
        elif username in seen:
            problems.append(f"username {username!r} appears twice in the file")
        elif users.filter(username=username).exists():
            problems.append(f"user {username!r} already exists")
        if role not in ROLES:
            problems.append(f"role {role!r} is not one of {', '.join(ROLES)}")
        password = row.get("password", "")
        if not password:
            problems.append("password is empty")
        else:
            try:
                validate_password(password)
            except ValidationError as exc:
                problems.append("password: " + " ".join(exc.messages))
        problems_by_line[line_no] = problems
        seen.add(username)
        rows.append((line_no, row, role))
    owners = {row.get("cohort"): row["username"] for _, row, role in rows if role == INSTRUCTOR and row.get("cohort")}
    for line_no, row, role in rows:
        cohort = row.get("cohort", "")
        if role == TRAINEE and cohort and cohort not in owners and not Cohort.objects.filter(name=cohort).exists():
            problems_by_line[line_no].append(f"cohort {cohort!r} has no instructor in the file and does not exist yet")
    errors = [f"line {line}: " + "; ".join(problems) for line, problems in problems_by_line.items() if problems]
    if errors:
        return UserImportResult(0, 0, errors)
    created_cohorts = 0
    with transaction.atomic():
        created = {}
        for _, row, role in rows:
            created[row["username"]] = user_create(
                username=row["username"], email=row.get("email", ""), password=row["password"], role=role
            )
        for name, owner_name in owners.items():
            cohort, was_created = cohort_ensure(name=name, owner=created[owner_name])
            created_cohorts += int(was_created)
        for _, row, role in rows:
            if role == TRAINEE and row.get("cohort"):
                Cohort.objects.get(name=row["cohort"]).members.add(created[row["username"]])
    return UserImportResult(len(rows), created_cohorts, [])


def demo_users_ensure(*, password: str) -> dict:
    """The three demo users and their cohort (embedded runtime only)."""
    users = {}
    for username, role in (("trainee", TRAINEE), ("instructor", INSTRUCTOR), ("admin", "admin")):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        if user_role(user=user) != role:
            user_role_set(user=user, role=role)
        users[role] = user
    cohort, _ = cohort_ensure(name="Demo cohort", owner=users[INSTRUCTOR])
    cohort.members.add(users[TRAINEE])
    return {"users": users, "cohort": cohort}


def cohort_exam_choice_set(*, cohort: Cohort, allowed: bool) -> Cohort:
    """Let the cohort's trainees choose practice or exam when they start an assigned scenario."""
    Cohort.objects.filter(pk=cohort.pk).update(exam_choice=allowed)
    cohort.exam_choice = allowed
    return cohort
