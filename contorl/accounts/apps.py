from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "contorl.accounts"
    label = "accounts"
    verbose_name = "Users and departments"
