"""The rooms services check `by=` themselves: a caller that skips the API gets the same answer."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contorl.errors import Forbidden, NotFound
from rooms import services
from rooms.models import RoomFile, RoomMember
from tests.rooms.factories import make_room, send
from tests.rooms.test_files import png

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def err(response) -> str:
    return response.json()["error"]["code"]


def test_member_add_is_for_owners_and_hidden_from_outsiders(room, carol, other_user, make_user):
    dave = make_user("dave")
    with pytest.raises(Forbidden):
        services.member_add(room=room, user=dave, role="viewer", by=carol)
    with pytest.raises(NotFound):
        services.member_add(room=room, user=dave, role="viewer", by=other_user)
    assert not RoomMember.objects.filter(room=room, user=dave).exists()


def test_member_add_finds_the_user_only_after_the_owner_check(api_for, room, carol, user, make_user):
    # An editor learns nothing about user ids: unknown and empty answer 403 like a real one.
    dave = make_user("dave")
    editor = api_for(carol)
    for body in ({"user": 99999, "role": "viewer"}, {}, {"user": dave.pk, "role": "viewer"}):
        r = editor.post(f"/api/rooms/{room.pk}/members/", body, format="json")
        assert r.status_code == 403 and err(r) == "permission_denied", body
    r = api_for(user).post(f"/api/rooms/{room.pk}/members/", {"user": 99999}, format="json")
    assert r.status_code == 400 and r.json()["error"]["details"]["user"]
    member = services.member_add(room=room, username="dave", role="viewer", by=user)
    assert (member.user_id, member.role) == (dave.pk, "viewer")


def test_room_create_adds_its_first_members_without_an_owner_check(user, carol, viewer):
    # `by` becomes the owner in the same write, so the members it brings need no separate right.
    room = make_room(user, members=[(carol, "editor"), (viewer, "viewer")])
    roles = dict(RoomMember.objects.filter(room=room).values_list("user__username", "role"))
    assert roles == {"bob": "owner", "carol": "editor", "vera": "viewer"}


def test_file_upload_needs_a_writer_in_a_live_room(room, viewer, user, media):
    upload = SimpleUploadedFile("gauge.png", png(), content_type="image/png")
    with pytest.raises(Forbidden):
        services.file_upload(room=room, by=viewer, upload=upload)
    room = services.room_update(room=room, by=user, version=room.version, fields={"status": "archived"})
    with pytest.raises(Forbidden):
        services.file_upload(room=room, by=user, upload=upload)
    assert not RoomFile.objects.exists()


def test_a_viewer_upload_over_the_api_is_403(api_for, room, viewer, media):
    upload = SimpleUploadedFile("gauge.png", png(), content_type="image/png")
    r = api_for(viewer).post(f"/api/rooms/{room.pk}/files/", {"file": upload}, format="multipart")
    assert r.status_code == 403 and err(r) == "permission_denied"


def test_message_writes_check_the_caller(room, carol, viewer, other_user):
    message = send(room, carol, "pressure 6 bar")
    with pytest.raises(NotFound):
        services.message_send(room=room, by=other_user, content="hi")
    with pytest.raises(Forbidden):
        services.message_send(room=room, by=viewer, content="hi")
    with pytest.raises(NotFound):
        services.reaction_add(message=message, by=other_user, emoji="👍")
    with pytest.raises(Forbidden):
        services.message_delete(message=message, by=viewer)
