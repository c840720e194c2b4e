"""`python -m web.main` as App Runner runs it: a real process serving HOST:PORT."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

STARTUP_LIMIT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_python_m_web_main_serves_health_on_port_and_stops_on_sigterm() -> None:
    # GIVEN the web service started as a process on a free port
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "web.main"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        # WHEN /health is polled until it answers (at most STARTUP_LIMIT seconds)
        deadline = time.monotonic() + STARTUP_LIMIT
        body = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            body = response.json()
            break
        # THEN it answers, reporting the port it was given
        assert process.poll() is None, "the process exited early"
        assert body is not None, f"no answer on port {port} within {STARTUP_LIMIT} s"
        assert body["status"] == "healthy"
        assert body["port"] == str(port)
    finally:
        # AND it stops when terminated
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        output = process.stdout.read().decode(errors="replace") if process.stdout else ""
        if process.stdout:
            process.stdout.close()
    assert process.returncode is not None
    assert process.returncode in (0, -15), output
