"""Demo incident rooms: a template and two rooms with members and messages (English and zh-Hant).

Idempotent: rooms are found by title; messages carry fixed client_ids, so a second run
stores nothing new.
"""

from . import services
from .models import Room, RoomTemplate

TEMPLATE = {
    "name": "Line stoppage",
    "title_pattern": "{location} stoppage {date}",
    "description": "Production line stopped: find the cause, restore output, record the fix.",
    "severity": "high",
    "location": "Line 3",
}

ROOMS = [
    {
        "title": "3號線停機 / Line 3 stoppage",
        "owner": "alice",
        "severity": "critical",
        "location": "3號線 Line 3",
        "description": "Hydraulic press P-7 lost pressure at 08:40; line 3 is down.",
        "members": [("bob", "editor"), ("carol", "editor"), ("dave", "viewer")],
        "messages": [
            ("alice", "3號線停機,等待維修"),
            ("carol", "P-7 液壓壓力只有 40 bar,正在檢查泵浦。"),
            ("bob", "@carol spare pump is in store room B, shelf 4."),
            ("carol", "Pump replaced, pressure back to 180 bar. 測試運轉中。"),
            ("alice", "謝謝大家 — restarting the line at 10:15."),
        ],
        "status": "resolved",
    },
    {
        "title": "Oven 2 temperature drift",
        "owner": "bob",
        "severity": "medium",
        "location": "Bake line 2",
        "description": "Zone 3 reads 12 °C above set point.",
        "members": [("carol", "editor"), ("dave", "editor")],
        "messages": [
            ("bob", "Zone 3 is 12 °C over set point since the night shift."),
            ("dave", "QA is holding the last two batches until we know more."),
            ("carol", "Thermocouple looks loose; I will re-seat it after the current batch."),
        ],
        "status": "active",
    },
]


def seed(users: dict, stdout) -> None:
    owner = users["alice"]
    template = RoomTemplate.objects.filter(name=TEMPLATE["name"]).first()
    if template is None:
        members = [{"user": users[u].pk, "role": "editor"} for u in ("bob", "carol") if u in users]
        template = services.template_create(by=owner, members=members, **TEMPLATE)
    for spec in ROOMS:
        room = Room.objects.filter(title=spec["title"]).first()
        if room is None:
            room_owner = users[spec["owner"]]
            members = [(users[u], role) for u, role in spec["members"] if u in users and users[u] != room_owner]
            room = services.room_create(
                by=room_owner,
                title=spec["title"],
                severity=spec["severity"],
                location=spec["location"],
                description=spec["description"],
                members=members,
            )
            for i, (username, content) in enumerate(spec["messages"]):
                services.message_send(room=room, by=users[username], content=content, client_id=f"seed-{room.pk}-{i}")
            if spec["status"] != room.status:
                room.refresh_from_db()
                services.room_update(room=room, by=room_owner, version=room.version, fields={"status": spec["status"]})
    stdout.write(f"rooms: template '{template.name}' and {len(ROOMS)} demo rooms ready")
