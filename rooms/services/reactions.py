"""Emoji reactions on messages: one per (message, user, emoji); adding twice is a no-op."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from contorl import events
from contorl.errors import NotFound, ValidationFailed

from .. import payloads
from ..models import Message, Reaction
from ..permissions import require_write

EMOJI_MAX = 32


def _clean_emoji(emoji) -> str:
    if not isinstance(emoji, str):
        raise ValidationFailed.field("emoji", _("An emoji is required."))
    emoji = emoji.strip()
    if not emoji or len(emoji) > EMOJI_MAX or any(ch.isspace() or ch in "<>&\"'" for ch in emoji):
        raise ValidationFailed.field("emoji", _("One emoji (at most %(max)s characters).") % {"max": EMOJI_MAX})
    return emoji


def _reaction_frame(message: Message, emoji: str, by) -> dict:
    reactions = list(Reaction.objects.filter(message=message))
    return {
        "message_id": message.pk,
        "room": message.room_id,
        "seq": message.seq,
        "emoji": emoji,
        "user": payloads.user_brief(by),
        "reactions": payloads.reaction_summary(reactions),
    }


@transaction.atomic
def reaction_add(*, message: Message, by, emoji) -> tuple[Reaction, bool]:
    emoji = _clean_emoji(emoji)
    require_write(message.room, by)
    if message.deleted_at is not None:
        raise NotFound()
    try:
        with transaction.atomic():
            reaction = Reaction.objects.create(message=message, user=by, emoji=emoji)
    except IntegrityError:
        return Reaction.objects.get(message=message, user=by, emoji=emoji), False
    events.publish(
        events.room_group(message.room_id),
        "reaction_added",
        _reaction_frame(message, emoji, by),
        actor=by,
        seq=message.seq,
    )
    return reaction, True


@transaction.atomic
def reaction_remove(*, message: Message, by, emoji) -> None:
    emoji = _clean_emoji(emoji)
    require_write(message.room, by)
    deleted, _n = Reaction.objects.filter(message=message, user=by, emoji=emoji).delete()
    if not deleted:
        raise NotFound()
    events.publish(
        events.room_group(message.room_id),
        "reaction_removed",
        _reaction_frame(message, emoji, by),
        actor=by,
        seq=message.seq,
    )
