from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "contorl.accounts"
    label = "accounts"
    verbose_name = "Users and departments"

    def ready(self):
        from . import revocation

        revocation.connect()  # deactivation, password change and deletion close the user's sockets
