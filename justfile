# opentelemetry-parquet: thin recipes; the logic lives in xtask/.

# List the recipes.
default:
    @just --list

# Run the instrumented demo application and show what landed in ./otel-data.
demo:
    cargo xtask demo

# Every check and test: rustfmt, clippy, Rust tests, doctests, examples, then both Python wheels in a fresh venv with ruff, mypy and pytest.
test-all:
    cargo xtask test-all

# Build the Python wheels into dist/: opentelemetry-parquet and opentelemetry-parquet-cli (maturin, release), opentelemetry-exporter-parquet (`just wheels --target x86_64-apple-darwin`, `--manylinux2014`).
wheels *ARGS:
    cargo xtask wheels {{ARGS}}

# Every benchmark (Rust and Python: instructions, wall time, bytes, allocations, peak RSS) into bench/REPORT.md and charts (`just bench --quick`: tiny sizes, report under the target dir).
bench *ARGS:
    cargo xtask bench {{ARGS}}

# Fuzz the OTLP bytes decoders and the Python batch decoder, 60 s per target (`just fuzz --seconds 600 otlp_traces_bytes`).
fuzz *ARGS:
    cargo xtask fuzz {{ARGS}}
