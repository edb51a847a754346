//! x
mod attributes;
mod config;
mod error;
pub use config::*;
pub use error::*;
