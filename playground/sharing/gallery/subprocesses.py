import asyncio

async def run(*command):
    # Start a program; its output comes back through a pipe.
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    print(f"{' '.join(command)} -> exit code {proc.returncode}: {out.decode().strip()}")

async def main():
    # Three programs at once: the slowest sets the pace (about 1 s, not 1.5 s).
    await asyncio.gather(
        run("sleep", "1"),
        run("sh", "-c", "sleep 0.5; echo done sleeping"),
        run("echo", "hello from a child process"),
    )

asyncio.run(main())
