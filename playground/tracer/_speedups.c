/* The tracer's hot path in C: the same code as hotpath.py, line for line.
 *
 * A traced run calls the recorder at every step of the loop (tens of
 * thousands of times a second) and for every task; in Python that alone
 * nearly doubles the run time of a loop of short steps. This module holds
 * the recorder's step state in a C base class (Core), keeps ordinary steps
 * and task ends in int64 buffers, and replaces the loop's ready deque with a
 * ring buffer (ReadyQueue) whose popleft marks the step boundary without
 * entering the interpreter. Everything rare (a blocking step, a wait, an
 * error, a cancelled task, a flush) calls back into the Python methods of
 * the Recorder subclass, exactly where hotpath.py calls them.
 *
 * The same module holds the run's init, from _runinit.c, which is
 * compiled with this file.
 *
 * Built by playground/speedups.py (scripts/setup runs it) against each
 * interpreter's own headers, CPython 3.11 to 3.13; hotpath.py uses the pure
 * Python version when this module is missing or disabled.
 *
 * Times come from CLOCK_MONOTONIC, which is what time.perf_counter_ns reads
 * on Linux; hotpath.py checks the two agree before using this module.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <structmember.h>
#include <sys/resource.h>
#include <time.h>

#if PY_VERSION_HEX < 0x030B0000
#error "the tracer's accelerator needs CPython 3.11 or later"
#endif

/* Set once by configure(). */
static PyObject *task_type;         /* asyncio.Task */
static PyObject *handle_type;       /* asyncio.Handle */
static PyObject *hidden_codes;      /* tuple of code objects of asyncio.run's own tasks */
static PyObject *run_callback_code; /* asyncio.Handle._run.__code__ */
static PyObject *snippet_filename;  /* "main.py", as protocol.SNIPPET_FILENAME */
static long long flush_interval_ns;

static PyObject *s_origin_ns, *s_skipped_ns, *s_cancelled_attr, *s_callback, *s_self, *s_done, *s_fut_waiter,
    *s_cancelled, *s_exception, *s_get_coro, *s_cr_code, *s_qualname, *s_get_name, *s_blocking_step,
    *s_task_finished, *s_wait_started, *s_task_woken, *s_flush, *s_disable, *s_next_step, *s_wake_up;

static inline long long
monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* stalls.py: a step's sample of the loop thread's times is at most this old. */
#define STALL_SAMPLE_INTERVAL_NS 1000000LL
#define STALL_NO_SAMPLE (-1LL)

/* stalls.thread_times: the calling thread's CPU time (ns) and voluntary context switches. */
static int
thread_times(long long *cpu_ns, long long *switches)
{
    struct timespec ts;
    struct rusage usage;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0 || getrusage(RUSAGE_THREAD, &usage) != 0) {
        return -1;
    }
    *cpu_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    *switches = usage.ru_nvcsw;
    return 0;
}

/* getattr(obj, name, None) as a new reference (None when missing). */
static PyObject *
lookup(PyObject *obj, PyObject *name)
{
    PyObject *value;
#if PY_VERSION_HEX >= 0x030D0000
    if (PyObject_GetOptionalAttr(obj, name, &value) < 0) {
        return NULL;
    }
#else
    if (_PyObject_LookupAttr(obj, name, &value) < 0) {
        return NULL;
    }
#endif
    return value != NULL ? value : Py_NewRef(Py_None);
}

/* getattr(callback, "__self__", None), without raising for plain functions. */
static PyObject *
owner_of(PyObject *callback)
{
    if (PyMethod_Check(callback)) {
        return Py_NewRef(PyMethod_GET_SELF(callback));
    }
    if (PyFunction_Check(callback)) {
        return Py_NewRef(Py_None);
    }
    return lookup(callback, s_self);
}

/* ---- int64 buffers ---------------------------------------------------- */

typedef struct {
    long long *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buffer;

static int
buffer_push(Buffer *buf, const long long *values, Py_ssize_t count)
{
    if (buf->len + count > buf->cap) {
        Py_ssize_t cap = buf->cap ? buf->cap : 3 * 4096;
        while (cap < buf->len + count) {
            cap *= 2;
        }
        long long *data = PyMem_Realloc(buf->data, (size_t)cap * sizeof(long long));
        if (data == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        buf->data = data;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, values, (size_t)count * sizeof(long long));
    buf->len += count;
    return 0;
}

static PyObject *
buffer_take(Buffer *buf)
{
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)buf->data, buf->len * (Py_ssize_t)sizeof(long long));
    if (bytes != NULL) {
        buf->len = 0;
    }
    return bytes;
}

/* ---- Core ----------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *clock;
    char enabled;
    char in_step;
    PyObject *current;
    PyObject *step_task;
    long long blocking_ns;
    long long step_start;
    long long step_skipped;
    long long yield_line;  /* where the running step yields without waiting (asyncio.sleep(0)), or -1 */
    /* The loop thread's times when a step started lately (stalls.py). */
    long long stall_real;
    long long stall_cpu;
    long long stall_switches;  /* or STALL_NO_SAMPLE */
    long long last_flush;
    long long next_id;
    PyObject *ids;
    PyObject *waits;
    PyObject *samples;
    PyObject *unannounced;
    PyObject *task_names;
    PyObject *task_coros;
    PyObject *cancel_requests;
    PyObject *ended;  /* id(task) -> task id of the tasks that ended lately (for their done callbacks) */
    Buffer steps;
    Buffer ends;
    Buffer tasks;
} Core;

static PyTypeObject CoreType;

static int
core_traverse(Core *self, visitproc visit, void *arg)
{
    Py_VISIT(self->clock);
    Py_VISIT(self->current);
    Py_VISIT(self->step_task);
    Py_VISIT(self->ids);
    Py_VISIT(self->waits);
    Py_VISIT(self->samples);
    Py_VISIT(self->unannounced);
    Py_VISIT(self->task_names);
    Py_VISIT(self->task_coros);
    Py_VISIT(self->cancel_requests);
    Py_VISIT(self->ended);
    return 0;
}

static int
core_clear(Core *self)
{
    Py_CLEAR(self->clock);
    Py_CLEAR(self->current);
    Py_CLEAR(self->step_task);
    Py_CLEAR(self->ids);
    Py_CLEAR(self->waits);
    Py_CLEAR(self->samples);
    Py_CLEAR(self->unannounced);
    Py_CLEAR(self->task_names);
    Py_CLEAR(self->task_coros);
    Py_CLEAR(self->cancel_requests);
    Py_CLEAR(self->ended);
    return 0;
}

static void
core_dealloc(Core *self)
{
    /* A Recorder (a heap subclass) has its type released by subtype_dealloc. */
    PyObject_GC_UnTrack(self);
    core_clear(self);
    PyMem_Free(self->steps.data);
    PyMem_Free(self->ends.data);
    PyMem_Free(self->tasks.data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
core_init(Core *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"clock", "blocking_ns", NULL};
    PyObject *clock;
    long long blocking_ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OL", keywords, &clock, &blocking_ns)) {
        return -1;
    }
    self->stall_real = -STALL_SAMPLE_INTERVAL_NS;
    self->stall_cpu = 0;
    self->stall_switches = STALL_NO_SAMPLE;
    Py_XSETREF(self->clock, Py_NewRef(clock));
    self->blocking_ns = blocking_ns;
    self->enabled = 1;
    self->in_step = 0;
    Py_XSETREF(self->current, Py_NewRef(Py_None));
    Py_XSETREF(self->step_task, Py_NewRef(Py_None));
    self->step_start = self->step_skipped = self->last_flush = 0;
    self->yield_line = -1;
    self->next_id = 1;
    Py_XSETREF(self->ids, PyDict_New());
    Py_XSETREF(self->waits, PyDict_New());
    Py_XSETREF(self->samples, PyDict_New());
    Py_XSETREF(self->unannounced, PyDict_New());
    Py_XSETREF(self->task_names, PyList_New(0));
    Py_XSETREF(self->task_coros, PyList_New(0));
    Py_XSETREF(self->cancel_requests, PyDict_New());
    Py_XSETREF(self->ended, PyDict_New());
    if (!self->ids || !self->waits || !self->samples || !self->unannounced || !self->task_names ||
        !self->task_coros || !self->cancel_requests || !self->ended) {
        return -1;
    }
    self->steps.len = self->ends.len = self->tasks.len = 0;
    return 0;
}

static int
need_dict(PyObject *value, const char *name)
{
    if (value == NULL || !PyDict_Check(value)) {
        PyErr_Format(PyExc_TypeError, "Recorder.%s must be a dict", name);
        return -1;
    }
    return 0;
}

static int
as_ns(PyObject *value, long long *out)
{
    *out = PyLong_AsLongLong(value);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* The run's time in ns (clock.now_ns()), and the clock's skipped ns. */
static int
core_now(Core *self, long long *now, long long *skipped)
{
    long long origin;
    PyObject *value = PyObject_GetAttr(self->clock, s_origin_ns);
    if (value == NULL) {
        return -1;
    }
    int failed = as_ns(value, &origin);
    Py_DECREF(value);
    if (failed) {
        return -1;
    }
    value = PyObject_GetAttr(self->clock, s_skipped_ns);
    if (value == NULL) {
        return -1;
    }
    failed = as_ns(value, skipped);
    Py_DECREF(value);
    if (failed) {
        return -1;
    }
    *now = monotonic_ns() - origin + *skipped;
    return 0;
}

/* stalls.waited: how long the loop's thread waited for a CPU from the
 * step's sample to the real time real_now (0 when it gave the CPU up meanwhile). */
static long long
core_waited(Core *self, long long real_now)
{
    long long cpu, switches;
    if (self->stall_switches == STALL_NO_SAMPLE || thread_times(&cpu, &switches) < 0 ||
        switches != self->stall_switches) {
        return 0;
    }
    long long stalled = real_now - self->stall_real - (cpu - self->stall_cpu);
    return stalled > 0 ? stalled : 0;
}

/* self.<name>(*args), for the Recorder's Python methods. */
static PyObject *
call_method(PyObject *self, PyObject *name, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *stack[4];
    stack[0] = self;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        stack[i + 1] = args[i];
    }
    return PyObject_VectorcallMethod(name, stack, (size_t)(nargs + 1) | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

static int
call_method_ignore(PyObject *self, PyObject *name, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *result = call_method(self, name, args, nargs);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* The line of the innermost snippet frame at or above frame, within the
 * callback the loop is running (waits.snippet_line). New reference. */
static PyObject *
snippet_line(PyObject *frame_or_none)
{
    if (frame_or_none == Py_None) {
        Py_RETURN_NONE;
    }
    if (!PyFrame_Check(frame_or_none)) {
        PyErr_SetString(PyExc_TypeError, "caller must be a frame or None");
        return NULL;
    }
    PyFrameObject *frame = (PyFrameObject *)Py_NewRef(frame_or_none);
    while (frame != NULL) {
        PyCodeObject *code = PyFrame_GetCode(frame);
        int is_snippet = PyUnicode_Compare(code->co_filename, snippet_filename) == 0;
        int is_run = (PyObject *)code == run_callback_code;
        Py_DECREF(code);
        if (is_snippet) {
            int line = PyFrame_GetLineNumber(frame);
            Py_DECREF(frame);
            if (line < 0) {
                Py_RETURN_NONE;
            }
            return PyLong_FromLong(line);
        }
        if (is_run) {
            Py_DECREF(frame);
            Py_RETURN_NONE;
        }
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        frame = back;
    }
    Py_RETURN_NONE;
}

/* Core.task_created(task, caller=None): a new task's id, negative until it
 * is announced at its first step, 0 for asyncio.run's own tasks. */
static PyObject *
core_task_created_impl(Core *self, PyObject *task, PyObject *caller)
{
    PyObject *coro = NULL, *key = NULL, *code = NULL, *coro_name = NULL, *parent = NULL, *line = NULL,
             *entry = NULL, *result = NULL, *number = NULL;
    if (need_dict(self->ids, "_ids") || need_dict(self->waits, "waits") ||
        need_dict(self->unannounced, "_unannounced")) {
        return NULL;
    }
    coro = PyObject_CallMethodNoArgs(task, s_get_coro);
    if (coro == NULL) {
        goto done;
    }
    key = PyLong_FromVoidPtr(task);
    if (key == NULL) {
        goto done;
    }
    if (PyDict_GET_SIZE(self->waits)) {
        /* a task that vanished while parked had this address */
        if (PyDict_Contains(self->waits, key) == 1 && PyDict_DelItem(self->waits, key) < 0) {
            goto done;
        }
    }
    code = lookup(coro, s_cr_code);
    if (code == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(hidden_codes); i++) {
        if (code == PyTuple_GET_ITEM(hidden_codes, i)) {
            number = PyLong_FromLong(0);
            if (number == NULL || PyDict_SetItem(self->ids, key, number) < 0) {
                goto done;
            }
            result = Py_NewRef(number);
            goto done;
        }
    }
    long long task_id = self->next_id++;
    number = PyLong_FromLongLong(-task_id);
    if (number == NULL || PyDict_SetItem(self->ids, key, number) < 0) {
        goto done;
    }
    coro_name = lookup(coro, s_qualname);
    if (coro_name == NULL) {
        goto done;
    }
    int truthy = PyObject_IsTrue(coro_name);
    if (truthy < 0) {
        goto done;
    }
    if (!truthy) {
        Py_SETREF(coro_name, PyType_GetName(Py_TYPE(coro)));
        if (coro_name == NULL) {
            goto done;
        }
    }
    PyObject *creator = self->step_task;
    if (creator == NULL || creator == Py_None) {
        parent = Py_NewRef(Py_None);
    }
    else {
        PyObject *creator_key = PyLong_FromVoidPtr(creator);
        if (creator_key == NULL) {
            goto done;
        }
        PyObject *found = PyDict_GetItemWithError(self->ids, creator_key);
        Py_DECREF(creator_key);
        if (found == NULL && PyErr_Occurred()) {
            goto done;
        }
        truthy = found == NULL ? 0 : PyObject_IsTrue(found);
        if (truthy < 0) {
            goto done;
        }
        parent = Py_NewRef(truthy ? found : Py_None);
    }
    line = snippet_line(caller);
    if (line == NULL) {
        goto done;
    }
    long long now, skipped;
    if (core_now(self, &now, &skipped) < 0) {
        goto done;
    }
    PyObject *created = PyLong_FromLongLong(now);
    if (created == NULL) {
        goto done;
    }
    entry = PyTuple_Pack(5, task, coro_name, parent, line, created);
    Py_DECREF(created);
    if (entry == NULL) {
        goto done;
    }
    PyObject *positive = PyLong_FromLongLong(task_id);
    if (positive == NULL) {
        goto done;
    }
    int failed = PyDict_SetItem(self->unannounced, positive, entry);
    Py_DECREF(positive);
    if (failed) {
        goto done;
    }
    result = Py_NewRef(number);
done:
    Py_XDECREF(coro);
    Py_XDECREF(key);
    Py_XDECREF(code);
    Py_XDECREF(coro_name);
    Py_XDECREF(parent);
    Py_XDECREF(line);
    Py_XDECREF(entry);
    Py_XDECREF(number);
    return result;
}

static PyObject *
core_task_created(Core *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "task_created(task, caller=None)");
        return NULL;
    }
    return core_task_created_impl(self, args[0], nargs == 2 ? args[1] : Py_None);
}

/* Core._announce(key, task_id): the task's first step; queue its TASK record. */
static PyObject *
core_announce_impl(Core *self, PyObject *key, PyObject *task_id)
{
    if (need_dict(self->unannounced, "_unannounced") || need_dict(self->ids, "_ids")) {
        return NULL;
    }
    PyObject *entry = PyDict_GetItemWithError(self->unannounced, task_id);
    if (entry == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetObject(PyExc_KeyError, task_id);
        }
        return NULL;
    }
    Py_INCREF(entry);
    if (PyDict_DelItem(self->unannounced, task_id) < 0) {
        Py_DECREF(entry);
        return NULL;
    }
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 5) {
        Py_DECREF(entry);
        PyErr_SetString(PyExc_TypeError, "a malformed unannounced task");
        return NULL;
    }
    PyObject *task = PyTuple_GET_ITEM(entry, 0), *coro_name = PyTuple_GET_ITEM(entry, 1),
             *parent = PyTuple_GET_ITEM(entry, 2), *line = PyTuple_GET_ITEM(entry, 3),
             *created = PyTuple_GET_ITEM(entry, 4);
    PyObject *name = NULL;
    long long values[4] = {0, -1, -1, 0};
    if (as_ns(task_id, &values[0]) < 0 || (parent != Py_None && as_ns(parent, &values[1]) < 0) ||
        (line != Py_None && as_ns(line, &values[2]) < 0) || as_ns(created, &values[3]) < 0) {
        goto failed;
    }
    if (PyDict_SetItem(self->ids, key, task_id) < 0) {
        goto failed;
    }
    name = PyObject_CallMethodNoArgs(task, s_get_name);
    if (name == NULL) {
        goto failed;
    }
    /* The record, its name and its coroutine go in together or not at all. */
    if (PyList_Append(self->task_names, name) < 0) {
        goto failed;
    }
    if (PyList_Append(self->task_coros, coro_name) < 0 || buffer_push(&self->tasks, values, 4) < 0) {
        Py_ssize_t names = PyList_GET_SIZE(self->task_names), coros = PyList_GET_SIZE(self->task_coros);
        PyList_SetSlice(self->task_names, names - 1, names, NULL);
        if (coros > names - 1) {
            PyList_SetSlice(self->task_coros, coros - 1, coros, NULL);
        }
        goto failed;
    }
    Py_DECREF(name);
    Py_DECREF(entry);
    return Py_NewRef(task_id);
failed:
    Py_XDECREF(name);
    Py_DECREF(entry);
    return NULL;
}

static PyObject *
core_announce(Core *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_announce(key, task_id)");
        return NULL;
    }
    return core_announce_impl(self, args[0], args[1]);
}

/* The step of task (id task_id) ended with the task done: the common case
 * (no cancel request, not cancelled, no exception) here, the rest in
 * Recorder._task_finished. */
static int
core_task_finished(Core *self, PyObject *task_id, PyObject *task, long long now)
{
    int slow = 0;
    if (need_dict(self->cancel_requests, "_cancel_requests") || need_dict(self->ids, "_ids") ||
        need_dict(self->ended, "ended")) {
        return -1;
    }
    if (PyDict_GET_SIZE(self->cancel_requests)) {
        slow = PyDict_Contains(self->cancel_requests, task_id);
        if (slow < 0) {
            return -1;
        }
    }
    if (!slow) {
        PyObject *cancelled = PyObject_CallMethodNoArgs(task, s_cancelled);
        if (cancelled == NULL) {
            return -1;
        }
        slow = PyObject_IsTrue(cancelled);
        Py_DECREF(cancelled);
        if (slow < 0) {
            return -1;
        }
    }
    if (!slow) {
        PyObject *exc = lookup(task, s_exception);
        if (exc == NULL) {
            return -1;
        }
        slow = exc != Py_None;
        Py_DECREF(exc);
    }
    if (slow) {
        PyObject *ended = PyLong_FromLongLong(now);
        if (ended == NULL) {
            return -1;
        }
        PyObject *args[3] = {task_id, task, ended};
        int failed = call_method_ignore((PyObject *)self, s_task_finished, args, 3);
        Py_DECREF(ended);
        return failed;
    }
    PyObject *key = PyLong_FromVoidPtr(task);
    if (key == NULL) {
        return -1;
    }
    /* Its id stays findable for its done callbacks (hotpath.py's _finished). */
    int failed = PyDict_SetItem(self->ended, key, task_id) < 0 || PyDict_DelItem(self->ids, key) < 0;
    Py_DECREF(key);
    if (failed) {
        return -1;
    }
    long long id;
    if (as_ns(task_id, &id) < 0) {
        return -1;
    }
    long long values[2] = {id, now};
    return buffer_push(&self->ends, values, 2);
}

static void
core_set_step(Core *self, PyObject *current, PyObject *task)
{
    Py_XSETREF(self->current, Py_NewRef(current));
    Py_XSETREF(self->step_task, Py_NewRef(task));
}

/* Core.next_step(handle): the loop is about to run handle; the step before
 * it ended now. */
static int
core_next_step_impl(Core *self, PyObject *handle)
{
    long long now, skipped;
    if (core_now(self, &now, &skipped) < 0) {
        return -1;
    }
    if (self->in_step) {
        long long start = self->step_start;
        PyObject *task_id = Py_NewRef(self->current ? self->current : Py_None);
        PyObject *task = Py_NewRef(self->step_task ? self->step_task : Py_None);
        int failed = 0;
        if (now - start >= self->blocking_ns && now - start - core_waited(self, now - skipped) >= self->blocking_ns) {
            PyObject *first = PyLong_FromLongLong(start), *last = PyLong_FromLongLong(now);
            if (first == NULL || last == NULL) {
                failed = 1;
            }
            else {
                PyObject *args[3] = {task_id, first, last};
                failed = call_method_ignore((PyObject *)self, s_blocking_step, args, 3);
            }
            Py_XDECREF(first);
            Py_XDECREF(last);
        }
        else if (task_id != Py_None) {
            long long values[4];
            failed = as_ns(task_id, &values[0]);
            if (!failed) {
                values[1] = start;
                values[2] = now;
                values[3] = self->yield_line;
                failed = buffer_push(&self->steps, values, 4);
            }
        }
        if (!failed && task != Py_None) {
            PyObject *done = PyObject_CallMethodNoArgs(task, s_done);
            int is_done = done == NULL ? -1 : PyObject_IsTrue(done);
            Py_XDECREF(done);
            if (is_done < 0) {
                failed = 1;
            }
            else if (is_done) {
                failed = core_task_finished(self, task_id, task, now) < 0;
            }
            else {
                PyObject *waiter = lookup(task, s_fut_waiter);
                if (waiter == NULL) {
                    failed = 1;
                }
                else if (waiter != Py_None) {
                    PyObject *since = PyLong_FromLongLong(now);
                    if (since == NULL) {
                        failed = 1;
                    }
                    else {
                        PyObject *args[3] = {task_id, task, since};
                        failed = call_method_ignore((PyObject *)self, s_wait_started, args, 3);
                        Py_DECREF(since);
                    }
                }
                Py_XDECREF(waiter);
            }
        }
        Py_DECREF(task_id);
        Py_DECREF(task);
        if (failed) {
            return -1;
        }
    }
    PyObject *cancelled = PyObject_GetAttr(handle, s_cancelled_attr);
    if (cancelled == NULL) {
        return -1;
    }
    int is_cancelled = PyObject_IsTrue(cancelled);
    Py_DECREF(cancelled);
    if (is_cancelled < 0) {
        return -1;
    }
    if (is_cancelled) {
        self->in_step = 0;
        core_set_step(self, Py_None, Py_None);
        return 0;
    }
    PyObject *callback = PyObject_GetAttr(handle, s_callback);
    if (callback == NULL) {
        return -1;
    }
    PyObject *owner = owner_of(callback);
    Py_DECREF(callback);
    if (owner == NULL) {
        return -1;
    }
    PyObject *task_id = NULL;
    int is_task = owner == Py_None ? 0 : PyObject_IsInstance(owner, task_type);
    if (is_task < 0) {
        Py_DECREF(owner);
        return -1;
    }
    if (is_task) {
        if (need_dict(self->ids, "_ids") || need_dict(self->waits, "waits")) {
            Py_DECREF(owner);
            return -1;
        }
        PyObject *key = PyLong_FromVoidPtr(owner);
        if (key == NULL) {
            Py_DECREF(owner);
            return -1;
        }
        task_id = PyDict_GetItemWithError(self->ids, key);
        if (task_id != NULL) {
            Py_INCREF(task_id);
        }
        else if (!PyErr_Occurred()) {
            task_id = core_task_created_impl(self, owner, Py_None);
        }
        long long value = 0;
        int failed = task_id == NULL || as_ns(task_id, &value) < 0;
        if (!failed && value <= 0) {
            if (value) {
                PyObject *positive = PyLong_FromLongLong(-value);
                Py_SETREF(task_id, positive == NULL ? NULL : core_announce_impl(self, key, positive));
                Py_XDECREF(positive);
                failed = task_id == NULL;
            }
            else {
                Py_SETREF(task_id, Py_NewRef(Py_None));
                Py_SETREF(owner, Py_NewRef(Py_None));
            }
        }
        else if (!failed && PyDict_GET_SIZE(self->waits)) {
            int waiting = PyDict_Contains(self->waits, key);
            if (waiting < 0) {
                failed = 1;
            }
            else if (waiting) {
                failed = call_method_ignore((PyObject *)self, s_task_woken, &owner, 1) < 0;
            }
        }
        Py_DECREF(key);
        if (failed) {
            Py_XDECREF(task_id);
            Py_DECREF(owner);
            return -1;
        }
    }
    else {
        task_id = Py_NewRef(Py_None);
        Py_SETREF(owner, Py_NewRef(Py_None));
    }
    core_set_step(self, task_id, owner);
    Py_DECREF(task_id);
    Py_DECREF(owner);
    self->step_start = now;
    self->step_skipped = skipped;
    self->yield_line = -1;
    if (now - skipped - self->stall_real >= STALL_SAMPLE_INTERVAL_NS) {
        self->stall_real = now - skipped;
        if (thread_times(&self->stall_cpu, &self->stall_switches) < 0) {
            self->stall_switches = STALL_NO_SAMPLE;
        }
    }
    if (self->samples != NULL && PyDict_Check(self->samples) && PyDict_GET_SIZE(self->samples)) {
        PyDict_Clear(self->samples); /* ticks of an earlier, short step */
    }
    self->in_step = 1;
    if (now - skipped - self->last_flush > flush_interval_ns) {  /* real time, as in hotpath.py */
        return call_method_ignore((PyObject *)self, s_flush, NULL, 0);
    }
    return 0;
}

static PyObject *
core_next_step(Core *self, PyObject *handle)
{
    if (core_next_step_impl(self, handle) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
core_take_steps(Core *self, PyObject *Py_UNUSED(ignored))
{
    return buffer_take(&self->steps);
}

static PyObject *
core_take_ends(Core *self, PyObject *Py_UNUSED(ignored))
{
    return buffer_take(&self->ends);
}

/* (packed (id, parent or -1, line or -1, created) per task, [names], [coroutines]) */
static PyObject *
core_take_tasks(Core *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *names = PyList_New(0), *coros = PyList_New(0);
    if (names == NULL || coros == NULL) {
        Py_XDECREF(names);
        Py_XDECREF(coros);
        return NULL;
    }
    PyObject *packed = buffer_take(&self->tasks);
    if (packed == NULL) {
        Py_DECREF(names);
        Py_DECREF(coros);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(3, packed, self->task_names, self->task_coros);
    Py_DECREF(packed);
    if (result == NULL) {
        Py_DECREF(names);
        Py_DECREF(coros);
        return NULL;
    }
    Py_SETREF(self->task_names, names);
    Py_SETREF(self->task_coros, coros);
    return result;
}

static PyObject *
core_stalled_ns(Core *self, PyObject *Py_UNUSED(ignored))
{
    long long now, skipped;
    if (core_now(self, &now, &skipped) < 0) {
        return NULL;
    }
    return PyLong_FromLongLong(core_waited(self, now - skipped));
}

static PyMethodDef core_methods[] = {
    {"stalled_ns", (PyCFunction)core_stalled_ns, METH_NOARGS,
     "How long the loop's thread has waited for a CPU since the running step started (stalls.py)."},
    {"next_step", (PyCFunction)core_next_step, METH_O, "The loop is about to run handle; the step before it ended."},
    {"task_created", (PyCFunction)(void (*)(void))core_task_created, METH_FASTCALL,
     "Give a new task its id (negative until announced, 0 for asyncio's own)."},
    {"_announce", (PyCFunction)(void (*)(void))core_announce, METH_FASTCALL, "A task's first step: queue its record."},
    {"take_steps", (PyCFunction)core_take_steps, METH_NOARGS, "The ordinary steps so far, packed int64, and forget them."},
    {"take_ends", (PyCFunction)core_take_ends, METH_NOARGS, "The normal task ends so far, packed int64, and forget them."},
    {"take_tasks", (PyCFunction)core_take_tasks, METH_NOARGS,
     "The tasks announced so far: (packed int64 records, names, coroutines), and forget them."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef core_members[] = {
    {"clock", T_OBJECT_EX, offsetof(Core, clock), 0, NULL},
    {"enabled", T_BOOL, offsetof(Core, enabled), 0, NULL},
    {"in_step", T_BOOL, offsetof(Core, in_step), 0, NULL},
    {"current", T_OBJECT, offsetof(Core, current), 0, NULL},
    {"_step_task", T_OBJECT, offsetof(Core, step_task), 0, NULL},
    {"blocking_ns", T_LONGLONG, offsetof(Core, blocking_ns), 0, NULL},
    {"_step_start", T_LONGLONG, offsetof(Core, step_start), 0, NULL},
    {"_step_skipped", T_LONGLONG, offsetof(Core, step_skipped), 0, NULL},
    {"yield_line", T_LONGLONG, offsetof(Core, yield_line), 0, NULL},
    {"_last_flush", T_LONGLONG, offsetof(Core, last_flush), 0, NULL},
    {"_next_id", T_LONGLONG, offsetof(Core, next_id), 0, NULL},
    {"_ids", T_OBJECT_EX, offsetof(Core, ids), 0, NULL},
    {"waits", T_OBJECT_EX, offsetof(Core, waits), 0, NULL},
    {"_samples", T_OBJECT_EX, offsetof(Core, samples), 0, NULL},
    {"_unannounced", T_OBJECT_EX, offsetof(Core, unannounced), 0, NULL},
    {"_cancel_requests", T_OBJECT_EX, offsetof(Core, cancel_requests), 0, NULL},
    {"ended", T_OBJECT_EX, offsetof(Core, ended), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_speedups.Core",
    .tp_doc = "The recorder's step state and hot path (hotpath.Core in C).",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)core_init,
    .tp_dealloc = (destructor)core_dealloc,
    .tp_traverse = (traverseproc)core_traverse,
    .tp_clear = (inquiry)core_clear,
    .tp_methods = core_methods,
    .tp_members = core_members,
};

/* ---- ReadyQueue ------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject **items;
    Py_ssize_t head;
    Py_ssize_t len;
    Py_ssize_t cap;
    Core *recorder;
} ReadyQueue;

static int
queue_traverse(ReadyQueue *self, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < self->len; i++) {
        Py_VISIT(self->items[(self->head + i) % self->cap]);
    }
    Py_VISIT(self->recorder);
    return 0;
}

static void
queue_empty(ReadyQueue *self)
{
    /* Take the items out first: a decref may run code that uses the queue. */
    PyObject **items = self->items;
    Py_ssize_t head = self->head, len = self->len, cap = self->cap;
    self->items = NULL;
    self->head = self->len = self->cap = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_DECREF(items[(head + i) % cap]);
    }
    PyMem_Free(items);
}

static int
queue_clear_refs(ReadyQueue *self)
{
    queue_empty(self);
    Py_CLEAR(self->recorder);
    return 0;
}

static void
queue_dealloc(ReadyQueue *self)
{
    PyObject_GC_UnTrack(self);
    queue_clear_refs(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
queue_init(ReadyQueue *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"recorder", NULL};
    PyObject *recorder;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!", keywords, &CoreType, &recorder)) {
        return -1;
    }
    Py_XSETREF(self->recorder, (Core *)Py_NewRef(recorder));
    return 0;
}

static int
queue_grow(ReadyQueue *self)
{
    Py_ssize_t cap = self->cap ? 2 * self->cap : 64;
    PyObject **items = PyMem_Malloc((size_t)cap * sizeof(PyObject *));
    if (items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < self->len; i++) {
        items[i] = self->items[(self->head + i) % self->cap];
    }
    PyMem_Free(self->items);
    self->items = items;
    self->head = 0;
    self->cap = cap;
    return 0;
}

/* The recorder's hook failed: an Exception disables recording, never the
 * run (Recorder.disable); anything else goes on up. */
static int
hook_failed(Core *recorder, PyObject *where)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return -1;
    }
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL && value != NULL) {
        PyException_SetTraceback(value, traceback);
    }
    PyObject *args[2] = {where, value ? value : Py_None};
    int failed = call_method_ignore((PyObject *)recorder, s_disable, args, 2);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    return failed;
}

static PyObject *
queue_append(ReadyQueue *self, PyObject *item)
{
    if (self->len == self->cap && queue_grow(self) < 0) {
        return NULL;
    }
    self->items[(self->head + self->len) % self->cap] = Py_NewRef(item);
    self->len++;
    Core *recorder = self->recorder;
    if (recorder == NULL || !recorder->enabled || recorder->waits == NULL || !PyDict_Check(recorder->waits) ||
        !PyDict_GET_SIZE(recorder->waits) || handle_type == NULL || !Py_IS_TYPE(item, (PyTypeObject *)handle_type)) {
        Py_RETURN_NONE;
    }
    /* A parked task scheduled to run again: its wait ends now. */
    Py_INCREF(recorder);
    int failed = 0;
    PyObject *callback = PyObject_GetAttr(item, s_callback);
    PyObject *owner = callback == NULL ? NULL : owner_of(callback);
    Py_XDECREF(callback);
    if (owner == NULL) {
        failed = 1;
    }
    else if (owner != Py_None) {
        PyObject *key = PyLong_FromVoidPtr(owner);
        int waiting = key == NULL ? -1 : PyDict_Contains(recorder->waits, key);
        Py_XDECREF(key);
        if (waiting < 0) {
            failed = 1;
        }
        else if (waiting) {
            failed = call_method_ignore((PyObject *)recorder, s_task_woken, &owner, 1) < 0;
        }
    }
    Py_XDECREF(owner);
    if (failed && hook_failed(recorder, s_wake_up) < 0) {
        Py_DECREF(recorder);
        return NULL;
    }
    Py_DECREF(recorder);
    Py_RETURN_NONE;
}

static PyObject *
queue_appendleft(ReadyQueue *self, PyObject *item)
{
    if (self->len == self->cap && queue_grow(self) < 0) {
        return NULL;
    }
    self->head = (self->head - 1 + self->cap) % self->cap;
    self->items[self->head] = Py_NewRef(item);
    self->len++;
    Py_RETURN_NONE;
}

static PyObject *
queue_popleft(ReadyQueue *self, PyObject *Py_UNUSED(ignored))
{
    if (self->len == 0) {
        PyErr_SetString(PyExc_IndexError, "pop from an empty deque");
        return NULL;
    }
    PyObject *handle = self->items[self->head];
    self->head = (self->head + 1) % self->cap;
    self->len--;
    Core *recorder = self->recorder;
    if (recorder != NULL && recorder->enabled) {
        Py_INCREF(recorder);
        if (core_next_step_impl(recorder, handle) < 0 && hook_failed(recorder, s_next_step) < 0) {
            Py_DECREF(recorder);
            Py_DECREF(handle);
            return NULL;
        }
        Py_DECREF(recorder);
    }
    return handle;
}

static PyObject *
queue_clear_method(ReadyQueue *self, PyObject *Py_UNUSED(ignored))
{
    queue_empty(self);
    Py_RETURN_NONE;
}

static Py_ssize_t
queue_length(ReadyQueue *self)
{
    return self->len;
}

static PyMethodDef queue_methods[] = {
    {"append", (PyCFunction)queue_append, METH_O, "Add a callback at the right; a parked task's wake-up ends its wait."},
    {"appendleft", (PyCFunction)queue_appendleft, METH_O, "Add a callback at the left."},
    {"popleft", (PyCFunction)queue_popleft, METH_NOARGS, "Take the next callback: a step boundary."},
    {"clear", (PyCFunction)queue_clear_method, METH_NOARGS, "Drop every callback."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods queue_as_sequence = {
    .sq_length = (lenfunc)queue_length,
};

static PyTypeObject ReadyQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_speedups.ReadyQueue",
    .tp_doc = "The loop's ready queue (hotpath.ReadyQueue in C).",
    .tp_basicsize = sizeof(ReadyQueue),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)queue_init,
    .tp_dealloc = (destructor)queue_dealloc,
    .tp_traverse = (traverseproc)queue_traverse,
    .tp_clear = (inquiry)queue_clear_refs,
    .tp_methods = queue_methods,
    .tp_as_sequence = &queue_as_sequence,
};

/* ---- module ---------------------------------------------------------- */

static PyObject *
configure(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"task_type", "handle_type", "hidden_codes", "run_callback_code", "snippet_filename",
                               "flush_interval_ns", NULL};
    PyObject *task, *handle, *hidden, *run_code, *filename;
    long long interval;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!OUL", keywords, &PyType_Type, &task, &PyType_Type,
                                     &handle, &PyTuple_Type, &hidden, &run_code, &filename, &interval)) {
        return NULL;
    }
    Py_XSETREF(task_type, Py_NewRef(task));
    Py_XSETREF(handle_type, Py_NewRef(handle));
    Py_XSETREF(hidden_codes, Py_NewRef(hidden));
    Py_XSETREF(run_callback_code, Py_NewRef(run_code));
    Py_XSETREF(snippet_filename, Py_NewRef(filename));
    flush_interval_ns = interval;
    Py_RETURN_NONE;
}

static PyObject *
module_monotonic_ns(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLongLong(monotonic_ns());
}

/* _runinit.c */
PyObject *runinit_spawn_run(PyObject *module, PyObject *args, PyObject *kwargs);

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Set the asyncio types, code objects and constants the hot path compares against."},
    {"monotonic_ns", module_monotonic_ns, METH_NOARGS, "The clock the hot path reads (CLOCK_MONOTONIC), in ns."},
    {"spawn_run", (PyCFunction)(void (*)(void))runinit_spawn_run, METH_VARARGS | METH_KEYWORDS,
     "Start a run's init (see _runinit.c): its pid in the caller, 0 in the run's process."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_speedups",
    .m_doc = "The tracer's hot path in C (see hotpath.py), and the run's init (see _runinit.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

#define INTERN(var, text)                                  \
    do {                                                   \
        var = PyUnicode_InternFromString(text);            \
        if (var == NULL) {                                 \
            return NULL;                                   \
        }                                                  \
    } while (0)

PyMODINIT_FUNC
PyInit__speedups(void)
{
    INTERN(s_origin_ns, "origin_ns");
    INTERN(s_skipped_ns, "skipped_ns");
    INTERN(s_cancelled_attr, "_cancelled");
    INTERN(s_callback, "_callback");
    INTERN(s_self, "__self__");
    INTERN(s_done, "done");
    INTERN(s_fut_waiter, "_fut_waiter");
    INTERN(s_cancelled, "cancelled");
    INTERN(s_exception, "_exception");
    INTERN(s_get_coro, "get_coro");
    INTERN(s_cr_code, "cr_code");
    INTERN(s_qualname, "__qualname__");
    INTERN(s_get_name, "get_name");
    INTERN(s_blocking_step, "_blocking_step");
    INTERN(s_task_finished, "_task_finished");
    INTERN(s_wait_started, "_wait_started");
    INTERN(s_task_woken, "task_woken");
    INTERN(s_flush, "flush");
    INTERN(s_disable, "disable");
    INTERN(s_next_step, "next_step");
    INTERN(s_wake_up, "wake-up");
    if (PyType_Ready(&CoreType) < 0 || PyType_Ready(&ReadyQueueType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Core", (PyObject *)&CoreType) < 0 ||
        PyModule_AddObjectRef(module, "ReadyQueue", (PyObject *)&ReadyQueueType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
