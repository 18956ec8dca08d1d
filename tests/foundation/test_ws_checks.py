"""A WebSocket's token check and its sign-in re-checks go in batches with other sockets'."""

import asyncio
import datetime

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from contorl import consumers

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_of_tokens_is_checked_with_one_query(make_user, django_assert_num_queries):
    alice, bob, gone, out = (make_user(name) for name in ("alice", "bob", "gone", "out"))
    tokens = {user.username: str(AccessToken.for_user(user)) for user in (alice, bob, gone, out)}
    gone.is_active = False
    gone.save()
    out.tokens_valid_after = timezone.now() + datetime.timedelta(seconds=5)  # signed out everywhere
    out.save()
    batch = [tokens["alice"], tokens["alice"], "not-a-jwt", tokens["gone"], tokens["out"], tokens["bob"]]
    with django_assert_num_queries(1):
        outcomes = consumers._users_from_tokens(None, batch)
    users = [user for user, _iat in outcomes]
    assert [getattr(u, "pk", None) for u in users] == [alice.pk, alice.pk, None, None, None, bob.pk]
    assert users[0] is not users[1]  # each socket keeps its own user object (caches live on it)
    assert all(iat is not None for user, iat in outcomes if user is not None)


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
