"""What the run's child processes print, in the run's output.

A run's own ``print`` goes to the recorder (:mod:`playground.tracer.capture`),
but its descriptors 1 and 2 are the jail's raw output, which the server can
only show after the run, as stderr. A child process (a program, a pool's
worker) writes there, so once the run starts its first child
(``ChildOutput.ensure``), descriptors 1 and 2 become pipes that a thread of
the tracer reads: each line a child writes to its inherited stdout or
stderr is an output line of the run, at the moment it arrived, as in a
terminal. The raw output stays for the run's own crash report
(``faulthandler``). ``drain`` reads whatever is waiting at once: the tracer
calls it when a child ends, so what the child printed comes before
anything the run prints after learning of the end.

Nothing of this exists in a run that starts no child.
"""

from __future__ import annotations

import codecs
import faulthandler
import os
import select
import threading
from typing import Any

from . import protocol
from .capture import MAX_LINE_CHARS
from .recorder import Recorder

READ_BYTES = 64 * 1024
STREAMS = ((1, "stdout"), (2, "stderr"))


class ReaderThread(threading.Thread):
    """The thread that reads what children print (it never calls the loop back)."""


class ChildOutput:
    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._lock = threading.Lock()
        self.started = False
        self._streams: dict[int, str] = {}  # read end -> stream name
        self._partial: dict[str, str] = {}
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for _, name in STREAMS}
        self.raw_fd: int | None = None

    def ensure(self) -> None:
        """Make descriptors 1 and 2 pipes the tracer reads, once."""
        if self.started:
            return
        with self._lock:
            if self.started:
                return
            self.started = True
            made: list[int] = []
            try:
                raw = os.dup(1)
                made.append(raw)
                pipes = []
                for _, name in STREAMS:
                    read, write = os.pipe()
                    made += [read, write]
                    os.set_blocking(read, False)
                    pipes.append((read, write, name))
            except OSError:  # no descriptor left: children write to the raw output
                for fd in made:
                    os.close(fd)
                return
            self.raw_fd = raw
            faulthandler.enable(file=raw)
            for (target, _), (read, write, name) in zip(STREAMS, pipes, strict=True):
                os.dup2(write, target)
                os.close(write)
                self._streams[read] = name
        ReaderThread(target=self.read, name="playground-output", daemon=True).start()

    def read(self) -> None:
        """The reading thread: send what arrives, as it arrives."""
        poller = select.poll()
        for fd in list(self._streams):
            poller.register(fd, select.POLLIN)
        while self._streams:
            try:
                poller.poll()
            except OSError:
                return
            self.drain()

    def drain(self) -> None:
        """Send what the children wrote so far, line by line."""
        if not self.started:
            return
        with self._lock:
            messages: list[tuple[Any, ...]] = []
            for fd, name in list(self._streams.items()):
                while True:
                    try:
                        data = os.read(fd, READ_BYTES)
                    except BlockingIOError:
                        break
                    except OSError:
                        data = b""
                    if not data:
                        del self._streams[fd]
                        break
                    self._lines(name, self._decoders[name].decode(data), messages)
            self._send(messages)

    def _lines(self, name: str, text: str, into: list[tuple[Any, ...]]) -> None:
        now = self._recorder.clock.now_ns()
        *lines, rest = (self._partial.pop(name, "") + text).split("\n")
        while len(rest) > MAX_LINE_CHARS:  # a terminal wraps it; the server keeps no more of a line
            lines.append(rest[:MAX_LINE_CHARS])
            rest = rest[MAX_LINE_CHARS:]
        into += [(protocol.OUTPUT, now, None, name, line) for line in lines]
        if rest:
            self._partial[name] = rest

    def _send(self, messages: list[tuple[Any, ...]]) -> None:
        if messages:
            self._recorder._last_output = messages[-1][1]
            self._recorder.channel.send_batch_now(messages)

    def finish(self) -> None:
        """The run ends: send what is waiting, and the lines left unfinished."""
        self.drain()
        with self._lock:
            now = self._recorder.clock.now_ns()
            messages = [(protocol.OUTPUT, now, None, name, text) for name, text in self._partial.items()]
            self._partial.clear()
            self._send(messages)

    def give_back(self) -> None:
        """Descriptors 1 and 2 the raw output again (the run execs another
        program, which nothing of the tracer will read)."""
        self.finish()
        if self.raw_fd is not None:
            os.dup2(self.raw_fd, 1)
            os.dup2(self.raw_fd, 2)

    def forget_in_child(self) -> None:
        """In a process forked from the run: its stdout and stderr stay the
        pipes (the run reads them), the read ends and the raw output go."""
        for fd in [*self._streams, *(() if self.raw_fd is None else (self.raw_fd,))]:
            try:
                os.close(fd)
            except OSError:
                pass
        self._streams.clear()
        self.raw_fd = None
        self.started = True  # nothing more to set up in a child
        faulthandler.enable(file=2)
