# opentelemetry-parquet: thin recipes; the logic lives in xtask/.

# Each recipe is one `cargo xtask` line: on Windows PowerShell runs it, no `sh` needed.
set windows-shell := ["powershell.exe", "-NoLogo", "-Command"]

# List the recipes.
default:
    @just --list

# Run the instrumented demo application and show what landed in ./otel-data.
demo:
    cargo xtask demo

# Every check and test: rustfmt, clippy, Rust tests, doctests, examples, then the three Python wheels in a fresh venv per Python 3.11-3.13 found, with ruff, mypy and pytest.
test-all:
    cargo xtask test-all

# The Rust test suites built for Windows and run under wine (needs mingw-w64 and wine: apt-get install gcc-mingw-w64-x86-64 wine64).
test-windows:
    cargo xtask test-windows

# Build the Python wheels into dist/: opentelemetry-parquet and opentelemetry-parquet-cli (maturin, release), opentelemetry-exporter-parquet (`just wheels --target x86_64-apple-darwin`).
wheels *ARGS:
    cargo xtask wheels {{ARGS}}

# Every benchmark (Rust and Python: instructions, wall time, bytes, allocations, peak RSS) into bench/REPORT.md and charts (`just bench --quick`: tiny sizes, report under the target dir).
bench *ARGS:
    cargo xtask bench {{ARGS}}

# Fuzz the OTLP bytes decoders and the Python batch decoder, 60 s per target (`just fuzz --seconds 600 otlp_traces_bytes`).
fuzz *ARGS:
    cargo xtask fuzz {{ARGS}}
