//! benchhost: brings up storage systems for benchmarking, each described by a sandboxed
//! WebAssembly plugin (the contract: `wit/since_v<version>/plugin.wit`).
//!
//! Layers, with dependencies pointing one way: [`cli`] → [`orchestration`] →
//! {[`runtime`] (wasmtime), [`engine`] (Docker via bollard)} → {[`text`], [`exec`]} (shared
//! helpers and types; neither of the two bottom layers imports the other).

pub mod cli;
pub mod engine;
pub mod exec;
pub mod orchestration;
pub mod runtime;
pub mod text;
