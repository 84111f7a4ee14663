//! What [`Plugin::empty_cache`](crate::Plugin::empty_cache) returns: [`CacheEmptied`], what the
//! plugin did to its system's own cache before a cold pass of `benchhost bench` (the WIT record
//! `cache-emptied`, since contract 0.3.x).
//!
//! ```ignore
//! // A cache the server empties through its API, nothing to restart:
//! CacheEmptied::emptied("uploads drained, the local block store evicted (POST /api/v1/blockstore/evict)")
//! // A cache held in the server's memory: the host restarts the service.
//! CacheEmptied::emptied("the metadata cache emptied by restarting the server").restart("mynfs")
//! ```

/// What `empty_cache` did, for the record of each cold cell.
///
/// Defined by the SDK (not taken from the bindings) so that a plugin implementing
/// `empty_cache` also builds with the `contract-v0-1` feature, whose contract has no
/// `cache-emptied`; there it is never sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheEmptied {
    /// One line: what the system's own cache is and how it was emptied, e.g. `uploads drained,
    /// the local block store evicted (POST /api/v1/blockstore/evict)`. Empty: the system keeps
    /// no cache of its own beyond the server kernel's page cache, which the host drops itself.
    pub how: String,
    /// Services (names from `compose_service`) the host restarts, in this order, once
    /// `empty_cache` returned, for what their processes hold in memory. The host unmounts the
    /// client first, waits until each is ready again (its healthcheck) and mounts again; the
    /// containers, volumes and files are kept. Empty: no restart.
    pub restart: Vec<String>,
}

impl CacheEmptied {
    /// No cache of its own (`how` empty, no restart): what the default `empty_cache` returns,
    /// e.g. for a server that reads straight from its disk (the host drops the page cache).
    pub fn none() -> Self {
        CacheEmptied::default()
    }

    /// The cache described by `how` (one line: what it is and how it was emptied) was emptied;
    /// no restart unless [`CacheEmptied::restart`] adds one.
    pub fn emptied(how: impl Into<String>) -> Self {
        CacheEmptied { how: how.into(), restart: vec![] }
    }

    /// Asks the host to restart `service` (one of the profile's services) after `empty_cache`
    /// returned, after those already named; for a cache in the process's memory.
    pub fn restart(mut self, service: impl Into<String>) -> Self {
        self.restart.push(service.into());
        self
    }

    /// This answer as the contract sends it (`cache-emptied`, 0.3.x).
    #[doc(hidden)]
    #[cfg(not(feature = "contract-v0-1"))]
    pub fn __into_contract(self) -> crate::bindings::benchhost::plugin::types::CacheEmptied {
        crate::bindings::benchhost::plugin::types::CacheEmptied { how: self.how, restart: self.restart }
    }
}

#[cfg(test)]
mod tests {
    use super::CacheEmptied;

    #[test]
    fn helpers_build_the_answer() {
        assert_eq!(CacheEmptied::none(), CacheEmptied { how: String::new(), restart: vec![] });
        let c = CacheEmptied::emptied("MDCACHE").restart("ganesha").restart("sidecar");
        assert_eq!((c.how.as_str(), c.restart.clone()), ("MDCACHE", vec!["ganesha".to_string(), "sidecar".to_string()]));
        #[cfg(not(feature = "contract-v0-1"))]
        {
            let wire = c.__into_contract();
            assert_eq!((wire.how.as_str(), wire.restart), ("MDCACHE", vec!["ganesha".to_string(), "sidecar".to_string()]));
        }
    }
}
