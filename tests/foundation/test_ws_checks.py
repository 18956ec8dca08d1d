"""A WebSocket's token check and its sign-in re-checks go in batches with other sockets'."""

import asyncio
import datetime

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from contorl import consumers

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_of_token_accounts_is_checked_with_one_query(make_user, django_assert_num_queries):
    alice, bob, gone, out = (make_user(name) for name in ("alice", "bob", "gone", "out"))
    identities = {
        user.username: consumers.token_identity(str(AccessToken.for_user(user))) for user in (alice, bob, gone, out)
    }
    gone.is_active = False
    gone.save()
    out.tokens_valid_after = timezone.now() + datetime.timedelta(seconds=5)  # signed out everywhere
    out.save()
    batch = [identities[name] for name in ("alice", "alice", "gone", "out", "bob")] + [(10**9, None)]
    with django_assert_num_queries(1):
        users = consumers._accounts_signed_in(None, batch)
    assert [getattr(u, "pk", None) for u in users] == [alice.pk, alice.pk, None, None, bob.pk, None]
    assert users[0] is not users[1]  # each socket keeps its own user object (caches live on it)


def test_a_tokens_identity_needs_no_database(make_user, django_assert_num_queries):
    from rest_framework_simplejwt.tokens import RefreshToken

    alice = make_user("alice")
    access = AccessToken.for_user(alice)
    refresh = str(RefreshToken.for_user(alice))  # stored as an outstanding token: a query of its own
    with django_assert_num_queries(0):
        assert consumers.token_identity(str(access)) == (alice.pk, access["iat"])
        assert consumers.token_identity("not-a-jwt") is None
        assert consumers.token_identity(str(access)[:-2]) is None  # signature broken
        assert consumers.token_identity(refresh) is None  # not an access token
        odd = AccessToken.for_user(alice)
        odd["user_id"] = "1.5"
        assert consumers.token_identity(str(odd)) is None  # a malformed claim names nobody
    expired = AccessToken.for_user(alice)
    expired.set_exp(lifetime=-datetime.timedelta(seconds=1))
    assert consumers.token_identity(str(expired)) is None


async def test_sockets_rechecking_at_once_share_a_query(make_user, monkeypatch):
    from asgiref.sync import sync_to_async

    users = [await sync_to_async(make_user)(f"u{i}") for i in range(20)]
    batches = []
    real = consumers.signed_in_many
    monkeypatch.setattr(consumers, "signed_in_many", lambda sockets: batches.append(len(sockets)) or real(sockets))
    answers = await asyncio.gather(*(consumers.still_signed_in(u.pk, None) for u in users))
    assert answers == [True] * 20
    assert sum(batches) == 20 and len(batches) < 20  # one query per batch, not per socket
    stranger = await consumers.still_signed_in(10**9, None)
    assert stranger is False
