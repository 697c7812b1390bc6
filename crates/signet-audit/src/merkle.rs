//! The Merkle tree of RFC 9162 (Certificate Transparency v2) §2.1 over SHA-256.
//!
//! The hashing, proofs and verification follow the RFC exactly, so that any CT-style
//! verifier (Go, C++, the C2SP tooling) checks the audit log's proofs with its own code:
//! a divergence here would make the log silently incompatible with every other
//! implementation. Verification is literal (the RFC's bit arithmetic on `fn`/`sn`), and
//! proofs must have exactly the expected number of hashes, so padding or truncation of a
//! proof is rejected rather than tolerated.

use aws_lc_rs::digest;

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain separation between leaves and interior nodes (RFC 9162 §2.1.1): without it a
/// node could be passed off as a leaf (second-preimage attack on the tree).
const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The old tree is larger than the new one: an append-only log cannot shrink.
    #[error("old tree size {old} is larger than new tree size {new}")]
    BadSize { old: u64, new: u64 },
    /// The proof has more or fewer hashes than the sizes imply.
    #[error("proof has {got} hashes, expected {expected}")]
    WrongLength { expected: usize, got: usize },
    /// The proof is well-formed but recomputes a different root.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    /// Bytes that do not decode to the expected structure.
    #[error("malformed: {0}")]
    Malformed(String),
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1).
fn empty_root() -> Hash {
    sha256(&[])
}

/// SHA-256(0x00 || data): the hash of one log entry as a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[LEAF_PREFIX], data])
}

/// SHA-256(0x01 || left || right): the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[NODE_PREFIX], left, right])
}

/// MTH of the leaf hashes (already leaf-hashed); MTH({}) = SHA-256("").
///
/// Built through a [`Frontier`] so it runs in O(n) time and O(log n) memory, with no
/// recursion, however large the log.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut frontier = Frontier::new();
    for leaf in leaves {
        frontier.push(*leaf);
    }
    frontier.root()
}

/// RFC 9162's split point `k`: the largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// A subtree `[lo, hi)` that a proof carries the root of, and which side of the path it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Subtree {
    lo: u64,
    hi: u64,
    left: bool,
}

/// Walks PATH(index, D[size]) from the root down (requires index < size), visiting the
/// sibling subtree met at each level. The proof lists them in the reverse order.
fn walk_inclusion(index: u64, size: u64, mut visit: impl FnMut(Subtree)) {
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index < lo + k {
            visit(Subtree {
                lo: lo + k,
                hi,
                left: false,
            });
            hi = lo + k;
        } else {
            visit(Subtree {
                lo,
                hi: lo + k,
                left: true,
            });
            lo += k;
        }
    }
}

/// The subtrees of PATH(index, D[size]) in proof order (bottom-up).
fn inclusion_subtrees(index: u64, size: u64) -> Vec<Subtree> {
    let mut out = Vec::new();
    walk_inclusion(index, size, |s| out.push(s));
    out.reverse();
    out
}

fn inclusion_len(index: u64, size: u64) -> usize {
    let mut n = 0;
    walk_inclusion(index, size, |_| n += 1);
    n
}

/// Walks SUBPROOF(old, D[new], true) from the root down (requires 0 < old < new), visiting
/// the sibling subtree met at each level, and finally the subtree `D[lo:old]` itself unless
/// it is a complete subtree of the old tree (`b` still true in the RFC's terms, which is
/// the case iff old is a power of two: the verifier then uses the old root in its place).
fn walk_consistency(old: u64, new: u64, mut visit: impl FnMut(Subtree)) {
    let (mut lo, mut hi) = (0, new);
    let mut on_left_edge = true;
    // Invariant: lo < old <= hi, so hi - lo >= 2 while old != hi.
    while old != hi {
        let k = split(hi - lo);
        if old <= lo + k {
            visit(Subtree {
                lo: lo + k,
                hi,
                left: false,
            });
            hi = lo + k;
        } else {
            visit(Subtree {
                lo,
                hi: lo + k,
                left: true,
            });
            lo += k;
            on_left_edge = false;
        }
    }
    if !on_left_edge {
        visit(Subtree { lo, hi, left: true });
    }
}

/// The subtrees of PROOF(old, D[new]) in proof order (bottom-up).
fn consistency_subtrees(old: u64, new: u64) -> Vec<Subtree> {
    let mut out = Vec::new();
    walk_consistency(old, new, |s| out.push(s));
    out.reverse();
    out
}

fn consistency_len(old: u64, new: u64) -> usize {
    let mut n = 0;
    walk_consistency(old, new, |_| n += 1);
    n
}

/// Roots of the given subtrees. Each subtree is hashed once and the subtrees of a proof are
/// disjoint, so this is O(n) overall.
fn subtree_roots(leaves: &[Hash], subtrees: &[Subtree]) -> Vec<Hash> {
    // Bounds come from `leaves.len()`, so the casts back to usize are lossless.
    subtrees
        .iter()
        .map(|s| root(&leaves[s.lo as usize..s.hi as usize]))
        .collect()
}

/// PATH(m, D[n]) of RFC 9162 §2.1.3.1: audit path of leaf `index` in the tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let size = leaves.len() as u64;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Ok(subtree_roots(leaves, &inclusion_subtrees(index, size)))
}

/// RFC 9162 §2.1.3.2 verification algorithm; Ok(()) iff proof proves leaf at index in tree (size, root).
///
/// The proof binds the size only through the shape of the path: a verifier must take the
/// size from the signed tree head it trusts, never from whoever supplies the proof.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fnn, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength {
                expected,
                got: proof.len(),
            });
        }
        if fnn & 1 == 1 || fnn == sn {
            r = node_hash(p, &r);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnn >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// PROOF(m, D[n]) of §2.1.4.1 between the tree of the first `old_size` leaves and all `leaves`.
///
/// Empty when `old_size` is 0 or the whole tree: those are consistent with no evidence.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, ProofError> {
    let new_size = leaves.len() as u64;
    if old_size > new_size {
        return Err(ProofError::BadSize {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    Ok(subtree_roots(
        leaves,
        &consistency_subtrees(old_size, new_size),
    ))
}

/// §2.1.4.2 verification.
///
/// Beyond the RFC (which covers 0 < old < new): equal sizes need an empty proof and equal
/// roots, and an old size of 0 needs an empty proof and the empty-tree root as `old_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::BadSize {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                got: proof.len(),
            });
        }
        let ok = if old_size == 0 {
            *old_root == empty_root() && (new_size != 0 || new_root == old_root)
        } else {
            old_root == new_root
        };
        return if ok {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let expected = consistency_len(old_size, new_size);
    let wrong_length = ProofError::WrongLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // Step 2: a power-of-two old tree is a complete subtree, whose root the proof omits.
    let mut path = old_size
        .is_power_of_two()
        .then_some(old_root)
        .into_iter()
        .chain(proof);
    // Step 1 (an empty path fails), then steps 3-5.
    let Some(first) = path.next() else {
        return Err(wrong_length);
    };
    let (mut fnn, mut sn) = (old_size - 1, new_size - 1);
    while fnn & 1 == 1 {
        fnn >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    // Step 6.
    for c in path {
        if sn == 0 {
            return Err(wrong_length);
        }
        if fnn & 1 == 1 || fnn == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnn >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(wrong_length);
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// An append-only tree kept as its right edge ("compact range"/frontier): the roots of the perfect
/// subtrees, largest first, so a sealer can extend the tree and get its root without the old leaves.
///
/// There is one hash per set bit of the size (at most 64), so the state stays tiny however
/// large the log grows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf (already leaf-hashed): like binary increment, each trailing one bit of
    /// the size is a perfect subtree of equal height that merges with the new one.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut n = self.size;
        while n & 1 == 1 {
            // The invariant (one hash per set bit) guarantees a hash here.
            let Some(left) = self.hashes.pop() else { break };
            h = node_hash(&left, &h);
            n >>= 1;
        }
        self.hashes.push(h);
        self.size += 1;
    }

    /// The tree's root; equals `root(all leaves pushed)`: the perfect subtrees fold right to
    /// left exactly as MTH splits at the largest power of two.
    pub fn root(&self) -> Hash {
        let mut rest = self.hashes.iter().rev();
        let Some(mut r) = rest.next().copied() else {
            return empty_root();
        };
        for h in rest {
            r = node_hash(h, &r);
        }
        r
    }

    /// 8-byte big-endian size followed by the subtree hashes, largest first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.hashes.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for h in &self.hashes {
            out.extend_from_slice(h);
        }
        out
    }

    /// Inverse of [`Frontier::to_bytes`]; rejects a hash count that does not match
    /// popcount(size), since such a state could not have come from pushing leaves.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ProofError> {
        let Some((head, rest)) = b.split_first_chunk::<8>() else {
            return Err(ProofError::Malformed(format!(
                "frontier of {} bytes is shorter than its 8-byte size",
                b.len()
            )));
        };
        let size = u64::from_be_bytes(*head);
        let (hashes, tail) = rest.as_chunks::<32>();
        let expected = size.count_ones() as usize;
        if !tail.is_empty() || hashes.len() != expected {
            return Err(ProofError::Malformed(format!(
                "frontier of size {size} needs {expected} hashes ({} bytes), got {} bytes",
                8 + 32 * expected,
                b.len()
            )));
        }
        Ok(Self {
            size,
            hashes: hashes.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use data_encoding::HEXLOWER;

    fn h(s: &str) -> Hash {
        HEXLOWER.decode(s.as_bytes()).unwrap().try_into().unwrap()
    }

    fn hs(v: &[&str]) -> Vec<Hash> {
        v.iter().map(|s| h(s)).collect()
    }

    /// Leaf inputs of the RFC 6962 / CT reference tree.
    const INPUTS: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// kLeafHashes of google/certificate-transparency merkle_tree_test.cc.
    const LEAF_HASHES: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ];

    /// kRootHashes: MTH of the first 1..=8 leaves.
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    const EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn reference_leaves() -> Vec<Hash> {
        INPUTS
            .iter()
            .map(|s| leaf_hash(&HEXLOWER.decode(s.as_bytes()).unwrap()))
            .collect()
    }

    /// Distinct leaf hashes for the property tests.
    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn flip(mut x: Hash, bit: usize) -> Hash {
        x[bit / 8 % 32] ^= 1 << (bit % 8);
        x
    }

    // Direct transcriptions of the RFC's recursive definitions, as an independent model.
    fn model_mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => h(EMPTY_ROOT),
            1 => d[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&model_mth(&d[..k]), &model_mth(&d[k..]))
            }
        }
    }

    fn model_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split(n as u64) as usize;
        if m < k {
            let mut p = model_path(m, &d[..k]);
            p.push(model_mth(&d[k..]));
            p
        } else {
            let mut p = model_path(m - k, &d[k..]);
            p.push(model_mth(&d[..k]));
            p
        }
    }

    fn model_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![model_mth(d)] };
        }
        let k = split(n as u64) as usize;
        if m <= k {
            let mut p = model_subproof(m, &d[..k], b);
            p.push(model_mth(&d[k..]));
            p
        } else {
            let mut p = model_subproof(m - k, &d[k..], false);
            p.push(model_mth(&d[..k]));
            p
        }
    }

    /// The direction pattern of an inclusion path: the only thing the verifier's bit
    /// arithmetic depends on, so two (index, size) with the same pattern accept the same proofs.
    fn inclusion_shape(index: u64, size: u64) -> Option<Vec<bool>> {
        (index < size).then(|| {
            inclusion_subtrees(index, size)
                .iter()
                .map(|s| s.left)
                .collect()
        })
    }

    /// Same for consistency proofs (0 < old < new), plus whether the old root stands in for
    /// the first hash.
    fn consistency_shape(old: u64, new: u64) -> Option<(bool, Vec<bool>)> {
        (0 < old && old < new).then(|| {
            let sides = consistency_subtrees(old, new)
                .iter()
                .map(|s| s.left)
                .collect();
            (old.is_power_of_two(), sides)
        })
    }

    #[test]
    fn reference_hashes_and_roots() {
        let d = reference_leaves();
        assert_eq!(d, hs(&LEAF_HASHES));
        assert_eq!(root(&[]), h(EMPTY_ROOT));
        assert_eq!(Frontier::new().root(), h(EMPTY_ROOT));
        let mut f = Frontier::new();
        for (n, want) in ROOTS.iter().enumerate() {
            assert_eq!(root(&d[..=n]), h(want), "root of size {}", n + 1);
            f.push(d[n]);
            assert_eq!(f.root(), h(want), "frontier root of size {}", n + 1);
        }
    }

    #[test]
    fn reference_inclusion_proofs() {
        // kAuditProofs (0-based leaf index, tree size, path).
        let vectors: [(u64, usize, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let d = reference_leaves();
        for (index, size, want) in vectors {
            let proof = inclusion_proof(&d[..size], index).unwrap();
            assert_eq!(proof, hs(want), "PATH({index}, D[{size}])");
            let r = h(ROOTS[size - 1]);
            verify_inclusion(&d[index as usize], index, size as u64, &proof, &r).unwrap();
        }
    }

    #[test]
    fn reference_consistency_proofs() {
        // kConsistencyProofs (old size, new size, proof).
        let vectors: [(u64, usize, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let d = reference_leaves();
        for (old, new, want) in vectors {
            let proof = consistency_proof(&d[..new], old).unwrap();
            assert_eq!(proof, hs(want), "PROOF({old}, D[{new}])");
            let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new - 1]));
            verify_consistency(old, new as u64, &r1, &r2, &proof).unwrap();
        }
    }

    #[test]
    fn matches_rfc_recursive_definitions() {
        for n in 0..=40u64 {
            let d = leaves(n);
            assert_eq!(root(&d), model_mth(&d), "MTH of {n}");
            for m in 0..n {
                assert_eq!(inclusion_proof(&d, m).unwrap(), model_path(m as usize, &d));
            }
            for m in 1..n {
                let want = model_subproof(m as usize, &d, true);
                assert_eq!(
                    consistency_proof(&d, m).unwrap(),
                    want,
                    "PROOF({m}, D[{n}])"
                );
            }
        }
    }

    #[test]
    fn inclusion_rejects_out_of_range() {
        let d = leaves(5);
        assert_eq!(
            inclusion_proof(&d, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            inclusion_proof(&[], 0),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        let e = h(EMPTY_ROOT);
        assert!(verify_inclusion(&e, 0, 0, &[], &e).is_err());
        assert!(verify_inclusion(&d[0], 0, 1, &[], &d[1]).is_err());
        assert!(verify_inclusion(&d[0], 1, 1, &[], &d[0]).is_err());
    }

    #[test]
    fn inclusion_exhaustive() {
        for n in 1..=40u64 {
            let d = leaves(n);
            let r = root(&d);
            for i in 0..n {
                let leaf = d[i as usize];
                let proof = inclusion_proof(&d, i).unwrap();
                assert_eq!(
                    verify_inclusion(&leaf, i, n, &proof, &r),
                    Ok(()),
                    "({i}, {n})"
                );

                for j in 0..proof.len() {
                    for bit in [0, 77, 255] {
                        let mut bad = proof.clone();
                        bad[j] = flip(bad[j], bit);
                        assert!(verify_inclusion(&leaf, i, n, &bad, &r).is_err());
                    }
                }
                assert!(verify_inclusion(&flip(leaf, 3), i, n, &proof, &r).is_err());
                assert_eq!(
                    verify_inclusion(&leaf, i, n, &proof, &flip(r, 200)),
                    Err(ProofError::RootMismatch)
                );
                assert!(verify_inclusion(&leaf, i, n, &proof, &h(EMPTY_ROOT)).is_err());
                if !proof.is_empty() {
                    assert!(verify_inclusion(&leaf, i, n, &proof[..proof.len() - 1], &r).is_err());
                    assert!(verify_inclusion(&leaf, i, n, &proof[1..], &r).is_err());
                    assert!(verify_inclusion(&leaf, i, n, &[], &r).is_err());
                }
                for extra in [[0u8; 32], r, leaf] {
                    let mut longer = proof.clone();
                    longer.push(extra);
                    assert!(verify_inclusion(&leaf, i, n, &longer, &r).is_err());
                    let mut longer = vec![extra];
                    longer.extend_from_slice(&proof);
                    assert!(verify_inclusion(&leaf, i, n, &longer, &r).is_err());
                }

                // Another index of the same tree never verifies.
                for i2 in (0..n).filter(|&i2| i2 != i) {
                    assert!(verify_inclusion(&leaf, i2, n, &proof, &r).is_err());
                }
                // Any other (index, size): accepted exactly when the path has the same
                // shape, since the RFC algorithm then performs the very same hashing
                // (e.g. leaf 0 of 5 and of 6). Sizes bind only through the signed root.
                let shape = inclusion_shape(i, n);
                for n2 in 0..=41u64 {
                    for i2 in 0..=41u64 {
                        let ok = verify_inclusion(&leaf, i2, n2, &proof, &r).is_ok();
                        assert_eq!(
                            ok,
                            inclusion_shape(i2, n2) == shape,
                            "({i2}, {n2}) vs ({i}, {n})"
                        );
                    }
                }
                for n2 in [n * 2, n / 2, n + 1, n - 1] {
                    if inclusion_shape(i, n2) != shape {
                        assert!(verify_inclusion(&leaf, i, n2, &proof, &r).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn consistency_rejects_bad_sizes_and_trivial_cases() {
        let d = leaves(8);
        let (r3, r8, e) = (root(&d[..3]), root(&d), h(EMPTY_ROOT));
        assert_eq!(
            consistency_proof(&d[..3], 4),
            Err(ProofError::BadSize { old: 4, new: 3 })
        );
        assert_eq!(
            verify_consistency(8, 3, &r8, &r3, &[]),
            Err(ProofError::BadSize { old: 8, new: 3 })
        );
        assert_eq!(consistency_proof(&d, 0).unwrap(), Vec::<Hash>::new());
        assert_eq!(consistency_proof(&d, 8).unwrap(), Vec::<Hash>::new());
        assert_eq!(consistency_proof(&[], 0).unwrap(), Vec::<Hash>::new());
        assert_eq!(verify_consistency(0, 0, &e, &e, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 8, &e, &r8, &[]), Ok(()));
        assert_eq!(verify_consistency(8, 8, &r8, &r8, &[]), Ok(()));
        assert!(verify_consistency(0, 0, &e, &r8, &[]).is_err());
        assert!(verify_consistency(0, 8, &r3, &r8, &[]).is_err());
        assert!(verify_consistency(0, 8, &e, &r8, &[e]).is_err());
        assert!(verify_consistency(8, 8, &r8, &r3, &[]).is_err());
        assert!(verify_consistency(8, 8, &r8, &r8, &[r8]).is_err());
        assert!(verify_consistency(3, 8, &r3, &r8, &[]).is_err());
    }

    #[test]
    fn consistency_exhaustive() {
        let all = leaves(40);
        let roots: Vec<Hash> = (0..=40).map(|n| root(&all[..n])).collect();
        for new in 0..=40u64 {
            let d = &all[..new as usize];
            for old in 0..=new {
                let (r1, r2) = (roots[old as usize], roots[new as usize]);
                let proof = consistency_proof(d, old).unwrap();
                assert_eq!(
                    verify_consistency(old, new, &r1, &r2, &proof),
                    Ok(()),
                    "({old}, {new})"
                );

                for extra in [[0u8; 32], r1, r2] {
                    let mut longer = proof.clone();
                    longer.push(extra);
                    assert!(verify_consistency(old, new, &r1, &r2, &longer).is_err());
                    let mut longer = vec![extra];
                    longer.extend_from_slice(&proof);
                    assert!(verify_consistency(old, new, &r1, &r2, &longer).is_err());
                }
                if old == 0 || old == new {
                    assert!(proof.is_empty());
                    assert!(verify_consistency(old, new, &flip(r1, 9), &r2, &proof).is_err());
                    if old == new {
                        assert!(verify_consistency(old, new, &r1, &flip(r2, 9), &proof).is_err());
                    }
                    continue;
                }

                for j in 0..proof.len() {
                    for bit in [0, 77, 255] {
                        let mut bad = proof.clone();
                        bad[j] = flip(bad[j], bit);
                        assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
                    }
                }
                assert!(verify_consistency(old, new, &r1, &r2, &[]).is_err());
                assert!(verify_consistency(old, new, &r1, &r2, &proof[1..]).is_err());
                assert!(verify_consistency(old, new, &r1, &r2, &proof[..proof.len() - 1]).is_err());
                let mut dup = proof.clone();
                dup.push(proof[proof.len() - 1]);
                assert!(verify_consistency(old, new, &r1, &r2, &dup).is_err());
                assert_eq!(
                    verify_consistency(old, new, &flip(r1, 1), &r2, &proof),
                    Err(ProofError::RootMismatch)
                );
                assert_eq!(
                    verify_consistency(old, new, &r1, &flip(r2, 1), &proof),
                    Err(ProofError::RootMismatch)
                );
                assert!(verify_consistency(old, new, &r2, &r1, &proof).is_err());

                // Other sizes: accepted exactly when the proof has the same shape.
                let shape = consistency_shape(old, new);
                for new2 in 0..=41u64 {
                    for old2 in 0..=41u64 {
                        let ok = verify_consistency(old2, new2, &r1, &r2, &proof).is_ok();
                        let want = consistency_shape(old2, new2) == shape;
                        assert_eq!(ok, want, "({old2}, {new2}) vs ({old}, {new})");
                    }
                }
            }
        }
    }

    #[test]
    fn frontier_matches_root_and_round_trips() {
        let d = leaves(200);
        let mut f = Frontier::new();
        for n in 0..=200usize {
            if n > 0 {
                f.push(d[n - 1]);
            }
            assert_eq!(f.size(), n as u64);
            assert_eq!(f.root(), root(&d[..n]), "size {n}");
            let bytes = f.to_bytes();
            assert_eq!(bytes.len(), 8 + 32 * n.count_ones() as usize);
            assert_eq!(Frontier::from_bytes(&bytes).unwrap(), f);

            assert!(Frontier::from_bytes(&bytes[..bytes.len() - 1]).is_err());
            assert!(Frontier::from_bytes(&bytes[..7.min(bytes.len())]).is_err());
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(Frontier::from_bytes(&longer).is_err());
            longer.extend_from_slice(&[0; 31]);
            assert!(Frontier::from_bytes(&longer).is_err());
            if n > 0 {
                assert!(Frontier::from_bytes(&bytes[..bytes.len() - 32]).is_err());
            }
            let mut other_size = bytes.clone();
            other_size[..8].copy_from_slice(&(n as u64 * 2 + 1).to_be_bytes());
            if (n * 2 + 1).count_ones() != n.count_ones() {
                assert!(Frontier::from_bytes(&other_size).is_err());
            }
        }
        assert!(Frontier::from_bytes(&[]).is_err());
        assert_eq!(Frontier::from_bytes(&[0; 8]).unwrap(), Frontier::new());

        // A restored frontier keeps extending like the original.
        let mut restored = Frontier::from_bytes(&leaves_frontier(&d[..77]).to_bytes()).unwrap();
        for leaf in &d[77..] {
            restored.push(*leaf);
        }
        assert_eq!(restored, leaves_frontier(&d));
        assert_eq!(restored.root(), root(&d));
    }

    fn leaves_frontier(d: &[Hash]) -> Frontier {
        let mut f = Frontier::new();
        for leaf in d {
            f.push(*leaf);
        }
        f
    }

    #[test]
    fn large_tree_proofs() {
        // The CLI proves over the whole log: O(n) per proof and no deep recursion.
        let n = 1_000_003u64;
        let d = leaves(n);
        let r = root(&d);
        for i in [0, 1, 524_287, 524_288, n - 2, n - 1] {
            let proof = inclusion_proof(&d, i).unwrap();
            verify_inclusion(&d[i as usize], i, n, &proof, &r).unwrap();
        }
        for old in [1, 3, 524_288, 999_999, n - 1] {
            let proof = consistency_proof(&d, old).unwrap();
            verify_consistency(old, n, &root(&d[..old as usize]), &r, &proof).unwrap();
        }
    }
}
