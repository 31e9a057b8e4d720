from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PendingTask(models.Model):
    """A Celery task on its way to the broker (the outbox, docs/adr/0061).

    Written in the same transaction as the change that asks for it, published right after the commit and
    deleted once the broker has it. A row that stays means Redis did not answer: the relay (a beat entry)
    publishes it again, so nothing asked for is lost and the action that asked never waits on Redis."""

    task = models.CharField(_("任务"), max_length=200)
    args = models.JSONField(_("位置参数"), default=list, blank=True)
    kwargs = models.JSONField(_("关键字参数"), default=dict, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(_("发布尝试次数"), default=0)
    last_attempt_at = models.DateTimeField(_("最近尝试时间"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("待发布任务")
        verbose_name_plural = _("待发布任务")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
