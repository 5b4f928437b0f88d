//! The creation guard's remembered verdicts: moving directories in and out of the locked
//! project root changes where new entries may be made directly, and the guard follows,
//! with the protected names refused throughout. Checked from outside, as root and as
//! the unprivileged `cordontest` user.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;

use cordon_e2e::sandbox::for_each_user;

#[test]
fn moved_directories_keep_creation_working_and_protected_names_refused() {
    for_each_user(|w| {
        // `out` is made in the locked root (inherits the lock), then moved below `src`
        // (no lock); `src/deep` the other way round; files are created in each before
        // and after, and protected names are tried at the root through the moved ones.
        let (code, out) = w.sh_ok(
            "mkdir out && echo 1 > out/a && mkdir -p src/deep/er && echo 2 > src/deep/b \
             && mv out src/out && echo 3 > src/out/c && mkdir src/out/d && echo 4 > src/out/d/e \
             && mv src/deep deep && echo 5 > deep/f && echo 6 > deep/er/g \
             && mv src/out out2 && echo 7 > out2/h && echo CREATED; \
             ln -s ../.mcp.json deep/link; echo x > deep/link; mv out2 .vscode; \
             mv deep/er .idea; touch deep/../.gitmodules; true",
        );
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("CREATED"), "{out}");
        for (path, text) in [
            ("out2/a", "1\n"),
            ("deep/b", "2\n"),
            ("out2/c", "3\n"),
            ("out2/d/e", "4\n"),
            ("deep/f", "5\n"),
            ("deep/er/g", "6\n"),
            ("out2/h", "7\n"),
        ] {
            assert_eq!(
                fs::read_to_string(w.project.join(path)).unwrap_or_default(),
                text,
                "{path} as {}: {out}",
                w.who.name
            );
        }
        for name in [".mcp.json", ".vscode", ".idea", ".gitmodules"] {
            assert!(
                w.project.join(name).symlink_metadata().is_err(),
                "{name} was created as {}: {out}",
                w.who.name
            );
        }
        assert!(w.project.join("out2").is_dir() && w.project.join("deep/er").is_dir());
    });
}
