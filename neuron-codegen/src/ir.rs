//! The intermediate representation the body is lowered to.
//!
//! Scalars are SSA values: each defined once, immutable, named. Anything that
//! is assigned after it is defined (a `let mut` scalar, an array) is a memory
//! object ("mem") read by `Load` into a value and written by `Store`. Loops and
//! branches are structured instructions holding blocks, so the reverse sweep
//! can mirror them.

use crate::rules::Rule;
use proc_macro2::TokenStream;
use syn::Ident;

pub type ValueId = usize;
pub type MemId = usize;
pub type BlockId = usize;

/// The type of a value, as far as differentiation cares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ty {
    Float,
    Int,
    Bool,
    /// A constant whose type the context decides (`N`, a user `const`).
    Any,
    /// A copy of an array passed to a call: the reverse sweep passes it to
    /// the callee's pullback again, and reads the index path it was taken at.
    Snapshot,
    /// The reverse sweep of a call, returned by the callee's forward sweep.
    Pullback,
}

pub struct Value {
    pub ty: Ty,
    pub name: Ident,
    pub block: BlockId,
    /// A loop variable: the reverse loop binds it again, so it is never taped.
    pub loop_var: bool,
}

#[derive(Clone)]
pub enum MemOrigin {
    /// A parameter of array, slice or `Vec` type; `by_ref` if the type is a reference.
    Param {
        index: usize,
        by_ref: bool,
    },
    Local,
    /// The result of a call to another differentiated function.
    CallOutput {
        func: syn::Path,
    },
}

pub struct Mem {
    pub name: Ident,
    pub elem: Ty,
    /// Number of indices down to a scalar, if known.
    pub rank: Option<usize>,
    pub block: BlockId,
    pub origin: MemOrigin,
    /// Stored to after its initialisation.
    pub mutated: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BlockKind {
    Top,
    /// A `for` body; `trips` is the iteration count when the bounds are literals.
    For {
        trips: Option<u64>,
    },
    While,
    /// A `while` condition: forward only.
    Cond,
    /// An arm of an `if`.
    Arm,
}

pub struct BlockInfo {
    pub parent: Option<BlockId>,
    pub kind: BlockKind,
}

// IR nodes are built once per macro call; boxing the large variants would
// only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Op {
    /// A scalar parameter, by index.
    Param(usize),
    /// A literal or a constant path, emitted inline wherever it is used.
    Const(TokenStream),
    /// A differentiable primitive.
    Rule(&'static Rule),
    /// Integer, boolean or comparison operators: no derivative.
    Binary(syn::BinOp),
    Unary(syn::UnOp),
    Cast(syn::Type),
    /// A method on integers (`min`, `max`, `pow`, …): no derivative.
    IntMethod(Ident),
    /// `mem.len()`.
    Len(MemId),
    /// A copy of an array taken before a call.
    Snapshot(MemId),
}

pub enum MemInit {
    /// Literal tokens with no values in them (`[0.0; 3]`).
    Verbatim(TokenStream),
    /// `[a, b, c]`.
    List(Vec<ValueId>),
    /// `from[index]` (or all of `from`), copied.
    Copy { from: MemId, index: Vec<ValueId> },
    /// A scalar `let mut`.
    Scalar(ValueId),
    /// `vec![elem; len]` with a constant element.
    VecRepeat { elem: TokenStream, len: ValueId },
}

pub enum Arg {
    Value(ValueId),
    /// An array passed to a call. `snapshot` is a copy of a local array.
    Mem {
        mem: MemId,
        by_ref: bool,
        snapshot: Option<ValueId>,
    },
}

#[allow(clippy::large_enum_variant)]
pub enum Inst {
    Def {
        dst: ValueId,
        op: Op,
        args: Vec<ValueId>,
    },
    Load {
        dst: ValueId,
        mem: MemId,
        index: Vec<ValueId>,
    },
    Store {
        mem: MemId,
        index: Vec<ValueId>,
        src: ValueId,
    },
    /// `mem[index] = from[from_index];` for a whole array (or a call's result).
    CopyInto {
        mem: MemId,
        index: Vec<ValueId>,
        from: MemId,
        from_index: Vec<ValueId>,
    },
    Init {
        mem: MemId,
        init: MemInit,
    },
    For {
        var: ValueId,
        lo: ValueId,
        hi: ValueId,
        inclusive: bool,
        rev: bool,
        body: Block,
    },
    While {
        cond: Block,
        cond_value: ValueId,
        body: Block,
        count: ValueId,
    },
    If {
        cond: ValueId,
        then: Block,
        els: Block,
    },
    /// `assert!(…)`, `debug_assert_eq!(…)`, …: checked in the forward
    /// sweep as the function checks it, with no derivative.
    Assert(Assertion),
    /// `out = func(args)`; `pullback` is the callee's reverse sweep, which
    /// keeps what the callee's forward sweep saved.
    Call {
        func: syn::Path,
        args: Vec<Arg>,
        out: MemId,
        pullback: ValueId,
    },
}

/// An assertion macro and what it reads: `mac!(args[0], …, message,
/// named…)`. The checked operands come first (one for `assert!`, two for
/// `assert_eq!`), then the message's arguments, each with its name if it is
/// a named one (`x = …`, or a name the format string captures, `{x}`).
pub struct Assertion {
    pub mac: syn::Path,
    /// Where the function wrote it: a failed check's panic points there.
    pub span: proc_macro2::Span,
    pub checked: Vec<ValueId>,
    pub message: Option<syn::LitStr>,
    pub message_args: Vec<(Option<Ident>, ValueId)>,
}

impl Assertion {
    /// Every value the assertion reads.
    pub fn operands(&self) -> Vec<ValueId> {
        let message = self.message_args.iter().map(|(_, v)| *v);
        self.checked.iter().copied().chain(message).collect()
    }
}

pub struct Block {
    pub id: BlockId,
    pub insts: Vec<Inst>,
}

pub enum Output {
    Value(ValueId),
    Mem(MemId),
}

pub struct Ir {
    pub values: Vec<Value>,
    pub mems: Vec<Mem>,
    /// Types written on `let`s that became memory (`let mut t: f64 = 1.0;`).
    pub annotations: std::collections::HashMap<MemId, syn::Type>,
    pub blocks: Vec<BlockInfo>,
    pub body: Block,
    pub output: Output,
}

impl Ir {
    /// The loops enclosing `block`, innermost first, as (block, kind).
    pub fn enclosing(&self, mut block: BlockId) -> Vec<(BlockId, BlockKind)> {
        let mut out = Vec::new();
        loop {
            let info = &self.blocks[block];
            out.push((block, info.kind));
            match info.parent {
                Some(p) => block = p,
                None => return out,
            }
        }
    }
}
