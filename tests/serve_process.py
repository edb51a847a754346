"""`opentelemetry-parquet serve` as a process, for the tests that point real OTLP clients at it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from arrow_rows import int_times

ROOT = Path(__file__).resolve().parent.parent


class Serve:
    """The command on ephemeral loopback ports, its addresses read from what it prints."""

    def __init__(self, store: Path) -> None:
        subprocess.run(
            ["cargo", "build", "--quiet", "-p", "opentelemetry-parquet-cli"], cwd=ROOT, check=True, timeout=900
        )
        binary = ROOT / "target" / "debug" / ("opentelemetry-parquet" + (".exe" if sys.platform == "win32" else ""))
        self.process = subprocess.Popen(
            [str(binary), "serve", "--output-dir", str(store), "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        self.addresses: dict[str, str] = {}
        for line in self.process.stderr:
            found = re.match(r"serve: OTLP/(gRPC|HTTP) on (\S+)", line)
            if found:
                self.addresses[found.group(1)] = found.group(2)
            if line.startswith("serve: storing into"):
                break
        assert set(self.addresses) == {"gRPC", "HTTP"}, self.addresses

    def stop(self) -> str:
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
