from django.shortcuts import render


def forbidden(request, exception=None):
    """403 page in Chinese; the reason is shown when the view gave one."""
    reason = str(exception) if exception and str(exception) else "您没有权限访问此页面。"
    return render(request, "portal/403.html", {"reason": reason}, status=403)
