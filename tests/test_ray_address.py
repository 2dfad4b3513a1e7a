"""--ray-address is checked in seconds before Ray is asked to join it: an address where nothing listens,
and one where a service that is not Ray listens (Ray would hang there), are each one line."""

import socket
import threading
import time

import pytest

from bench.core.errors import BenchError
from bench.session import RunSpec, run
from bench.training.ray_executor import _check_reachable

pytest.importorskip("ray")


def _serve(answer: bytes | None) -> tuple[str, socket.socket]:
    """A TCP server on 127.0.0.1 that is not Ray: it answers each connection with `answer`, or keeps
    silent (None)."""
    server = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            if answer is not None:
                connection.sendall(answer)
            threading.Timer(30, connection.close).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"127.0.0.1:{server.getsockname()[1]}", server


@pytest.mark.parametrize("answer", [None, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                                    b"SSH-2.0-OpenSSH_9.6\r\n"], ids=["silent", "http", "ssh"])
def test_a_port_where_another_service_listens_is_refused_in_seconds(answer):
    address, server = _serve(answer)
    started = time.monotonic()
    try:
        with pytest.raises(BenchError, match=f"{address} answers, but not as a Ray cluster"):
            _check_reachable(address, timeout_s=2.0)
    finally:
        server.close()
    assert time.monotonic() - started < 5


def test_run_on_a_non_ray_port_is_one_line(tmp_path, tiny_model, data_dir):
    address, server = _serve(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    spec = RunSpec(executor="ray", executor_options={"ray_address": address}, model=str(tiny_model),
                   data_dir=str(data_dir), methods="full_ft", shots="8", train={"max_steps": "1"},
                   out=str(tmp_path))
    try:
        with pytest.raises(BenchError, match="answers, but not as a Ray cluster") as raised:
            run(spec)
    finally:
        server.close()
    assert "\n" not in str(raised.value)
