"""Wake the sender when new messages are committed. (Interface; the sender side implements it.)"""


def notify_sender() -> None:
    """Called from `transaction.on_commit` after messages are queued. Best effort: the sender also polls."""
