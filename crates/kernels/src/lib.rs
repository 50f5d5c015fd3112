//! jacobi's tensor kernels, compiled to WebAssembly (`simd128`) and exported
//! with wasm-bindgen. Tensors live in linear memory; every export takes
//! pointers (`usize`) and sizes, with shapes/strides in an i32 scratch area
//! the TypeScript side writes. Nothing traps on valid input: kernels that can
//! fail on data (indices out of range) return a status code.
//!
//! Families: [`alloc`], [`elementwise`] (+ [`mathf`] SIMD transcendentals),
//! [`reduce`], [`layout`], [`gemm`], [`random`].

pub mod alloc;
pub mod elementwise;
pub mod gemm;
pub mod layout;
pub mod mathf;
pub mod nd;
pub mod num;
pub mod random;
pub mod reduce;
pub mod simd;

#[cfg(test)]
mod tests;
