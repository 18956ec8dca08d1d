"""/ws/projects/{id}/: the live board. Read-only for clients: task events arrive from
tasks/services.py through contorl.events.publish (after commit) and are relayed as they are.

Who may listen is exactly who may view the project (tasks/permissions.py); a project the user
may not see closes 4404 like a missing one. A membership removal kicks the socket through
the base class's `access.revoked` handler.
"""

import functools

from contorl.consumers import CLOSE_NOT_FOUND, ContorlConsumer, off_shared_thread
from contorl.events import project_group

from .models import Project
from .permissions import can_view_project

# The events a project socket carries (see CONTRACT.md, WebSocket protocol).
PROJECT_EVENTS = (
    "task_created",
    "task_updated",
    "task_status_changed",
    "task_deleted",
    "task_restored",
    "task_assigned",
)


def _authorize(project_id: int, user) -> int | None:
    # Missing and hidden look the same (4404), as in REST: the close code must not tell
    # an outsider which project ids exist.
    project = Project.objects.filter(pk=project_id).only("pk", "department_id").first()
    return None if project is not None and can_view_project(user, project) else CLOSE_NOT_FOUND


class ProjectConsumer(ContorlConsumer):
    client_frames = ()  # clients only listen (and answer pings)

    @functools.cached_property
    def project_id(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["project_id"])

    async def authorize(self, user):
        return await off_shared_thread(_authorize)(self.project_id, user)  # admissions in parallel

    async def groups_for(self, user_id):
        return [project_group(self.project_id)]

    async def on_ready(self):
        # Tells the client it is subscribed: anything committed from now on will arrive, so
        # this is the moment to (re)fetch the board and never miss an event in between.
        await self.send_frame({"type": "ready", "data": {"project": self.project_id}})
