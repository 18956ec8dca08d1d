"""Plain-dict representations shared by the REST API, WebSocket frames and the UI."""

from collections import defaultdict

from django.urls import reverse

from contorl.payloads import user_brief

from . import markdown


def reaction_summary(reactions) -> list[dict]:
    """[{emoji, count, users: [ids]}] in first-used order."""
    grouped: dict[str, list[int]] = defaultdict(list)
    for r in reactions:
        grouped[r.emoji].append(r.user_id)
    return [{"emoji": e, "count": len(users), "users": users} for e, users in grouped.items()]


def message_html(message) -> str:
    """Display HTML for the stored source: Markdown for what people type, escaped text otherwise."""
    if message.message_type in ("text", "incident_data"):
        return markdown.render(message.content)
    return markdown.render_plain(message.content)


def message_payload(message, *, reactions=None) -> dict:
    deleted = message.deleted_at is not None
    if reactions is None:
        reactions = list(message.reactions.all()) if message.pk else []
    return {
        "id": message.pk,
        "room": message.room_id,
        "seq": message.seq,
        "sender": user_brief(message.sender) if message.sender_id else None,
        # A deleted message keeps its seq (so the stream has no gap) but not its content.
        "content": "" if deleted else message.content,
        "html": "" if deleted else message_html(message),  # safe to insert; `content` is the source
        "message_type": message.message_type,
        "metadata": {} if deleted else message.metadata,
        "client_id": message.client_id,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "deleted_at": message.deleted_at,
        "is_deleted": deleted,
        "reactions": [] if deleted else reaction_summary(reactions),
        "version": message.version,
    }


def member_payload(member) -> dict:
    return {
        "id": member.pk,
        "room": member.room_id,
        "user": user_brief(member.user),
        "role": member.role,
        "version": member.version,
        "created_at": member.created_at,
    }


def room_payload(room, *, my_role: str | None = None, member_count: int | None = None) -> dict:
    data = {
        "id": room.pk,
        "title": room.title,
        "description": room.description,
        "status": room.status,
        "severity": room.severity,
        "location": room.location,
        "task": getattr(room, "task_id", None),
        "created_by": user_brief(room.created_by) if room.created_by_id else None,
        "created_at": room.created_at,
        "updated_at": room.updated_at,
        "last_seq": room.last_seq,
        "version": room.version,
    }
    if my_role is not None:
        data["my_role"] = my_role
    if member_count is not None:
        data["member_count"] = member_count
    return data


def template_payload(template) -> dict:
    return {
        "id": template.pk,
        "name": template.name,
        "title_pattern": template.title_pattern,
        "description": template.description,
        "severity": template.severity,
        "location": template.location,
        "members": template.members,
        "version": template.version,
        "created_at": template.created_at,
        "updated_at": template.updated_at,
    }


def file_payload(room_file) -> dict:
    return {
        "id": room_file.pk,
        "room": room_file.room_id,
        "name": room_file.original_name,
        "content_type": room_file.content_type,
        "size": room_file.size,
        "width": room_file.width,
        "height": room_file.height,
        "is_image": room_file.is_image,
        "url": reverse("rooms:room-file-download", args=[room_file.pk]),
        "thumbnail_url": reverse("rooms:room-file-thumbnail", args=[room_file.pk]) if room_file.thumbnail else None,
        "uploaded_by": user_brief(room_file.uploaded_by) if room_file.uploaded_by_id else None,
        "created_at": room_file.created_at,
    }


def file_ref(room_file) -> dict:
    """What a file message stores in its metadata (JSON-safe, no timestamps)."""
    data = file_payload(room_file)
    return {
        k: data[k]
        for k in ("id", "name", "content_type", "size", "width", "height", "is_image", "url", "thumbnail_url")
    }


def edit_payload(edit) -> dict:
    return {
        "id": edit.pk,
        "content": edit.content,
        "html": markdown.render(edit.content),
        "metadata": edit.metadata,
        "edited_by": user_brief(edit.edited_by) if edit.edited_by_id else None,
        "edited_at": edit.edited_at,
    }
