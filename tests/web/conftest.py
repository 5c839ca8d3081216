"""The web tests use the auth tests' demo app, client and organisation."""

from tests.auth.conftest import app, client, org  # noqa: F401
