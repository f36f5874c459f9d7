"""The wire protocol between the jail and the server.

Once started, the jail writes ``READY`` on its standard output and waits:
a jail can be started ahead of a run. The server then writes one JSON line of settings, then the snippet, to the jail's
standard input, and closes it. The tracer answers on the file descriptor the
settings name (``events_fd``, by default ``EVENTS_FD``) with batches of
messages as things happen: each line is a JSON array of messages, each
message an array ``[kind, *fields]``.

Everything on that descriptor is untrusted: the snippet can write to it too.
The server parses and validates each line (see :mod:`playground.trace`).
"""

EVENTS_FD = 3

# The prelude's first and only bytes on standard output before the snippet
# arrives: its imports are done and it waits for the settings.
READY = b"\x00playground-ready\n"

SNIPPET_FILENAME = "<snippet>"

# Set to "0" in the server's environment, an unsandboxed run (PLAYGROUND_SANDBOX=
# none, the tests, the benchmarks) uses the tracer's pure-Python hot path
# instead of its C accelerator, to compare them.
SPEEDUPS_ENV = "PLAYGROUND_TRACER_SPEEDUPS"

# Messages, with their fields after the kind. Times are integer nanoseconds
# since the run started, on the run's clock.
START = "start"  # clock ("virtual" or "real")
TASK = "task"  # id, name, coro, parent id or null, line or null, created
TASK_END = "done"  # id, ended, state, error type or null, error message or null, line or null
STEP = "step"  # task id or null, start, end[, blocking reason, line or null]
# Packed messages carry base64 of native-endian int64 numbers:
TASKS = "tasks"  # packed (id, parent or -1, line or -1, created) per task, [names], [coros]
ENDS = "ends"  # packed (id, ended) per task that ended normally ("done")
STEPS = "steps"  # packed (task id, start, end) per ordinary step

# The bulk of a trace, tasks announced, ordinary steps and normal ends,
# travels as binary frames beside the lines, with no base64: FRAME_MARK (a
# byte no JSON line starts with), the kind (FRAME_KINDS), the payload's
# length as a native uint32, then the payload: the same native int64 records
# as the packed messages above; for tasks, their count as a native uint32
# first, and after the numbers one JSON array [names, coros]. A flush writes
# its tasks frame, then its line, then its steps and ends frames, so every
# task a message names was announced before it.
FRAME_MARK = 0
FRAME_HEADER = "=BBI"  # struct format: mark, kind, length
FRAME_TASKS_COUNT = "=I"
FRAME_STEPS = 1
FRAME_ENDS = 2
FRAME_TASKS = 3
FRAME_KINDS = {FRAME_STEPS: STEPS, FRAME_ENDS: ENDS, FRAME_TASKS: TASKS}
WAIT = "wait"  # task id, start, end, on or null, line or null, chain (list of names)
OUTPUT = "out"  # t, task id or null, stream, text
EVENT = "event"  # t, kind, task id or null, message, line or null
ERROR = "error"  # {type, message, line, traceback: [{line, name, text}]}
TRUNCATED = "truncated"  # (no fields)
END = "end"  # status claimed by the tracer, duration (ns)

# Statuses the tracer may claim. The server alone decides the others
# (timeout, cpu_limit, output_limit, crashed) from what it sees outside.
TRACER_STATUSES = ("ok", "error", "deadlock", "memory_limit", "timeout")
