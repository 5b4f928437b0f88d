//! The fake-IP pool: the DNS stub answers an allowed name with a synthetic address, and a
//! transparent listener that accepts a connection to that address maps it back to the name
//! (research §5.c). Nothing is resolved at query time.
//!
//! Ranges: IPv4 `198.18.0.0/15` (RFC 2544 benchmarking, never routed on the Internet; the
//! range sing-box and Xray use) and the IPv6 ULA `fd63:6f72:646f:6e00::/64` (`cordon` in
//! ASCII). Each name gets one pair for the whole run and addresses are never reused: a
//! program holding an old answer can never reach a different name through it. When the pool
//! is full the stub answers SERVFAIL and says so ([`PoolExhausted`]); the default capacity
//! (131 070 names) is far beyond what one command resolves.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// The first address of the IPv4 pool (`198.18.0.0`).
pub const FAKE_V4_BASE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);
/// The IPv4 pool's prefix length.
pub const FAKE_V4_PREFIX: u8 = 15;
/// The IPv6 pool's /64 prefix (`fd63:6f72:646f:6e00::`).
pub const FAKE_V6_BASE: Ipv6Addr = Ipv6Addr::new(0xfd63, 0x6f72, 0x646f, 0x6e00, 0, 0, 0, 0);

/// The pool is full: no new name can get an address for the rest of the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the fake address pool is full ({capacity} names this run); the name {name} cannot be answered"
)]
pub struct PoolExhausted {
    /// How many names the pool holds.
    pub capacity: u32,
    /// The name that did not fit.
    pub name: String,
}

/// A name's pair of synthetic addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FakeAddrs {
    /// Its IPv4 address.
    pub v4: Ipv4Addr,
    /// Its IPv6 address.
    pub v6: Ipv6Addr,
}

/// Synthetic addresses for allowed names, shared by the DNS stub and the transparent
/// listeners (cloning shares the same pool).
#[derive(Clone, Debug)]
pub struct FakeIpPool {
    inner: Arc<Mutex<PoolState>>,
}

#[derive(Debug)]
struct PoolState {
    capacity: u32,
    by_name: HashMap<String, u32>,
    names: Vec<String>,
}

impl Default for FakeIpPool {
    fn default() -> FakeIpPool {
        // The /15 minus its first (network) and last (broadcast) address.
        FakeIpPool::with_capacity((1u32 << (32 - FAKE_V4_PREFIX)) - 2)
    }
}

impl FakeIpPool {
    /// A pool holding at most `capacity` names (at most the size of the IPv4 range).
    pub fn with_capacity(capacity: u32) -> FakeIpPool {
        let capacity = capacity.min((1u32 << (32 - FAKE_V4_PREFIX)) - 2);
        FakeIpPool {
            inner: Arc::new(Mutex::new(PoolState {
                capacity,
                by_name: HashMap::new(),
                names: Vec::new(),
            })),
        }
    }

    /// The addresses of `name`, assigned on first use.
    pub fn assign(&self, name: &str) -> Result<FakeAddrs, PoolExhausted> {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&index) = state.by_name.get(name) {
            return Ok(addrs_of(index));
        }
        let index = u32::try_from(state.names.len()).unwrap_or(u32::MAX);
        if index >= state.capacity {
            return Err(PoolExhausted {
                capacity: state.capacity,
                name: name.to_owned(),
            });
        }
        state.by_name.insert(name.to_owned(), index);
        state.names.push(name.to_owned());
        Ok(addrs_of(index))
    }

    /// The name a synthetic address was given to, if `addr` is one this pool handed out.
    pub fn lookup(&self, addr: IpAddr) -> Option<String> {
        let index = index_of(addr)?;
        let state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        state.names.get(usize::try_from(index).ok()?).cloned()
    }

    /// Whether `addr` lies in one of the pool's ranges (handed out or not).
    pub fn contains(addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(v4) => {
                u32::from(v4) >> (32 - FAKE_V4_PREFIX)
                    == u32::from(FAKE_V4_BASE) >> (32 - FAKE_V4_PREFIX)
            }
            IpAddr::V6(v6) => u128::from(v6) >> 64 == u128::from(FAKE_V6_BASE) >> 64,
        }
    }

    /// How many names have an address.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .names
            .len()
    }

    /// Whether no name has an address yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn addrs_of(index: u32) -> FakeAddrs {
    let offset = index + 1;
    FakeAddrs {
        v4: Ipv4Addr::from(u32::from(FAKE_V4_BASE) + offset),
        v6: Ipv6Addr::from(u128::from(FAKE_V6_BASE) + u128::from(offset)),
    }
}

fn index_of(addr: IpAddr) -> Option<u32> {
    if !FakeIpPool::contains(addr) {
        return None;
    }
    let offset = match addr {
        IpAddr::V4(v4) => u32::from(v4) - u32::from(FAKE_V4_BASE),
        IpAddr::V6(v6) => u32::try_from(u128::from(v6) - u128::from(FAKE_V6_BASE)).ok()?,
    };
    offset.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_addresses_and_map_back() {
        let pool = FakeIpPool::default();
        let a = pool.assign("allowed.test").expect("room");
        let b = pool.assign("other.test").expect("room");
        assert_eq!(a.v4, Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(b.v4, Ipv4Addr::new(198, 18, 0, 2));
        assert_eq!(
            a.v6,
            "fd63:6f72:646f:6e00::1".parse::<Ipv6Addr>().expect("v6")
        );
        assert_eq!(pool.assign("allowed.test").expect("same"), a);
        assert_eq!(
            pool.lookup(IpAddr::V4(a.v4)).as_deref(),
            Some("allowed.test")
        );
        assert_eq!(pool.lookup(IpAddr::V6(b.v6)).as_deref(), Some("other.test"));
        // In range but never handed out, or outside the range.
        assert_eq!(pool.lookup(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 3))), None);
        assert_eq!(pool.lookup(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 0))), None);
        assert_eq!(pool.lookup(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))), None);
        assert!(FakeIpPool::contains(IpAddr::V4(Ipv4Addr::new(
            198, 19, 255, 255
        ))));
        assert!(!FakeIpPool::contains(IpAddr::V4(Ipv4Addr::new(
            198, 20, 0, 0
        ))));
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn a_full_pool_refuses_new_names_and_keeps_old_ones() {
        let pool = FakeIpPool::with_capacity(2);
        pool.assign("a.test").expect("room");
        pool.assign("b.test").expect("room");
        let err = pool.assign("c.test").expect_err("full");
        assert_eq!(err.capacity, 2);
        assert!(err.to_string().contains("c.test"), "{err}");
        assert!(pool.assign("a.test").is_ok());
    }

    #[test]
    fn clones_share_the_pool() {
        let pool = FakeIpPool::default();
        let clone = pool.clone();
        let addrs = clone.assign("shared.test").expect("room");
        assert_eq!(
            pool.lookup(IpAddr::V4(addrs.v4)).as_deref(),
            Some("shared.test")
        );
    }
}
