"""A signing key is vetted once, not on every token checked (contorl.accounts.tokens.check_signing_keys_once)."""

import jwt
import pytest
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import InvalidKeyError
from rest_framework_simplejwt.tokens import AccessToken

from contorl.accounts.tokens import check_signing_keys_once


def test_each_key_is_vetted_once_and_tokens_still_verify():
    check_signing_keys_once()  # as the app's ready() did; a second call changes nothing
    prepare = HMACAlgorithm.prepare_key
    key = "k" * 40
    before = prepare.cache_info()
    token = jwt.encode({"user_id": "5"}, key, algorithm="HS256")
    for _ in range(5):
        assert jwt.decode(token, key, algorithms=["HS256"]) == {"user_id": "5"}
    after = prepare.cache_info()
    assert after.misses - before.misses == 1 and after.hits - before.hits == 5  # signed once, checked five times
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "x" * 40, algorithms=["HS256"])  # another key is its own entry, and wrong


def test_a_key_refused_is_refused_every_time():
    pem = (
        b"-----BEGIN PUBLIC KEY-----\n"
        b"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
        b"-----END PUBLIC KEY-----\n"
    )
    for _ in range(2):
        with pytest.raises(InvalidKeyError):
            HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(pem)


@pytest.mark.django_db
def test_access_tokens_check_as_before(user):
    token = AccessToken.for_user(user)
    assert AccessToken(str(token))["user_id"] == token["user_id"]
    with pytest.raises(Exception, match="invalid|expired"):
        AccessToken(str(token)[:-3] + "abc")
