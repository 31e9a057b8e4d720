from django.contrib import admin, messages

from ops.models import PendingTask
from ops.services import pending_task_publish


@admin.register(PendingTask)
class PendingTaskAdmin(admin.ModelAdmin):
    """Tasks kept while Redis was down. An empty list is the normal state; the relay empties it within a minute
    of Redis coming back."""

    list_display = ("task", "created_at", "attempts", "last_attempt_at", "last_error")
    list_filter = ("task",)
    readonly_fields = ("task", "args", "kwargs", "created_at", "attempts", "last_attempt_at", "last_error")
    actions = ["publish_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="立即发布", permissions=["view"])
    def publish_now(self, request, queryset):
        done = sum(pending_task_publish(row=row) for row in queryset)
        level = messages.SUCCESS if done == len(queryset) else messages.WARNING
        self.message_user(request, f"已发布 {done} 个，{len(queryset) - done} 个仍在等待（Redis 未响应）。", level)
