"""Production settings: refuse to start without secrets; check --deploy is clean."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 20 + "production-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "trainer.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://trainer.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_IGNORE_DOTENV": "1",
}


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in ("VAR_DIR",)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = {**PRODUCTION_ENV, "SECRET_KEY": "", "VAR_DIR": str(tmp_path)}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_redis(tmp_path):
    env = {**PRODUCTION_ENV, "REDIS_URL": "", "VAR_DIR": str(tmp_path)}
    result = _manage("check", env=env)
    assert result.returncode != 0 and "REDIS_URL must be set" in result.stderr


def test_seed_demo_refuses_production(tmp_path):
    result = _manage("seed_demo", env={**PRODUCTION_ENV, "VAR_DIR": str(tmp_path)})
    assert result.returncode != 0 and "refuses to run with production settings" in result.stderr


def _database_settings(tmp_path, **extra: str) -> str:
    code = "from django.conf import settings; d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    result = _manage("shell", "-c", code, env={**PRODUCTION_ENV, "VAR_DIR": str(tmp_path), **extra})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]  # after the shell's own line about its imports


def test_production_keeps_checked_database_connections_by_default(tmp_path):
    assert _database_settings(tmp_path) == "60 True"


def test_production_database_connection_knobs(tmp_path):
    assert _database_settings(tmp_path, CONN_MAX_AGE="600", CONN_HEALTH_CHECKS="False") == "600 False"
