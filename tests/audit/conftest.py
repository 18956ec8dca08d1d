import pytest

TEST_KEY = "audit-test-key-" + "k" * 40


@pytest.fixture(autouse=True)
def _audit_key_and_storage(settings, tmp_path):
    """A known key, and anchors in a private media folder (not the shared checkout's var/)."""
    settings.AUDIT_HMAC_KEY = TEST_KEY
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings
