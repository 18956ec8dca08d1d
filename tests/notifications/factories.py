import factory
from django.utils import timezone

from notifications.models import Notification


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    type = "mention"
    title = factory.Sequence(lambda n: f"Mentioned in task #{n}")
    body = "Please look at this."
    link = "/projects/1/"


def read(n: Notification) -> Notification:
    n.read_at = timezone.now()
    n.save(update_fields=["read_at"])
    return n
