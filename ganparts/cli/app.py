"""``app``: serve the Streamlit app on 127.0.0.1 and print its URL."""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
from pathlib import Path

from ganparts.errors import UserError
from ganparts.runs.jobs import PACKAGE_PARENT, child_env
from ganparts.runs.listing import RUNS_ENV, default_runs_root

HOST = "127.0.0.1"  # the app starts training processes: never serve it beyond this machine
DEFAULT_PORT = 8501
APP_SCRIPT = Path("apps") / "streamlit_app.py"
MAX_UPLOAD_MB = 1  # a spec file is a few hundred bytes; specfile.MAX_SPEC_BYTES checks again


def add_commands(commands) -> None:
    p = commands.add_parser("app", help="serve the app (build, train, samples, attention, compare) on 127.0.0.1")
    p.add_argument("--runs", type=Path, help=f"folder of runs the app lists and trains into (default: ${RUNS_ENV} or ./runs)")
    p.add_argument("--port", type=int, help=f"port on {HOST} (default: {DEFAULT_PORT}, or the next free one)")
    p.set_defaults(handler=app)


def app(args) -> int:
    if importlib.util.find_spec("streamlit") is None:
        raise UserError("the app needs Streamlit: pip install -e '.[app]'")
    script = find_app()
    runs = (args.runs or default_runs_root()).resolve()
    runs.mkdir(parents=True, exist_ok=True)
    port = args.port if args.port is not None else free_port(DEFAULT_PORT)
    if not (0 < port < 65536):
        raise UserError(f"--port {port}: must lie in 1..65535")
    if not port_is_free(port):
        raise UserError(f"--port {port}: already in use on {HOST}; choose another, or leave --port out to pick a free one")
    print(f"ganparts: the app is at http://{HOST}:{port} (runs in {runs}); Ctrl+C stops it", flush=True)
    # Ctrl+C and SIGTERM stop the app even where SIGINT arrived ignored (a shell script's
    # background job, nohup): Python then installs no KeyboardInterrupt handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    process = subprocess.Popen(streamlit_command(script, port=port), env=child_env(**{RUNS_ENV: str(runs)}))
    try:
        return process.wait()
    except KeyboardInterrupt:  # shut Streamlit down too
        process.terminate()
        process.wait()
        return 0


def find_app() -> Path:
    """``apps/streamlit_app.py`` of the project this ganparts was installed from (editable
    install or source checkout), else of the current directory."""
    for root in (PACKAGE_PARENT, Path.cwd()):
        if (root / APP_SCRIPT).is_file():
            return root / APP_SCRIPT
    raise UserError(
        f"cannot find {APP_SCRIPT} next to the ganparts package ({PACKAGE_PARENT}) or in {Path.cwd()}; "
        "the app ships with the source: run from a checkout, or install it with pip install -e '.[app]'"
    )


def streamlit_command(script: Path, *, port: int) -> list[str]:
    """``streamlit run`` bound to 127.0.0.1:``port``, headless, no usage statistics, small uploads."""
    return [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.address", HOST, "--server.port", str(port), "--server.headless", "true",
        "--server.maxUploadSize", str(MAX_UPLOAD_MB), "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false", "--browser.serverAddress", HOST, "--client.toolbarMode", "minimal",
    ]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(start: int, tries: int = 100) -> int:
    """The first free port on 127.0.0.1 from ``start`` on."""
    for port in range(start, start + tries):
        if port_is_free(port):
            return port
    raise UserError(f"no free port on {HOST} in {start}..{start + tries - 1}; pass --port")
