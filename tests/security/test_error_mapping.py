"""Core error mapping added for issue 9: a PROTECT/RESTRICT refusal is a 409, never a 500."""

from django.db.models import ProtectedError, RestrictedError

from contorl.errors import to_envelope


def test_protected_and_restricted_deletes_are_conflicts():
    for exc in (ProtectedError("protected", set()), RestrictedError("restricted", set())):
        status, body, _headers = to_envelope(exc)
        assert status == 409
        assert body["error"]["code"] == "conflict"
