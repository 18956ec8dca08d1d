"""JWTs end with the sessions: "sign out everywhere" stamps `User.tokens_valid_after`, and a
token issued before that stamp is refused by the API, the refresh endpoint and the sockets
(access tokens would otherwise live on for 15 minutes and refresh tokens for 7 days)."""

import functools

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication, serializers
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from contorl.prepared import PreparedLookup, whole_id


def revoked(user, token) -> bool:
    """Was `token` issued before the user was signed out everywhere?"""
    cutoff = user.tokens_valid_after
    if cutoff is None:
        return False
    issued_at = token.get("iat")
    # `iat` has whole seconds: a token from the same second as the sign-out counts as before it.
    return issued_at is None or issued_at <= cutoff.timestamp()


def signed_in(is_active: bool, tokens_valid_after, issued_at: float | None) -> bool:
    """Is an account still signed in: active and, for a token (its `iat`), not signed out
    everywhere since? As revoked(): a token from the same second as the sign-out counts as before it."""
    return is_active and (issued_at is None or tokens_valid_after is None or issued_at > tokens_valid_after.timestamp())


def signed_in_many(sockets: list[tuple[int, float | None]]) -> list[bool]:
    """signed_in() for each (user id, token iat) pair, in one query: deactivation and sign-out
    close sockets through the channel layer, this catches whatever that missed (a bulk UPDATE
    sends no signal)."""
    cutoffs = dict(
        get_user_model()
        .objects.filter(pk__in={user_id for user_id, _iat in sockets}, is_active=True)
        .order_by()  # lookups, not lists: see rooms.permissions.room_and_members
        .values_list("pk", "tokens_valid_after")
    )
    return [user_id in cutoffs and signed_in(True, cutoffs[user_id], issued_at) for user_id, issued_at in sockets]


def signed_in_known(sockets: list[tuple[int, float | None]], accounts: dict) -> list[bool]:
    """signed_in_many() for (user id, token iat) pairs where most accounts, {user id:
    (is_active, tokens_valid_after)}, came with another read (a membership): only the rest
    are read, in one query."""
    rest = [socket for socket in sockets if socket[0] not in accounts]
    read = dict(zip(rest, signed_in_many(rest), strict=True)) if rest else {}
    return [
        signed_in(*accounts[user_id], issued_at) if user_id in accounts else read[(user_id, issued_at)]
        for user_id, issued_at in sockets
    ]


class SignedOut(Exception):
    """A socket's user is no longer signed in (signed_in_many): the socket closes 4401."""


# The account a token names, read on every API request: compiled once (contorl.prepared).
_USER_BY_ID = PreparedLookup(lambda pk: get_user_model().objects.filter(pk=pk).order_by()[:1])


class JWTAuthentication(authentication.JWTAuthentication):
    def get_user(self, validated_token):
        """simplejwt's get_user (the same checks and errors) through a prepared lookup, plus
        the sign-out-everywhere check."""
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        pk = whole_id(user_id)
        found = _USER_BY_ID(pk=pk) if pk is not None else []
        if not found:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        user = found[0]
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        if revoked(user, validated_token):
            raise AuthenticationFailed(_("This token was signed out."), code="token_revoked")
        return user


class TokenRefreshSerializer(serializers.TokenRefreshSerializer):
    """Refresh tokens rotate (settings.SIMPLE_JWT): the one used is blacklisted."""

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])  # signature, expiry, blacklist
        user = get_user_model().objects.filter(pk=refresh.payload.get(api_settings.USER_ID_CLAIM)).first()
        if user is None or not user.is_active or revoked(user, refresh):
            raise InvalidToken(_("This token was signed out."), code="token_revoked")
        from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

        with transaction.atomic():
            # Two refreshes racing with one token: the row lock lets only the first rotate
            # it; the second then finds it blacklisted (token_not_valid, 401).
            jti = refresh.payload.get(api_settings.JTI_CLAIM)
            list(OutstandingToken.objects.select_for_update().filter(jti=jti).order_by().values_list("pk"))
            refresh.check_blacklist()
            return super().validate(attrs)


class RevocableJWTScheme(SimpleJWTScheme):
    """drf-spectacular documents our subclass exactly like simplejwt's own (Bearer JWT)."""

    target_class = JWTAuthentication
    name = "jwtAuth"


def check_signing_keys_once() -> None:
    """PyJWT vets an HMAC key on every decode: it tries to load it as a DER key and a DER
    certificate, then parses it as JSON, to refuse an asymmetric key used as a shared secret.
    For our one or two keys (SIGNING_KEY, and a VERIFYING_KEY if set) that came to 40% of
    checking a token, on every API request and every socket's sign-in (bench/PROFILE.md,
    eleventh session). The outcome depends on the key alone, so it is kept per key: a key it
    refuses is still refused (an error is never kept), each time."""
    from jwt.algorithms import HMACAlgorithm

    if getattr(HMACAlgorithm.prepare_key, "_contorl_once_per_key", False):
        return
    prepare = functools.lru_cache(maxsize=8)(HMACAlgorithm.prepare_key)
    prepare._contorl_once_per_key = True
    HMACAlgorithm.prepare_key = prepare
