//! benchhost: brings up storage systems for benchmarking, each described by a sandboxed
//! WebAssembly plugin (`wit/plugin.wit`).
//!
//! Layers, with dependencies pointing one way: [`cli`] → [`orchestration`] →
//! {[`runtime`] (wasmtime), [`engine`] (Docker via bollard)}.

pub mod cli;
pub mod engine;
pub mod orchestration;
pub mod runtime;
