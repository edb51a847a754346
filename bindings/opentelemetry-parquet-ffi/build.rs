//! Generates the UniFFI scaffolding from the UDL.

fn main() {
    uniffi::generate_scaffolding("src/opentelemetry_parquet.udl").expect("valid UDL");
}
