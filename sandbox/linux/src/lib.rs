//! cordon's Linux sandbox backend.
//!
//! The backend executes Plans that `cordon-policy` resolved; it makes no policy decisions
//! of its own. Before it confines anything it must know what the running kernel can
//! enforce, so that a protection that cannot be applied is refused loudly rather than
//! skipped: [`HostSupport::probe`] reads that from `/proc` and `/sys`.
//!
//! ```no_run
//! let host = cordon_linux::HostSupport::probe();
//! for line in host.report() {
//!     println!("{line}");
//! }
//! ```

mod probe;

pub use probe::{HostSupport, Support};
