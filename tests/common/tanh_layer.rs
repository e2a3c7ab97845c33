// A layer of `tanh` units whose sizes are its arguments',
// `sum_i tanh(sum_j w[i n + j] x[j])`, and two losses that square a call to
// it: `data_loss` passing data as `x`, `activation_loss` an activation.
// `tanh_layer_fns!(#[no_grad])` writes the layer with `x` `#[no_grad]`
// (tests/no_grad_calls.rs, gradients against num-dual; tests/allocations.rs,
// what the calls allocate), `tanh_layer_fns!()` without
// (tests/data_arguments.rs: the caller's mask leaves `d_x` out).

macro_rules! tanh_layer_fns {
    ($($x_attr:tt)*) => {
        #[differentiate]
        fn tanh_layer($($x_attr)* x: &[f64], w: &[f64]) -> f64 {
            let n = x.len();
            let mut s = 0.0;
            for i in 0..n {
                let mut z = 0.0;
                for j in 0..n {
                    z += w[i * n + j] * x[j];
                }
                s += z.tanh();
            }
            s
        }

        /// Data into the layer's `x`: with `#[no_grad]` on it, the layer's
        /// own sweep; without, the sweep that leaves `d_x` out.
        #[differentiate]
        fn data_loss(#[no_grad] x: &[f64], w: &[f64]) -> f64 {
            let a = tanh_layer(x, w);
            a * a
        }

        /// An activation into it: the sweep with every gradient.
        #[differentiate]
        fn activation_loss(x: &[f64], w: &[f64]) -> f64 {
            let a = tanh_layer(x, w);
            a * a
        }
    };
}
