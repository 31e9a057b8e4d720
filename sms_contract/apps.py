"""App configurations the project adjusts: django-axes gets a Chinese name in the admin."""

from axes.apps import AppConfig as AxesAppConfig


class AxesConfig(AxesAppConfig):
    verbose_name = "登录防护"
