"""`opentelemetry-parquet serve` as a process, for the tests that point real OTLP clients at it.

The command is the one the `opentelemetry-parquet-cli` wheel installed into this environment's
scripts directory (`cargo xtask test-all` installs it into its virtualenv), so that the tests run
what users get; where that wheel is not installed, the command is built from the sources with
cargo (target/debug).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import sysconfig
import warnings
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from arrow_rows import int_times

ROOT = Path(__file__).resolve().parent.parent
EXECUTABLE = "opentelemetry-parquet" + (".exe" if sys.platform == "win32" else "")


def installed_command() -> Path | None:
    """`opentelemetry-parquet` as the `opentelemetry-parquet-cli` wheel installs it: in the scripts
    directory of the environment running the tests (never a command found elsewhere on PATH)."""
    command = Path(sysconfig.get_path("scripts")) / EXECUTABLE
    return command if command.is_file() else None


def command() -> Path:
    """The installed command, else the one cargo builds from the sources (saying so)."""
    installed = installed_command()
    if installed is not None:
        return installed
    # A warning, so that pytest's summary says which command the serve tests ran.
    warnings.warn(
        f"{EXECUTABLE} is not in {sysconfig.get_path('scripts')} (the opentelemetry-parquet-cli wheel is not "
        "installed): the serve tests build it with cargo and run target/debug's",
        stacklevel=2,
    )
    subprocess.run(["cargo", "build", "--quiet", "-p", "opentelemetry-parquet-cli"], cwd=ROOT, check=True, timeout=900)
    return ROOT / "target" / "debug" / EXECUTABLE


class Serve:
    """The command on ephemeral loopback ports, its addresses read from what it prints
    (``serve: OTLP/gRPC on ADDRESS[ over TLS (https://)]``); ``extra_args`` go after the ports, e.g.
    ``["--tls-cert", CERT, "--tls-key", KEY]``."""

    def __init__(self, store: Path, extra_args: Sequence[str] = ()) -> None:
        self.command = command()
        arguments = [str(self.command), "serve", "--output-dir", str(store), "--grpc", "127.0.0.1:0"]
        arguments += ["--http", "127.0.0.1:0", *extra_args]
        if sys.platform == "win32":
            # Its own process group, so that stop() can send it CTRL_BREAK_EVENT without
            # also interrupting the test run, which shares the console.
            self.process = subprocess.Popen(
                arguments, stderr=subprocess.PIPE, text=True, creationflags=subprocess.CREATE_NEW_PROCESS_GROUP
            )
        else:
            self.process = subprocess.Popen(arguments, stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        self.addresses: dict[str, str] = {}
        self.banner: list[str] = []
        for line in self.process.stderr:
            self.banner.append(line)
            found = re.match(r"serve: OTLP/(gRPC|HTTP) on (\S+)", line)
            if found:
                self.addresses[found.group(1)] = found.group(2)
            if line.startswith("serve: storing into"):
                break
        assert set(self.addresses) == {"gRPC", "HTTP"}, "".join(self.banner)

    def stop(self) -> str:
        """Ask it to stop as a user would (Ctrl-Break on Windows, SIGTERM elsewhere: it flushes
        first), assert it exits 0, and return what it printed after its banner."""
        if sys.platform == "win32":
            self.process.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.stderr is not None
        rest = self.process.stderr.read()
        assert self.process.wait(timeout=60) == 0, rest
        return rest


def table(store: Path, name: str) -> pa.Table:
    """One table of a store, times as integers (nanoseconds) so that none is rounded."""
    found = ds.dataset(str(store / name), format="parquet", partitioning="hive").to_table()
    schema = pa.schema([f.with_type(int_times(f.type)) for f in found.schema])
    return found.cast(schema)
