/* The run's init in C: forkserver.py's keeper and init, without Python.
 *
 * For every run the fork server needs a process that is pid 1 of the run's
 * own namespaces (its init) and, below it, the run's process, a fork of the
 * fork server's warm interpreter. In Python that takes two forks before the
 * run's (a keeper enters the namespaces, since unshare() moves only the
 * caller's later children into a new pid namespace, then forks the init),
 * and each of those processes runs Python after its fork: reference counts
 * written all over a copy of the fork server's heap. That cost a run about
 * 8 ms of CPU, a third of everything a run cost.
 *
 * spawn_run() makes the init with one clone() that creates the namespaces
 * too, so there is no keeper; the init runs only the C below (system calls,
 * no Python, nothing allocated), then forks the run's process, which alone
 * returns into Python, as os.fork() returns 0 in a child. The fork server
 * gets the init's pid and waits for it, as it waited for the keeper.
 *
 * What the init does is forkserver.py's _init_run, step for step, and the
 * report it writes is a protocol.RunReport (or {"setup": why} and exit
 * EXIT_SETUP_FAILED when the run could not be isolated): forkserver.py
 * uses this when the accelerator is built and allowed, its Python keeper
 * and init otherwise, and tests run both.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN_NAMESPACES (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET)
#define EXIT_SETUP_FAILED 87 /* protocol.EXIT_SETUP_FAILED */
#define MAX_CLOSED 16

/* Tell the server why the run could not be set up, and end the init. */
static void
setup_failed(int status_fd, const char *what)
{
    char line[256];
    int length = snprintf(line, sizeof line, "{\"setup\": \"%s: %s\"}\n", what, strerror(errno));
    if (length > 0 && write(status_fd, line, (size_t)length) < 0) {
        /* the server gave up on the run */
    }
    _exit(EXIT_SETUP_FAILED);
}

/* forkserver.isolate: a private mount tree, a fresh /tmp and /dev/shm of the run's own. */
static void
isolate(int status_fd, const char *tmp_options)
{
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        setup_failed(status_fd, "mount --make-rprivate /");
    }
    if (mount("tmpfs", "/tmp", "tmpfs", flags, tmp_options) != 0) {
        setup_failed(status_fd, "mount /tmp");
    }
    if (mount("tmpfs", "/dev/shm", "tmpfs", flags, tmp_options) != 0) {
        setup_failed(status_fd, "mount /dev/shm");
    }
}

/* forkserver.drop_capabilities. */
static void
drop_capabilities(int status_fd)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &header, data) != 0) {
        setup_failed(status_fd, "capset");
    }
}

/* The init's life once the run's process exists: wait for it, report, end. */
static void
report_run(pid_t run, int status_fd, int isolated)
{
    int wait_status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    while (wait4(run, &wait_status, 0, &usage) < 0) {
        if (errno != EINTR) {
            setup_failed(status_fd, "wait4");
        }
    }
    char tmp_bytes[32] = "null", tmp_files[32] = "null";
    struct statvfs tmp;
    if (isolated && statvfs("/tmp", &tmp) == 0) {
        snprintf(tmp_bytes, sizeof tmp_bytes, "%llu", (unsigned long long)tmp.f_bavail * tmp.f_frsize);
        snprintf(tmp_files, sizeof tmp_files, "%llu", (unsigned long long)tmp.f_favail);
    }
    double cpu = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                 (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    char line[512];
    int length = snprintf(line, sizeof line,
                          "{\"wait_status\": %d, \"max_rss_kib\": %ld, \"cpu_seconds\": %.6f, "
                          "\"tmp_free_bytes\": %s, \"tmp_free_files\": %s}\n",
                          wait_status, usage.ru_maxrss, cpu, tmp_bytes, tmp_files);
    if (length > 0 && write(status_fd, line, (size_t)length) < 0) {
        /* the server gave up on the run */
    }
    _exit(0);
}

/* Everything the init does before its child returns into Python as the run's process. */
static void
become_init(int isolated, const char *tmp_options, int status_fd, const int *closed, Py_ssize_t n_closed,
            const int *parent_only, Py_ssize_t n_parent_only)
{
    /* The init dies with the fork server, and handles no signal: the
       kernel drops signals to a namespace's init from inside it unless it
       handles them, so the snippet cannot stop this report. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigaction(SIGINT, &default_action, NULL);
    sigaction(SIGPIPE, &default_action, NULL);
    sigaction(SIGXFSZ, &default_action, NULL);
    for (Py_ssize_t i = 0; i < n_closed; i++) {
        close(closed[i]);
    }
    if (isolated) {
        isolate(status_fd, tmp_options);
        drop_capabilities(status_fd);
    }
    pid_t run = fork();
    if (run < 0) {
        setup_failed(status_fd, "fork");
    }
    if (run > 0) {
        for (Py_ssize_t i = 0; i < n_parent_only; i++) {
            close(parent_only[i]);
        }
        report_run(run, status_fd, isolated);
    }
}

static int
fd_list(PyObject *sequence, int *fds, Py_ssize_t *count)
{
    PyObject *items = PySequence_Fast(sequence, "expected a sequence of descriptors");
    if (items == NULL) {
        return -1;
    }
    *count = PySequence_Fast_GET_SIZE(items);
    if (*count > MAX_CLOSED) {
        Py_DECREF(items);
        PyErr_SetString(PyExc_ValueError, "too many descriptors");
        return -1;
    }
    for (Py_ssize_t i = 0; i < *count; i++) {
        long fd = PyLong_AsLong(PySequence_Fast_GET_ITEM(items, i));
        if ((fd == -1 && PyErr_Occurred()) || fd < 0 || fd > INT_MAX) {
            Py_DECREF(items);
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "not a descriptor");
            }
            return -1;
        }
        fds[i] = (int)fd;
    }
    Py_DECREF(items);
    return 0;
}

PyObject *
runinit_spawn_run(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"isolate", "tmp_options", "status_fd", "close_in_init", "close_after_fork", NULL};
    int isolated, status_fd;
    const char *tmp_options;
    PyObject *in_init, *after_fork;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "pyiOO", keywords, &isolated, &tmp_options, &status_fd,
                                     &in_init, &after_fork)) {
        return NULL;
    }
    int closed[MAX_CLOSED], parent_only[MAX_CLOSED];
    Py_ssize_t n_closed, n_parent_only;
    if (fd_list(in_init, closed, &n_closed) < 0 || fd_list(after_fork, parent_only, &n_parent_only) < 0) {
        return NULL;
    }
    PyOS_BeforeFork();
    /* A clone with no new stack continues here in both processes, as fork() does. */
    long init = syscall(SYS_clone, (isolated ? RUN_NAMESPACES : 0) | SIGCHLD, NULL, NULL, NULL, NULL);
    if (init != 0) {
        int saved = errno;
        PyOS_AfterFork_Parent();
        if (init < 0) {
            errno = saved;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        return PyLong_FromLong(init);
    }
    become_init(isolated, tmp_options, status_fd, closed, n_closed, parent_only, n_parent_only);
    PyOS_AfterFork_Child();
    return PyLong_FromLong(0);
}
