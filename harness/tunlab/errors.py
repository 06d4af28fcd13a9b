"""The failures the harness reports. Each message says what was expected, what came
instead, and where the logs are."""

from __future__ import annotations


class TunlabError(Exception):
    """Base class of every failure the harness raises on purpose."""


class SetupError(TunlabError):
    """Something the run needs is missing or failed to build (a package, an image, a file):
    an error of the run, never a skip."""


class TargetUnavailable(SetupError):
    """The target cannot run on this machine (the DragonFly target without its image,
    libvirt where namespaces are refused): the one setup problem that skips tests. The
    message says why and what would make it runnable."""


class UsageError(TunlabError):
    """An option or setting names something that does not exist (an unknown target or
    backend): the command line is wrong, exit status 2."""


class SettingError(SetupError):
    """A setting (an environment variable, an option's value) is not acceptable; the message
    is one line naming the setting, the value and what is accepted."""


class DiskFull(TunlabError):
    """A log or build file could not be written because its file system is full (ENOSPC)."""

    def __init__(self, path: object, what: str = "writing") -> None:
        super().__init__(f"no space left on the device {what} {path}: free some space "
                         f"(old logs: build/logs, build/test-logs) and run again")
        self.path = path


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
