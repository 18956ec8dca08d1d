"""Every write to projects and tasks: validate, save (versioned), audit, publish after commit.

Views, the Django admin, consumers and Celery tasks call these functions and nothing else
writes these models, so every path checks versions, audits and publishes the same way.

Project events (group `project_group(project_id)`), each carrying `task_payload(task)`:
- task_created
- task_updated         (any other field edit, and dependency added/removed on that task)
- task_status_changed  (the status changed; wins over the others when several change at once)
- task_assigned        (the assignee changed and the status did not)
- task_deleted         one event PER TASK: the task itself and each cascaded subtask
- task_restored        one event PER TASK restored, likewise
Exactly one event is published per task per write.
"""

# The public surface: callers use `from tasks import services; services.task_update(...)`.
from ._common import (  # noqa: F401
    DEFAULT_STATUSES,
    MAX_BULK_ITEMS,
    MAX_SUBTASK_DEPTH,
    NOT_IN_PROJECT,
    TASK_FIELDS,
    TEMPLATE_APPLY_HOOKS,
    TEMPLATE_SNAPSHOT_HOOKS,
    TaskWrite,
)
from .dependencies import (  # noqa: F401
    dependency_add,
    dependency_path,
    dependency_remove,
    find_dependency_cycle,
    reaches,
)
from .discussion import (  # noqa: F401
    ALLOWED_TYPES,
    attachment_create,
    attachment_delete,
    clean_filename,
    comment_create,
    comment_delete,
    comment_update,
    parse_mentions,
)
from .fields import (  # noqa: F401
    RESERVED_KEYS,
    custom_field_create,
    custom_field_delete,
    custom_field_update,
    recompute_project_formulas,
)
from .projects import (  # noqa: F401
    clean_template_data,
    member_add,
    member_remove,
    member_update,
    project_create,
    project_delete,
    project_save_as_template,
    project_update,
    status_create,
    status_delete,
    status_update,
    template_create,
    template_delete,
    template_snapshot,
    template_update,
)
from .tasks import (  # noqa: F401
    blocked_by_deleting,
    task_bulk_update,
    task_create,
    task_create_published,
    task_delete,
    task_move,
    task_restore,
    task_update,
    task_update_published,
)
