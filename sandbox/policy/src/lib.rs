//! cordon's sandbox policy.
//!
//! A sandbox policy comes in layers, most general first: the built-in defaults, the
//! user's global file, the project's file, and command-line flags. This crate finds the
//! layers and (as the policy work lands) parses them and resolves them into a `Plan`:
//! plain data that can be printed and tested anywhere. It never touches the operating
//! system beyond reading policy files; enforcement lives in `cordon-linux`.
//!
//! ```
//! use std::path::Path;
//! use cordon_policy::PolicyLocations;
//!
//! let env = |name: &str| match name {
//!     "HOME" => Some("/home/ada".into()),
//!     _ => None,
//! };
//! let here = PolicyLocations::discover(Path::new("/src/app"), env);
//! assert_eq!(here.global.unwrap(), Path::new("/home/ada/.config/cordon/policy.yaml"));
//! assert_eq!(here.project, Path::new("/src/app/.cordon/policy.yaml"));
//! ```

mod locations;

pub use locations::PolicyLocations;
