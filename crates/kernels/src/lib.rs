//! jacobi's tensor kernels, compiled to WebAssembly (`simd128`) and exported
//! with wasm-bindgen. Tensors live in linear memory; every export takes
//! pointers (`usize`) and sizes, with shapes/strides in an i32 scratch area
//! the TypeScript side writes. Nothing traps on valid input: kernels that can
//! fail on data (indices out of range) return a status code.
//!
//! Families: [`alloc`], [`elementwise`] (+ [`mathf`] SIMD transcendentals),
//! [`reduce`], [`layout`], [`gemm`], [`conv`], [`int`] (int32, bool,
//! comparisons), [`linalg`], [`random`]; [`program`] runs a whole compiled
//! `jit` program in one call.

// SIMD wrappers deliberately mirror the intrinsics' names (add/mul/...);
// stride loops index several parallel arrays; kernel exports take raw
// pointer/size arguments; polynomial constants are kept as published.
#![allow(
    clippy::should_implement_trait,
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]

pub mod alloc;
pub mod conv;
pub mod elementwise;
pub mod gemm;
pub mod int;
pub mod layout;
pub mod linalg;
pub mod mathf;
pub mod mem;
pub mod nd;
pub mod num;
pub mod parallel;
pub mod program;
pub mod random;
pub mod reduce;
pub mod simd;
pub mod special;

#[cfg(test)]
mod tests;
