//! A case's gradient variants timed in turn, block by block, so that a drift
//! in the host's speed hits them alike (on a noisy host, criterion's runs of
//! one variant after another can differ by 20 % from one run to the next).
//!
//! `cargo run --release -p neuron-bench --example interleave -- CASE BLOCKS CALLS`,
//! CASE one of `neuron`, `neuron_x1024`, `dense`, `network`, `rnn`,
//! `rosenbrock`, `layer_call`: for each variant (with `num_dual` on the neuron and
//! `echidna` on the rnn, the baselines nearest a target), the median time per
//! call over the blocks, and the median of its ratio to `generated` in the
//! same block.

use neuron_bench::cases::{dense, layer_call, network, rnn, rosenbrock, seed_neuron};
use std::hint::black_box;
use std::time::Instant;

/// A variant's name and one call of it.
type Variant<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// A backward pass of the dense layer.
type DenseBackward = fn(&[f64], &[f64], &[f64], [f64; 64]) -> dense::Grad;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `f` as a variant that passes its result through `black_box`.
fn variant<'a, T>(name: &'static str, mut f: impl FnMut() -> T + 'a) -> Variant<'a> {
    (name, Box::new(move || drop(black_box(f()))))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [case, blocks, calls] = &args[..] else {
        panic!("usage: interleave neuron|neuron_x1024|dense|network|rnn|rosenbrock|layer_call BLOCKS CALLS");
    };
    let (blocks, calls): (usize, usize) = (blocks.parse().unwrap(), calls.parse().unwrap());
    let one = seed_neuron::inputs();
    let one = (one.0, one.1, one.2);
    let batch = seed_neuron::batch_inputs();
    let mut grads = vec![[0.0; 7]; seed_neuron::BATCH];
    let mut grads_2 = grads.clone();
    let mut grads_3 = grads.clone();
    let d = dense::inputs();
    let n = network::inputs();
    let r = rnn::inputs();
    let x = rosenbrock::inputs();
    let l = layer_call::inputs();
    let mut variants: Vec<Variant> = match case.as_str() {
        "neuron" => vec![
            variant("hand", || seed_neuron::hand_on(black_box(&one))),
            variant("generated", || seed_neuron::generated_on(black_box(&one))),
            variant("num_dual", || seed_neuron::num_dual_on(black_box(&one))),
        ],
        "neuron_x1024" => vec![
            variant("hand", || {
                seed_neuron::hand_batch(black_box(&batch), black_box(&mut grads))
            }),
            variant("generated", || {
                seed_neuron::generated_batch(black_box(&batch), black_box(&mut grads_2))
            }),
            variant("num_dual", || {
                seed_neuron::num_dual_batch(black_box(&batch), black_box(&mut grads_3))
            }),
        ],
        "dense" => {
            let call = |f: DenseBackward| {
                let d = &d;
                move || {
                    f(
                        black_box(&d.x),
                        black_box(&d.w),
                        black_box(&d.b),
                        black_box(d.dy),
                    )
                }
            };
            vec![
                variant("hand", call(dense::hand)),
                variant("hand_ieee", call(dense::hand_ieee)),
                variant("generated", call(dense::generated)),
                variant("generated_skip", call(dense::generated_skip)),
                variant("generated_sized", call(dense::generated_sized)),
                variant("generated_len", call(dense::generated_len)),
            ]
        }
        "network" => {
            let call = |f: fn(&network::Inputs, f64) -> network::Grad| {
                let n = &n;
                move || f(black_box(n), 1.0)
            };
            vec![
                variant("hand", call(network::hand_on)),
                variant("hand_ieee", call(network::hand_ieee_on)),
                variant("generated", call(network::generated)),
                variant("generated_skip", call(network::generated_skip)),
                variant("generated_sized", call(network::generated_sized)),
                variant("hand_ieee_sized", call(network::hand_ieee_sized)),
            ]
        }
        "rnn" => vec![
            variant("hand", || {
                rnn::hand(black_box(r.0), black_box(r.1), black_box(r.2), 1.0)
            }),
            variant("generated", || {
                rnn::generated(black_box(r.0), black_box(r.1), black_box(r.2), 1.0)
            }),
            variant("echidna", || {
                rnn::echidna(black_box(r.0), black_box(r.1), black_box(r.2))
            }),
        ],
        "rosenbrock" => vec![
            variant("hand", || rosenbrock::hand(black_box(&x), 1.0)),
            variant("generated", || rosenbrock::generated(black_box(&x), 1.0)),
        ],
        "layer_call" => vec![
            variant("hand", || {
                layer_call::hand(black_box(&l.0), black_box(&l.1), 1.0)
            }),
            variant("generated", || {
                layer_call::generated(black_box(&l.0), black_box(&l.1), 1.0)
            }),
            variant("generated_plain", || {
                layer_call::generated_plain(black_box(&l.0), black_box(&l.1), 1.0)
            }),
            variant("generated_all", || {
                layer_call::generated_all(black_box(&l.0), black_box(&l.1), 1.0)
            }),
            variant("hand_layer", || {
                layer_call::hand_layer(black_box(&l.0), black_box(&l.1), 1.0)
            }),
            variant("generated_layer", || {
                layer_call::generated_layer(black_box(&l.0), black_box(&l.1), 1.0)
            }),
        ],
        other => panic!("no case {other}"),
    };
    let generated = variants
        .iter()
        .position(|(name, _)| *name == "generated")
        .unwrap();
    // Per variant, the time per call in µs of each block; the order in a
    // block rotates, so that no variant always runs first.
    let k = variants.len();
    let mut times = vec![Vec::with_capacity(blocks); k];
    for b in 0..blocks {
        for i in 0..k {
            let v = (b + i) % k;
            let f = &mut variants[v].1;
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            times[v].push(start.elapsed().as_secs_f64() * 1e6 / calls as f64);
        }
    }
    for (v, (name, _)) in variants.iter().enumerate() {
        let ratio = times[v]
            .iter()
            .zip(&times[generated])
            .map(|(a, g)| a / g)
            .collect();
        println!(
            "{case} {name:>15} {:10.4} µs  / generated {:.3}",
            median(times[v].clone()),
            median(ratio)
        );
    }
}
