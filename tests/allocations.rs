//! What a call through differentiated functions allocates, counted by a
//! global allocator: the generated code as the compiler expands it, where
//! the code generator's own tests see only its output outside the compiler.
//!
//! A loss squares a call to a layer over `x` (64 inputs) and `w` (64 × 64).
//! Through the call, the caller's gradient for `w` is the callee's (no
//! second zeroed copy to add it into), and when `x` is data, the callee
//! does not allocate (or compute) a gradient for it. One test only: the
//! counters are global.

use neuron::differentiate;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
/// Allocations of `w`'s size (32 768 bytes) and of `x`'s (512), while `ON`.
static OF_W: AtomicUsize = AtomicUsize::new(0);
static OF_X: AtomicUsize = AtomicUsize::new(0);

fn count(layout: Layout) {
    if ON.load(Ordering::Relaxed) {
        match layout.size() {
            32_768 => OF_W.fetch_add(1, Ordering::Relaxed),
            512 => OF_X.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

include!("common/tanh_layer.rs");
tanh_layer_fns!(#[no_grad]);

/// `(allocations of w's size, of x's size)` while `f` runs.
fn counted<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    OF_W.store(0, Ordering::Relaxed);
    OF_X.store(0, Ordering::Relaxed);
    ON.store(true, Ordering::Relaxed);
    let out = f();
    ON.store(false, Ordering::Relaxed);
    (
        out,
        OF_W.load(Ordering::Relaxed),
        OF_X.load(Ordering::Relaxed),
    )
}

#[test]
fn a_call_allocates_each_gradient_once_and_none_for_data() {
    let x: Vec<f64> = (0..64).map(|k| (k as f64 * 0.37).sin()).collect();
    let w: Vec<f64> = (0..64 * 64)
        .map(|k| (k as f64 * 0.11).cos() * 0.1)
        .collect();
    // Data: `w`'s gradient once (the callee's), and for `x` only the
    // callee's tape of its 64 sums.
    let (dw, of_w, of_x) = counted(|| data_loss_backward(&x, &w, 1.0));
    assert_eq!(
        (of_w, of_x),
        (1, 1),
        "data: allocations of w's and x's size"
    );
    // An activation: the callee's gradient for x too, and still no copies.
    let ((dx, dw_all), of_w, of_x) = counted(|| activation_loss_backward(&x, &w, 1.0));
    assert_eq!(
        (of_w, of_x),
        (1, 2),
        "activation: allocations of w's and x's size"
    );
    assert_eq!(dw, dw_all);
    // And the gradients are the layer's: d/dw of a² is 2a · d/dw a.
    let a = tanh_layer(&x, &w);
    let dw_layer = tanh_layer_backward(&x, &w, 2.0 * a);
    for (g, h) in dw.iter().zip(&dw_layer) {
        assert!((g - h).abs() <= 1e-14 * h.abs().max(1.0), "{g} vs {h}");
    }
    assert_eq!(dx.len(), 64);
    assert!(dx.iter().any(|d| *d != 0.0));
}
