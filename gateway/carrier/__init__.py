"""What every carrier protocol shares, without Django: the protocol-neutral session the sender talks to
(`session.py`), the registry that picks an implementation by a node's protocol (`registry.py`) and the one
back-off (`backoff.py`). Protocol packages (`gateway.cmpp` today) sit beside this one. See ADR 0100."""
