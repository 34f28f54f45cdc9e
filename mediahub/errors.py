"""One exception hierarchy for everything a user can get wrong.

Every message names the file, URL or key at fault and says how to fix it, so
the CLI can print it as one line without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class MediahubError(Exception):
    """Root of every error mediahub raises on purpose."""

    def __init__(self, where: str, problem: str, fix: str = "") -> None:
        self.where = where
        self.problem = problem
        self.fix = fix
        super().__init__(self.line())

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its attributes, so an error can cross a process boundary (the parse pool).
        return (_restore, (type(self), self.args, dict(self.__dict__)))

    def line(self) -> str:
        """The one-line form the CLI prints: ``where: problem (fix)``."""
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        return f"{text} ({self.fix})" if self.fix else text


def unexpected(exc: BaseException) -> str:
    """An exception mediahub did not mean to raise, as a problem of one line (type and
    message, spacing folded, at most 300 characters): for the error that contains it."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _restore(
    cls: type[MediahubError], args: tuple[object, ...], state: dict[str, object]
) -> MediahubError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(MediahubError):
    """mediahub.toml is missing, malformed or holds a bad value."""


class ContentError(MediahubError):
    """An episode folder, post or side file cannot be read as content."""


class AudioError(MediahubError):
    """An audio file cannot be read or tagged."""


class BuildError(MediahubError):
    """The site cannot be published; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[MediahubError]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(
            "build",
            f"{count} problem{'s' if count != 1 else ''} found, nothing was published",
            "fix the files named above and build again",
        )


class StoreError(MediahubError):
    """The database under .mediahub/ cannot be opened or is damaged."""


class FetchError(MediahubError):
    """A feed or page could not be fetched: network failure, bad status, a limit hit.

    ``status`` is the HTTP status when there was one; ``retry_after`` the seconds
    the server asked us to wait (429/503), which the scheduler honours.
    """

    def __init__(
        self,
        where: str,
        problem: str,
        fix: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(where, problem, fix)


class GuardError(FetchError):
    """The network guard refused an address (loopback, private, link-local, ...)."""


class ParseError(MediahubError):
    """A downloaded body is not a feed at all (an HTML page, an empty or unreadable document)."""


class WorkerError(MediahubError):
    """A worker process died mid-task (killed, out of memory, a crash in C code).

    Not the user's input at fault as such, but not a bug to show a traceback for
    either: the work it held is lost, so the build stops and says how to run again
    with less memory. (Aggregating, a feed lost so is parsed again alone instead;
    see ``aggregate.cycle``.)
    """
