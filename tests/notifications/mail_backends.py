"""E-mail backends for the delivery tests: a flaky SMTP server, and one that refuses."""

import smtplib

from django.core.mail.backends.locmem import EmailBackend as LocMemBackend


class FlakyBackend(LocMemBackend):
    """Fails the first `failures` sends like a server that hangs up, then delivers to mail.outbox."""

    failures = 0
    attempts = 0

    def send_messages(self, messages):
        type(self).attempts += 1
        if type(self).attempts <= type(self).failures:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


class RefusingBackend(LocMemBackend):
    attempts = 0

    def send_messages(self, messages):
        type(self).attempts += 1
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"No such user")})
