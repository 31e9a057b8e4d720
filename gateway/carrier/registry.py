"""Which `CarrierSession` implementation speaks a node's protocol.

A protocol package registers its factory under the protocol names it serves (`register`). The built-in ones
are imported the first time one of their names is asked for, so the sender never imports a protocol package
itself: adding SMGP means a `gateway/smgp/` package with its own `carrier.py` and one line in `_BUILTIN`.
"""

from __future__ import annotations

import importlib

from gateway.carrier.session import SessionFactory

__all__ = ["UnknownProtocol", "protocols", "register", "session_factory", "unregister"]

# protocol name -> the module that registers it when imported
_BUILTIN = {
    "cmpp2.0": "gateway.cmpp.carrier",
    "cmpp3.0": "gateway.cmpp.carrier",
}
_FACTORIES: dict[str, SessionFactory] = {}


class UnknownProtocol(LookupError):
    def __init__(self, protocol: str) -> None:
        super().__init__(f"no carrier session implementation for protocol {protocol!r}")
        self.protocol = protocol


def register(protocol: str, factory: SessionFactory) -> None:
    _FACTORIES[protocol] = factory


def unregister(protocol: str) -> None:
    _FACTORIES.pop(protocol, None)


def session_factory(protocol: str) -> SessionFactory:
    factory = _FACTORIES.get(protocol)
    if factory is None and protocol in _BUILTIN:
        importlib.import_module(_BUILTIN[protocol])
        factory = _FACTORIES.get(protocol)
    if factory is None:
        raise UnknownProtocol(protocol)
    return factory


def protocols() -> list[str]:
    """Every protocol name a node may use: built in or registered."""
    return sorted(set(_BUILTIN) | set(_FACTORIES))
