"""Snippets that hold memory every way a run can (the heap, threads, pipe and
socket buffers, /tmp, SysV shared memory), for the cgroup tests and
bench/node_cost.py."""

HEAP = "blocks = []\nwhile True:\n    blocks.append(bytearray(10 ** 7))"
THREADS = """
import threading
threads = []
try:
    while True:
        thread = threading.Thread(target=threading.Event().wait, daemon=True)
        thread.start()
        threads.append(thread)
except RuntimeError:
    print("threads", len(threads))
"""
PIPES = """
import fcntl, os
pipes = []
try:
    while True:
        read, write = os.pipe()
        fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 1 << 20)
        os.set_blocking(write, False)
        try:
            while True:
                os.write(write, b"x" * 65536)
        except BlockingIOError:
            pipes.append((read, write))
except OSError:
    print("pipes", len(pipes))
"""
SOCKETS = """
import socket
pairs = []
try:
    while True:
        left, right = socket.socketpair()
        left.setblocking(False)
        try:
            while True:
                left.send(b"x" * 65536)
        except BlockingIOError:
            pairs.append((left, right))
except OSError:
    print("socket pairs", len(pairs))
"""
TMP = """
number = 0
try:
    while True:
        with open(f"/tmp/fill{number}", "wb") as file:
            file.write(b"y" * ((1 << 20) - 4096))
        number += 1
except OSError:
    print("tmp files", number)
"""
SYSV = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
made = 0
for key in range(6):
    segment = libc.shmget(0x1000 + key, 160 << 20, 0o1600)
    if segment >= 0:
        address = libc.shmat(segment, None, 0)
        ctypes.memset(address, 1, 160 << 20)
        libc.shmdt(ctypes.c_void_p(address))
        made += 1
print("segments", made)
"""
