//! A local copy of the RustSec advisory database: the advisories of the crates asked
//! for, and the database's name — the commit it is at and that commit's date, read from
//! the clone's `.git` without a git library — never the local path it was read from
//! (a path leaks the reader's machine into signed notes and makes them differ between
//! machines).

use std::fmt;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use semver::Version;

use crate::advisory::Advisory;
use crate::error::AuditError;

/// What a database copy is, as far as its files say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseId {
    /// The commit the copy is at (40 hex digits), when it is a git clone.
    pub commit: Option<String>,
    /// That commit's committer date (RFC 3339, UTC), when it could be read.
    pub date: Option<String>,
}

impl fmt::Display for DatabaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.commit, &self.date) {
            (Some(commit), Some(date)) => {
                write!(f, "rustsec/advisory-db at commit {commit} ({date})")
            }
            (Some(commit), None) => write!(
                f,
                "rustsec/advisory-db at commit {commit} (commit date not read: the commit \
                 object is packed)"
            ),
            (None, _) => f.write_str("a copy of rustsec/advisory-db without git metadata"),
        }
    }
}

/// The advisories read for a crate set, and the database's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// The database's name.
    pub id: DatabaseId,
    /// Every advisory (withdrawn ones too) of the crates asked for, by crate then file.
    pub advisories: Vec<Advisory>,
}

impl Database {
    /// Reads the advisories of the crates named in `names` from the database at `db`
    /// (only `crates/<name>/*.md` are read) and the database's name from `db/.git`.
    pub fn load_for<'a>(
        db: &Path,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Database, AuditError> {
        let crates_dir = db.join("crates");
        if !crates_dir.is_dir() {
            return Err(AuditError::NotADatabase {
                path: db.to_owned(),
            });
        }
        let mut advisories = Vec::new();
        let mut names: Vec<&str> = names.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            // A crate name is [A-Za-z0-9_-]; anything else cannot be a directory here.
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
            {
                continue;
            }
            let dir = crates_dir.join(name);
            if !dir.is_dir() {
                continue;
            }
            let mut files: Vec<PathBuf> = fs::read_dir(&dir)
                .map_err(AuditError::io(&dir))?
                .map(|entry| entry.map(|entry| entry.path()))
                .collect::<Result<_, _>>()
                .map_err(AuditError::io(&dir))?;
            files.retain(|path| path.extension().is_some_and(|extension| extension == "md"));
            files.sort();
            for path in files {
                let text = fs::read_to_string(&path).map_err(AuditError::io(&path))?;
                advisories.push(Advisory::parse(&path, &text)?);
            }
        }
        Ok(Database {
            id: read_id(db),
            advisories,
        })
    }

    /// The advisories that affect `version` of crate `name` (withdrawn ones never do).
    pub fn affecting<'a, 'q>(
        &'a self,
        name: &'q str,
        version: &'q Version,
    ) -> impl Iterator<Item = &'a Advisory> + use<'a, 'q> {
        self.advisories
            .iter()
            .filter(move |advisory| advisory.package == name && advisory.affects(version))
    }
}

/// The commit and date of the clone at `db`, as far as its `.git` says.
pub fn read_id(db: &Path) -> DatabaseId {
    let Some(git_dir) = git_dir(db) else {
        return DatabaseId::default();
    };
    let commit = head_commit(&git_dir);
    let date = commit
        .as_deref()
        .and_then(|commit| loose_commit_date(&git_dir, commit));
    DatabaseId { commit, date }
}

/// `db/.git`, or the directory a `.git` file (`gitdir: PATH`) points to.
fn git_dir(db: &Path) -> Option<PathBuf> {
    let dot_git = db.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = fs::read_to_string(&dot_git).ok()?;
    let target = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
    Some(if target.is_absolute() {
        target
    } else {
        db.join(target)
    })
}

fn is_object_id(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// HEAD's commit: a detached id, or the ref it names from `refs/` or `packed-refs`.
fn head_commit(git_dir: &Path) -> Option<String> {
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    if is_object_id(head) {
        return Some(head.to_ascii_lowercase());
    }
    let reference = head.strip_prefix("ref:")?.trim();
    if reference
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return None;
    }
    // A worktree's refs live in the common directory.
    let common = fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|relative| git_dir.join(relative.trim()))
        .unwrap_or_else(|| git_dir.to_owned());
    for dir in [git_dir, common.as_path()] {
        if let Ok(text) = fs::read_to_string(dir.join(reference)) {
            let id = text.trim();
            if is_object_id(id) {
                return Some(id.to_ascii_lowercase());
            }
        }
        if let Ok(packed) = fs::read_to_string(dir.join("packed-refs")) {
            for line in packed.lines() {
                if let Some((id, name)) = line.split_once(' ')
                    && name == reference
                    && is_object_id(id)
                {
                    return Some(id.to_ascii_lowercase());
                }
            }
        }
    }
    None
}

/// The committer date of a loose commit object (`objects/ab/cdef…`, zlib), RFC 3339 UTC.
fn loose_commit_date(git_dir: &Path, commit: &str) -> Option<String> {
    let path = git_dir
        .join("objects")
        .join(&commit[..2])
        .join(&commit[2..]);
    let file = fs::File::open(path).ok()?;
    let mut text = Vec::new();
    // A commit object is small; 1 MiB bounds a hostile one.
    flate2::read::ZlibDecoder::new(file)
        .take(1 << 20)
        .read_to_end(&mut text)
        .ok()?;
    let text = String::from_utf8_lossy(&text);
    let body = text.strip_prefix("commit ")?;
    let committer = body
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.strip_prefix("committer "))?;
    // `Name <email> 1700000000 +0000`
    let mut fields = committer.rsplitn(3, ' ');
    let _offset = fields.next()?;
    let seconds: i64 = fields.next()?.parse().ok()?;
    let time = jiff::Timestamp::from_second(seconds).ok()?;
    Some(time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const SAMPLE: &str = "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"demo\"\ndate = \"2099-01-02\"\n\n[versions]\npatched = [\">= 1.2.3\"]\n```\n\n# Demo\n";

    fn git(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .env("GIT_COMMITTER_DATE", "2024-05-06T07:08:09Z")
            .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:09Z")
            .output()
            .expect("git is installed");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn reads_advisories_for_the_crates_asked() {
        let db = tempfile::tempdir().unwrap();
        fs::create_dir_all(db.path().join("crates/demo")).unwrap();
        fs::write(db.path().join("crates/demo/RUSTSEC-2099-0001.md"), SAMPLE).unwrap();
        fs::write(db.path().join("crates/demo/README.txt"), "not an advisory").unwrap();
        let database = Database::load_for(db.path(), ["demo", "other", "../x"]).unwrap();
        assert_eq!(database.advisories.len(), 1);
        assert_eq!(
            database.affecting("demo", &Version::new(1, 1, 0)).count(),
            1
        );
        assert_eq!(
            database.affecting("demo", &Version::new(1, 2, 3)).count(),
            0
        );
        assert_eq!(database.id, DatabaseId::default());
        assert!(matches!(
            Database::load_for(&db.path().join("crates"), ["demo"]),
            Err(AuditError::NotADatabase { .. })
        ));
    }

    #[test]
    fn names_a_git_clone_by_commit_and_date_never_by_path() {
        let db = tempfile::tempdir().unwrap();
        fs::create_dir_all(db.path().join("crates/demo")).unwrap();
        fs::write(db.path().join("crates/demo/RUSTSEC-2099-0001.md"), SAMPLE).unwrap();
        git(db.path(), &["init", "-q", "-b", "main"]);
        git(db.path(), &["add", "."]);
        git(db.path(), &["commit", "-q", "-m", "one"]);
        let commit = git(db.path(), &["rev-parse", "HEAD"]);
        let id = read_id(db.path());
        assert_eq!(id.commit.as_deref(), Some(commit.as_str()));
        assert_eq!(id.date.as_deref(), Some("2024-05-06T07:08:09Z"));
        let name = id.to_string();
        assert_eq!(
            name,
            format!("rustsec/advisory-db at commit {commit} (2024-05-06T07:08:09Z)")
        );
        assert!(!name.contains(&db.path().display().to_string()));

        // After gc the ref is in packed-refs and the object in a pack: the commit is
        // still named, the date is said to be unread.
        git(db.path(), &["gc", "-q", "--prune=now"]);
        let id = read_id(db.path());
        assert_eq!(id.commit.as_deref(), Some(commit.as_str()));
        assert_eq!(id.date, None);
        assert!(id.to_string().contains("commit date not read"));
    }
}
