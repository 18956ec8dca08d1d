"""The audit trail: append-only (database triggers, see audit/triggers.py) and HMAC-chained.

A row is inserted *unsealed* (seq, prev_hash and hash NULL) inside the business
transaction; the sealer (audit/sealing.py) later gives it the next chain position `seq`
and `hash` = HMAC-SHA256(AUDIT_HMAC_KEY, its content + `prev_hash`), the hash of the row at
seq - 1. Editing, deleting or inserting a sealed row behind the application's back breaks
the chain at that row; `audit_verify` finds it (audit/README.md has the threat model).
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Defined in the kernel so contorl/accounts can name a sensitivity without importing this app.
from contorl.auditing import Sensitivity
from contorl.prepared_writes import PreparedInsert

GENESIS_HASH = "0" * 64


class AuditLog(PreparedInsert):
    event_type = models.CharField(_("event type"), max_length=64, db_index=True)
    sensitivity = models.CharField(_("sensitivity"), max_length=10, choices=Sensitivity.choices, db_index=True)
    # PROTECT: an UPDATE to null the actor would be refused by the append-only trigger
    # anyway; users with an audit history are deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    object_type = models.CharField(_("object type"), max_length=100, blank=True, default="")
    object_id = models.CharField(_("object id"), max_length=64, blank=True, default="")
    changes = models.JSONField(_("changes"), null=True, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, default="")
    # A CharField, not GenericIPAddressField: PostgreSQL's inet would re-normalise the text
    # and the stored value must be byte-for-byte what was hashed.
    ip = models.CharField(_("IP address"), max_length=45, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    # The seal, set once by the sealer (NULL -> value; the update trigger allows nothing else).
    # Chain order is seal order, not id order: ids commit out of order under concurrency.
    # Unique: two rows at one position or claiming the same predecessor would be a fork of
    # the chain, so the database refuses it even if the sealer's lock were ever bypassed.
    seq = models.PositiveBigIntegerField(_("chain position"), null=True, blank=True, unique=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, null=True, blank=True, unique=True)
    hash = models.CharField(_("hash"), max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # What the sealer reads: the few rows not sealed yet, in id order.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sensitivity__in=["low", "medium", "high", "critical"]),
                name="auditlog_sensitivity_valid",
            ),
            models.CheckConstraint(condition=~models.Q(event_type=""), name="auditlog_event_type_not_empty"),
            models.CheckConstraint(
                condition=models.Q(seq__isnull=True, prev_hash__isnull=True, hash__isnull=True)
                | models.Q(seq__isnull=False, prev_hash__isnull=False, hash__isnull=False),
                name="auditlog_sealed_whole",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.event_type} ({self.sensitivity})"

    @property
    def sealed(self) -> bool:
        return self.seq is not None
