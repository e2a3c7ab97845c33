//! The constructs of `neuron-lint-clean` under edition 2024, with warnings
//! and clippy lints denied: a warning in the generated code fails the build.
#![deny(warnings)]
#![deny(clippy::all)]
#![deny(missing_docs)]

#[path = "../../lint-clean/src/constructs.rs"]
pub mod constructs;
