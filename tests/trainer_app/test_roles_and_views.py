import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD, CohortFactory, UserFactory
from trainer_app.roles import trainees_visible_to, user_can_view_trainee, user_role

pytestmark = pytest.mark.django_db


def test_each_role_sees_its_own_dashboard(client):
    for role, title in (("trainee", "Your practice"), ("instructor", "Instructor dashboard"), ("admin", "Admin dashboard")):
        user = UserFactory(role=role)
        assert user_role(user=user) == role
        client.force_login(user)
        response = client.get(reverse("dashboard"))
        assert response.status_code == 200
        assert title in response.content.decode()
        assert f'data-testid="dashboard-{role}"' in response.content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_login_with_password_and_logout(client):
    user = UserFactory(role="trainee")
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_wrong_password_is_refused(client):
    user = UserFactory(role="trainee")
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200 and "didn't match" in response.content.decode()


def test_trainee_is_refused_instructor_and_admin_pages(client):
    client.force_login(UserFactory(role="trainee"))
    assert client.get(reverse("cohorts")).status_code == 403
    assert client.get(reverse("health")).status_code == 403
    assert client.get("/admin/").status_code == 302  # not staff: Django admin sends to its login


def test_instructor_is_refused_admin_pages(client):
    client.force_login(UserFactory(role="instructor"))
    assert client.get(reverse("cohorts")).status_code == 200
    assert client.get(reverse("health")).status_code == 403


def test_instructor_sees_only_own_cohorts_trainees():
    instructor, other_instructor = UserFactory(role="instructor"), UserFactory(role="instructor")
    mine, theirs = UserFactory(role="trainee"), UserFactory(role="trainee")
    CohortFactory(owner=instructor, members=[mine])
    CohortFactory(owner=other_instructor, members=[theirs])
    assert list(trainees_visible_to(user=instructor)) == [mine]
    assert user_can_view_trainee(user=instructor, trainee_id=mine.pk)
    assert not user_can_view_trainee(user=instructor, trainee_id=theirs.pk)
    assert not user_can_view_trainee(user=mine, trainee_id=theirs.pk)
    assert user_can_view_trainee(user=mine, trainee_id=mine.pk)
    admin = UserFactory(role="admin")
    assert user_can_view_trainee(user=admin, trainee_id=theirs.pk)


def test_cohort_page_lists_only_own_cohorts(client):
    instructor = UserFactory(role="instructor")
    CohortFactory(owner=instructor, name="Mine")
    CohortFactory(name="Someone else's")
    client.force_login(instructor)
    body = client.get(reverse("cohorts")).content.decode()
    assert "Mine" in body and "Someone else" not in body


def test_password_change(client):
    user = UserFactory(role="trainee")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": "An0ther-good-pass", "new_password2": "An0ther-good-pass"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("An0ther-good-pass")
