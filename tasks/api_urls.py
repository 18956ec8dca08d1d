"""REST routes of the tasks app under /api/ (route names are prefixed "api-" within the
"tasks" namespace so they never clash with the web page names)."""

from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("projects", api.ProjectViewSet, basename="api-project")
router.register("statuses", api.StatusViewSet, basename="api-status")
router.register("custom-fields", api.CustomFieldViewSet, basename="api-custom-field")
router.register("project-templates", api.ProjectTemplateViewSet, basename="api-project-template")
router.register("tasks", api.TaskViewSet, basename="api-task")
router.register("comments", api.CommentViewSet, basename="api-comment")
router.register("attachments", api.AttachmentViewSet, basename="api-attachment")

urlpatterns = router.urls
