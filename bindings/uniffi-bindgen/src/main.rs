//! `uniffi-bindgen` at exactly the uniffi version the FFI crate uses. maturin finds this
//! workspace binary and runs it to generate the Python module (`cargo run --bin uniffi-bindgen`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
