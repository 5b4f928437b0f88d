//! RFC 6962 Merkle tree hashing over a slice of leaf hashes: tree heads, inclusion proofs
//! and consistency proofs (RFC 6962 §2.1; the verifying side is `sigstore-merkle`, used
//! in the tests and the bench as an independent check).

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The leaf hash of an entry: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The Merkle tree hash of `leaves` (already leaf-hashed).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 PATH), leaf side
/// first. `None` when `index` is out of range.
pub fn inclusion_proof(index: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    path(index, leaves, &mut proof);
    Some(proof)
}

fn path(index: usize, leaves: &[Hash], proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        path(index, &leaves[..k], proof);
        proof.push(root(&leaves[k..]));
    } else {
        path(index - k, &leaves[k..], proof);
        proof.push(root(&leaves[..k]));
    }
}

/// The consistency proof from the tree of the first `old_size` leaves to the tree of all
/// `leaves` (RFC 6962 PROOF). `None` unless 0 < old_size ≤ leaves.len().
pub fn consistency_proof(old_size: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if old_size == 0 || old_size > leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    if old_size < leaves.len() {
        subproof(old_size, leaves, true, &mut proof);
    }
    Some(proof)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            proof.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, proof);
        proof.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, proof);
        proof.push(root(&leaves[..k]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_merkle::{verify_consistency_proof, verify_inclusion_proof};
    use sigstore_types::Sha256Hash;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    fn h(hash: &Hash) -> Sha256Hash {
        Sha256Hash::new(*hash)
    }

    #[test]
    fn proofs_verify_with_sigstore_merkle() {
        for n in 1..=40 {
            let all = leaves(n);
            let head = root(&all);
            for index in 0..n {
                let proof: Vec<_> = inclusion_proof(index, &all)
                    .unwrap()
                    .iter()
                    .map(h)
                    .collect();
                verify_inclusion_proof(&h(&all[index]), index as u64, n as u64, &proof, &h(&head))
                    .unwrap();
                let mut wrong = head;
                wrong[0] ^= 1;
                assert!(
                    verify_inclusion_proof(
                        &h(&all[index]),
                        index as u64,
                        n as u64,
                        &proof,
                        &h(&wrong)
                    )
                    .is_err()
                );
            }
            for old in 1..=n {
                let proof: Vec<_> = consistency_proof(old, &all)
                    .unwrap()
                    .iter()
                    .map(h)
                    .collect();
                verify_consistency_proof(
                    old as u64,
                    n as u64,
                    &proof,
                    &h(&root(&all[..old])),
                    &h(&head),
                )
                .unwrap();
            }
        }
        assert!(inclusion_proof(3, &leaves(3)).is_none());
        assert!(consistency_proof(0, &leaves(3)).is_none());
    }
}
