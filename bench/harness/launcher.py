"""The launcher: a small `python3 -S -I` process that runs commands for the harness.

Why: on Linux a child's ru_maxrss starts at the resident size of the process it was
forked from (the pre-exec copy counts), so children forked by the harness itself would
all report at least the harness's size. Forked from this small process instead, a
tool's figure is its own peak, down to this launcher's size (about 9 MiB).

Protocol on stdin/stdout, each message an 8-byte big-endian length and a marshal
payload. Request: (argv, cwd, env, timeout). Reply: (seconds, max_rss_kib, exit_code,
timed_out, stdout, stderr). Only builtin modules are imported, to stay small.
"""

import marshal
import os
import select
import signal
import time

Reply = tuple[float, int, int, bool, bytes, bytes]


def main() -> None:
    while True:
        request = _receive(0)
        if request is None:
            return
        argv, cwd, env, timeout = request
        _send(1, run(argv, cwd, env, timeout))


def run(argv: list[str], cwd: str, env: dict[str, str], timeout: float) -> Reply:
    """Fork, exec `argv`, drain its output into pipes, reap it with wait4."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY)
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.setsid()  # own process group, so a timeout kills it all
            os.chdir(cwd)
            os.dup2(devnull, 0)
            os.dup2(out_write, 1)
            os.dup2(err_write, 2)
            os.closerange(3, 65536)
            os.execvpe(argv[0], argv, env)
        except BaseException as error:
            os.write(2, f"launcher: cannot run {argv[0]}: {error}\n".encode())
        os._exit(127)
    for fd in (out_write, err_write, devnull):
        os.close(fd)
    chunks: dict[int, list[bytes]] = {out_read: [], err_read: []}
    pending = [out_read, err_read]
    timed_out = False
    while pending:
        remaining = started + timeout - time.perf_counter()
        if remaining <= 0:
            timed_out = True
            os.killpg(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select(pending, [], [], remaining)
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                pending.remove(fd)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    os.close(out_read)
    os.close(err_read)
    return (
        seconds,
        usage.ru_maxrss,
        os.waitstatus_to_exitcode(status),
        timed_out,
        b"".join(chunks[out_read]),
        b"".join(chunks[err_read]),
    )


def _receive(fd: int) -> tuple[list[str], str, dict[str, str], float] | None:
    header = _read_exactly(fd, 8)
    if header is None:
        return None
    payload = _read_exactly(fd, int.from_bytes(header, "big"))
    if payload is None:
        return None
    request: tuple[list[str], str, dict[str, str], float] = marshal.loads(payload)
    return request


def _send(fd: int, message: Reply) -> None:
    payload = marshal.dumps(message)
    data = len(payload).to_bytes(8, "big") + payload
    while data:
        data = data[os.write(fd, data) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts = []
    while size:
        data = os.read(fd, min(size, 1 << 20))
        if not data:
            return None
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


if __name__ == "__main__":
    main()
