"""``ganparts app``: Streamlit on 127.0.0.1 only, at a port it checks, with the URL printed."""

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ganparts.cli.app import find_app, free_port, streamlit_command
from ganparts.runs.jobs import child_env
from tests.conftest import ROOT, run_cli


def test_the_app_is_found_next_to_the_package():
    assert find_app() == ROOT / "apps" / "streamlit_app.py"


def test_streamlit_is_bound_to_loopback_with_small_uploads():
    command = streamlit_command(Path("app.py"), port=8600)
    options = dict(zip(command[5::2], command[6::2]))
    assert command[1:5] == ["-m", "streamlit", "run", "app.py"]
    assert options["--server.address"] == "127.0.0.1" and options["--server.port"] == "8600"
    assert options["--server.maxUploadSize"] == "1" and options["--browser.gatherUsageStats"] == "false"


def test_a_busy_port_is_refused(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("app", "--port", port, "--runs", tmp_path)
        assert free_port(port) != port
    assert result.returncode == 2 and f"--port {port}: already in use" in result.stderr


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp, IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from Linux's /proc")
def test_serves_on_loopback_and_prints_the_url(tmp_path):
    port = free_port(8700)
    app = subprocess.Popen([sys.executable, "-m", "ganparts", "app", "--port", str(port), "--runs", str(tmp_path / "runs")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env())
    try:
        assert app.stdout.readline().strip() == (
            f"ganparts: the app is at http://127.0.0.1:{port} (runs in {tmp_path / 'runs'}); Ctrl+C stops it"
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    assert response.read() == b"ok"
                    break
            except OSError:
                assert time.monotonic() < deadline and app.poll() is None, "the app did not come up"
                time.sleep(0.3)
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
        assert (tmp_path / "runs").is_dir()
    finally:
        app.send_signal(signal.SIGINT)
        assert app.wait(timeout=30) == 0
