"""A user who loses access loses their open WebSockets too, whatever path took it away.

Deactivation (the admin, a service, any ORM save), a password change and deletion close
every socket of the user with 4401, after commit and in every process: each
ContorlConsumer joins `user_sockets_group(user_id)`, and the close goes through the event
door (contorl/events.py), so a Redis outage delays it instead of dropping it. "Sign out
everywhere" and session sign-outs close sockets from contorl/accounts/sessions.py.

Signals, not the services, because the admin form and plain `save()` calls skip the
services. A bulk `QuerySet.update()` sends no signal: the consumers re-check the user on
every inbound frame for that case (contorl/consumers.py).
"""

from django.db.models.signals import post_delete, post_save, pre_save

from .models import User
from .sessions import close_user_sockets

WATCHED = frozenset({"is_active", "password"})
_FLAG = "_contorl_close_sockets"


def _before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not WATCHED & set(update_fields):
        return  # e.g. last_login on every sign-in: no extra query
    old = sender._base_manager.filter(pk=instance.pk).values("is_active", "password").first()
    if old is not None:
        lost = old["is_active"] and not instance.is_active
        setattr(instance, _FLAG, lost or old["password"] != instance.password)


def _after_save(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if created or raw:
        return
    close = instance.__dict__.pop(_FLAG, None)
    if close is None:
        # contorl.versioning.versioned_update writes with UPDATE and sends only post_save,
        # naming the fields it wrote.
        fields = update_fields or ()
        close = ("is_active" in fields and not instance.is_active) or "password" in fields
    if close:
        close_user_sockets(instance.pk)


def _after_delete(sender, instance, **kwargs):
    close_user_sockets(instance.pk)


def connect() -> None:
    pre_save.connect(_before_save, sender=User, dispatch_uid="contorl.revocation.pre_save")
    post_save.connect(_after_save, sender=User, dispatch_uid="contorl.revocation.post_save")
    post_delete.connect(_after_delete, sender=User, dispatch_uid="contorl.revocation.post_delete")
