from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = "Automation triggers and scheduled reports"

    def ready(self):
        from django.db.models.signals import post_delete, post_save
        from simple_history.signals import post_create_historical_record

        from automation import armed, hooks, services
        from automation.models import Trigger
        from tasks import services as task_services
        from tasks.models import Task
        from tasks.signals import task_event

        # Every task write leaves a historical record (the before/after snapshot) and sends
        # task_event (the event the service chose): triggers hook in there, so the tasks
        # app's services need no knowledge of automation.
        post_create_historical_record.connect(
            hooks.on_task_history, sender=Task.history.model, dispatch_uid="automation.task_history"
        )
        task_event.connect(hooks.on_task_event, sender=Task, dispatch_uid="automation.task_event")
        # Whoever changes a trigger (services, admin, templates, seed), task writes stop
        # believing a cached "this project has none" (automation/armed.py).
        post_save.connect(armed.on_trigger_saved, sender=Trigger, dispatch_uid="automation.trigger_saved")
        post_delete.connect(armed.on_trigger_deleted, sender=Trigger, dispatch_uid="automation.trigger_deleted")
        # Project templates carry triggers: snapshot on save-as-template, copy on create.
        if services.template_snapshot_hook not in task_services.TEMPLATE_SNAPSHOT_HOOKS:
            task_services.TEMPLATE_SNAPSHOT_HOOKS.append(services.template_snapshot_hook)
        if services.template_apply_hook not in task_services.TEMPLATE_APPLY_HOOKS:
            task_services.TEMPLATE_APPLY_HOOKS.append(services.template_apply_hook)
