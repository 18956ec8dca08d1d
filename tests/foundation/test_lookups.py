"""contorl.lookups.visible_or_404: missing, hidden and malformed ids all answer 404."""

import pytest

from contorl.errors import NotFound
from contorl.lookups import visible_or_404
from tasks.models import Project
from tests.board.factories import make_project

pytestmark = pytest.mark.django_db


def test_found_missing_hidden_and_malformed(user):
    project = make_project(user)
    assert visible_or_404(Project.objects.all(), project.pk) == project
    assert visible_or_404(Project.objects.all(), str(project.pk)) == project
    for pk in (project.pk + 1000, "abc", "1.5", None, [1]):
        with pytest.raises(NotFound):
            visible_or_404(Project.objects.all(), pk)
    with pytest.raises(NotFound):
        visible_or_404(Project.objects.all(), project.pk, may_see=lambda p: False)
