import io

import pytest

from tasks import seed
from tasks.models import Project, ProjectMember, Task, TaskDependency

pytestmark = pytest.mark.django_db


def test_seed_is_complete_and_idempotent(make_user, other_department):
    users = {
        "alice": make_user("alice", is_department_manager=True),
        "bob": make_user("bob"),
        "carol": make_user("carol", department=other_department),
        "dave": make_user("dave", department=other_department),
    }
    seed.seed(users=users, stdout=io.StringIO())
    seed.seed(users=users, stdout=io.StringIO())
    assert Project.objects.count() == 2
    assert Task.objects.count() >= 50 and Task.objects.filter(parent__isnull=False).exists()
    assert TaskDependency.objects.count() >= 10
    assert Task.all_objects.filter(is_deleted=True).exists()
    roles = {(m.project.key, m.user.username): m.role for m in ProjectMember.objects.select_related("project", "user")}
    assert roles[("LINE3", "alice")] == "owner" and roles[("LINE3", "dave")] == "viewer"
    assert ("LINE3", "carol") in roles and ("PACK1", "carol") not in roles
    costed = Task.objects.filter(estimated_hours__isnull=False, custom_fields__has_key="rate").first()
    assert costed.custom_fields["cost"] == float(costed.estimated_hours) * costed.custom_fields["rate"]
