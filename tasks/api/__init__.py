"""REST API for projects, tasks and their parts: parse, look up what the caller may see, call
a service, render.

Permission rule everywhere: an object the user may not see is 404; a visible object the user
may not change is 403 (tasks/permissions.py decides both).

- serializers.py  input validation (output is the selectors' payloads)
- projects.py     projects, members, statuses, custom fields, project templates
- tasks.py        tasks: CRUD, restore, bulk update, dependencies, history
- discussion.py   comments and attachments
"""

# What tasks/api_urls.py, tasks/openapi.py and other apps (planning: StrictPK) import from here.
from .discussion import AttachmentViewSet, CommentViewSet  # noqa: F401
from .projects import CustomFieldViewSet, ProjectTemplateViewSet, ProjectViewSet, StatusViewSet  # noqa: F401
from .serializers import (  # noqa: F401
    AttachmentSerializer,
    CommentSerializer,
    CustomFieldSerializer,
    MemberSerializer,
    ProjectSerializer,
    StatusSerializer,
    StrictPK,
    TaskSerializer,
    TemplateSerializer,
)
from .tasks import TaskViewSet  # noqa: F401
