"""The failures the harness reports. Each message says what was expected, what came
instead, and where the logs are."""

from __future__ import annotations


class TunlabError(Exception):
    """Base class of every failure the harness raises on purpose."""


class SetupError(TunlabError):
    """Something the run needs is missing (a package, an image, a file)."""


class GuestCrash(TunlabError):
    """The guest kernel panicked, oopsed or trapped (seen on the console)."""

    def __init__(self, message: str, kind: str, title: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.title = title


class GuestDied(TunlabError):
    """The VM process ended when it should still be running."""


class AgentTimeout(TunlabError):
    """The agent did not answer within the bounded wait."""


class ProtocolError(TunlabError):
    """A frame from the agent broke the protocol (docs/protocol.md)."""


class AgentError(TunlabError):
    """The agent answered a request with an `err` reply."""

    def __init__(self, verb: str, name: str, errno: int | None, msg: str) -> None:
        text = f"agent: {verb} failed: {name}"
        if errno is not None:
            text += f" (errno {errno})"
        if msg:
            text += f": {msg}"
        super().__init__(text)
        self.verb = verb
        self.name = name
        self.errno = errno
        self.msg = msg
