//! What resolving the built-in policy against the real filesystem costs, with the
//! directory listings that answer most of its questions and without them (every path
//! asked about by `stat`), timed in the same rounds: `cargo bench -p cordon-policy
//! --bench resolve_fs`. Prints the medians and the ratio.

use std::path::Path;
use std::time::{Duration, Instant};

use cordon_policy::{Context, Entries, FsView, Kind, Layers, RealFs, resolve};

const ROUNDS: usize = 2000;

/// The real filesystem without its listings: each path is asked about by `stat`.
struct NoListings;

impl FsView for NoListings {
    fn kind(&self, path: &Path) -> Option<Kind> {
        RealFs.kind(path)
    }
    fn list(&self, path: &Path) -> Vec<String> {
        RealFs.list(path)
    }
    fn read(&self, path: &Path) -> Option<String> {
        RealFs.read(path)
    }
    fn is_symlink(&self, path: &Path) -> bool {
        RealFs.is_symlink(path)
    }
    fn subdirs(&self, path: &Path, max_entries: usize) -> (Vec<String>, usize, bool) {
        RealFs.subdirs(path, max_entries)
    }
    fn dir_links(&self, path: &Path) -> Option<u64> {
        RealFs.dir_links(path)
    }
    fn entries(&self, _path: &Path, _max_entries: usize) -> Entries {
        Entries::Unknown
    }
}

fn median(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join(".git/hooks")).unwrap();
    // The plan `cordon run --project <dir> -- true` resolves: the built-in defaults and
    // this process's environment (its home directory's catalog paths).
    let context = Context {
        project: project.clone(),
        cwd: project,
        env: std::env::vars().collect(),
        global_policy: None,
    };
    let layers = Layers::default();
    let listed = resolve(&layers, &context, &RealFs).unwrap();
    let stated = resolve(&layers, &context, &NoListings).unwrap();
    assert_eq!(listed, stated, "the listings changed the plan");
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        std::hint::black_box(resolve(&layers, &context, &RealFs).unwrap());
        with.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(resolve(&layers, &context, &NoListings).unwrap());
        without.push(start.elapsed());
    }
    let (with, without) = (median(&mut with), median(&mut without));
    println!(
        "resolve, listings: {with:.1} us; stat per path: {without:.1} us (median of {ROUNDS})"
    );
    println!("listings/stat per path = {:.3}", with / without);
}
