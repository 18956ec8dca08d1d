"""Every write in the rooms app: check the caller's right, validate, save, audit, publish.

One module per concern; everything public is re-exported here, so callers keep writing
`from rooms import services; services.message_send(...)`.
"""

from .files import file_upload
from .members import member_add, member_remove, member_update
from .messages import (
    CLIENT_ID_MAX,
    MENTION_RE,
    STRUCTURED_MAX_BYTES,
    TEXT_MAX_BYTES,
    USER_TYPES,
    ChatSend,
    allocate_seq,
    edit_window,
    message_delete,
    message_edit,
    message_post_system,
    message_send,
    message_send_batch,
)
from .reactions import EMOJI_MAX, reaction_add, reaction_remove
from .rooms import TITLE_FIELDS, fill_title, room_create, room_create_from_template, room_update
from .templates import template_create, template_delete, template_update, template_validate

__all__ = [
    "CLIENT_ID_MAX",
    "EMOJI_MAX",
    "MENTION_RE",
    "STRUCTURED_MAX_BYTES",
    "TEXT_MAX_BYTES",
    "TITLE_FIELDS",
    "USER_TYPES",
    "ChatSend",
    "allocate_seq",
    "edit_window",
    "file_upload",
    "fill_title",
    "member_add",
    "member_remove",
    "member_update",
    "message_delete",
    "message_edit",
    "message_post_system",
    "message_send",
    "message_send_batch",
    "reaction_add",
    "reaction_remove",
    "room_create",
    "room_create_from_template",
    "room_update",
    "template_create",
    "template_delete",
    "template_update",
    "template_validate",
]
