import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from trainer_app.models import Cohort
from trainer_app.roles import user_role

pytestmark = pytest.mark.django_db

GOOD = """username,email,role,cohort,password
ana,ana@example.org,instructor,Spring 2027,Zebra-cactus-41
ben,ben@example.org,trainee,Spring 2027,Lantern-okapi-77
cai,,trainee,Spring 2027,Quartz-heron-35
"""


def test_csv_creates_users_roles_and_cohort(tmp_path, capsys):
    path = tmp_path / "users.csv"
    path.write_text(GOOD)
    call_command("import_users", str(path))
    users = get_user_model().objects
    assert user_role(user=users.get(username="ana")) == "instructor"
    cohort = Cohort.objects.get(name="Spring 2027")
    assert cohort.owner.username == "ana"
    assert sorted(cohort.members.values_list("username", flat=True)) == ["ben", "cai"]
    assert users.get(username="ben").check_password("Lantern-okapi-77")
    assert "created 3 user(s) and 1 cohort(s)" in capsys.readouterr().out


def test_bad_rows_are_reported_by_line_and_nothing_is_created(tmp_path, capsys):
    path = tmp_path / "users.csv"
    path.write_text(
        GOOD
        + "dan,,wizard,Spring 2027,Maple-otter-19\n"  # line 5: bad role
        + "ben,,trainee,,Maple-otter-19\n"  # line 6: duplicate username
        + "eve,,trainee,Nowhere,123\n"  # line 7: weak password and unknown cohort
    )
    with pytest.raises(CommandError, match="3 bad row"):
        call_command("import_users", str(path))
    err = capsys.readouterr().err
    assert "line 5: role 'wizard'" in err
    assert "line 6: username 'ben' appears twice" in err
    assert "line 7: password" in err and "cohort 'Nowhere' has no instructor" in err
    assert get_user_model().objects.count() == 0 and Cohort.objects.count() == 0


def test_missing_columns_and_missing_file(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("name,email\nx,y\n")
    with pytest.raises(CommandError):
        call_command("import_users", str(path))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_users", str(tmp_path / "absent.csv"))
