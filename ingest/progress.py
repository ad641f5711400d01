"""One updating progress line for long work, and names made safe to print.

On a terminal the line is redrawn in place (at most ten times a second); in a
log (not a terminal) a line is written at most every LOG_EVERY_SECONDS, plus
the last one, so an inbox of thousands of files prints a handful of lines.
"""

from __future__ import annotations

import sys
import time
import unicodedata

LOG_EVERY_SECONDS = 10.0
REDRAW_EVERY_SECONDS = 0.1


def printable(text: str) -> str:
    """`text` with control and other unprintable characters escaped (\\n, \\x1b, ...),
    so a file name can never break a line or drive the terminal."""
    return "".join(
        character
        if character.isprintable() and unicodedata.category(character) != "Zl"
        else character.encode("unicode_escape").decode("ascii")
        for character in text
    )


class ProgressLine:
    def __init__(self, what: str, stream=None):
        self.what = what
        self.stream = stream or sys.stderr
        self.on_terminal = self.stream.isatty()
        self._last_shown = 0.0
        self._width = 0
        self.finished = False

    def update(self, done: int, total: int, detail: str = "", final: bool = False) -> None:
        now = time.monotonic()
        every = REDRAW_EVERY_SECONDS if self.on_terminal else LOG_EVERY_SECONDS
        if not final and done != total and now - self._last_shown < every:
            return
        self._last_shown = now
        line = f"  {self.what}: {done:,}/{total:,}" + (f"  {printable(detail)}" if detail else "")
        last = final or done == total
        if self.on_terminal:
            line = line[:160]
            padding = " " * max(self._width - len(line), 0)
            self.stream.write(f"\r{line}{padding}" + ("\n" if last else ""))
            self._width = 0 if last else len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.finished = last

    def finish(self, done: int, total: int) -> None:
        """Show the final count, unless the last update already did."""
        if not self.finished:
            self.update(done, total, final=True)
