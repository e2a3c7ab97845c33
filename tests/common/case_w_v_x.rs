// `case!(test, f, f_value_and_backward, f_backward, dual, seed)`: a test
// that checks `f(w: [f64; 4], v: [f64; 4], x: f64) -> f64` with
// `check_scalar` at points drawn from [-1.2, 1.2]^9, against its dual-number
// twin `dual` (called on the flat point). Included by tests/jammed_loops.rs
// and tests/relu_layers.rs.

macro_rules! case {
    ($name:ident, $f:ident, $vab:ident, $back:ident, $dual:expr, $seed:expr) => {
        #[test]
        fn $name() {
            check_scalar(
                stringify!($f),
                $seed,
                |r| uniform_vec(r, 9, -1.2, 1.2),
                |p| $f(arr(&p[..4]), arr(&p[4..8]), p[8]),
                |p, d| {
                    let (val, (dw, dv, dx)) = $vab(arr(&p[..4]), arr(&p[4..8]), p[8], d);
                    (val, [dw.to_vec(), dv.to_vec(), vec![dx]].concat())
                },
                |p, d| {
                    let (dw, dv, dx) = $back(arr(&p[..4]), arr(&p[4..8]), p[8], d);
                    [dw.to_vec(), dv.to_vec(), vec![dx]].concat()
                },
                $dual,
            );
        }
    };
}
