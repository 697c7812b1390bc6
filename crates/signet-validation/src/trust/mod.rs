//! Where trust comes from: anchors given as PEM/DER files, and EU trusted lists (ETSI TS
//! 119 612) whose signatures are checked.

pub mod anchors;
pub mod tl;

pub use anchors::{Anchor, TrustAnchors};
