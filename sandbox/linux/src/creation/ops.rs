//! The creating calls as PID 1 performs them for the command (see the parent module):
//! where the new name goes, whether it is below a creation lock, whether it is
//! protected, and the call itself relative to the parent descriptor.
//!
//! Most calls create where no lock applies (an existing subdirectory of the project,
//! `/tmp`): for those one `stat` of the parent directory and a remembered verdict decide,
//! and the call continues in the kernel.

use super::*;

/// Symbolic links followed at most while looking for where `open` would create.
const MAX_LINKS: usize = 40;

impl Guard {
    /// Where `path` (relative to `dirfd` of the caller) puts its last component. `None`
    /// when it has none that could be created (`/`, `.`, `..`).
    fn place(&self, call: &Call, dirfd: i32, path: &[u8]) -> Result<Option<Place>, Errno> {
        let Some((dir, name)) = split(path)? else {
            return Ok(None);
        };
        Ok(Some(Place {
            dir: open_dir(AT_FDCWD, &call.seen_from_pid1(dirfd, path, dir))?,
            name: PathBuf::from(OsStr::from_bytes(name)),
        }))
    }

    /// True when a new entry in `dir` is refused by a creation lock: the nearest
    /// directory above it (itself included) that the Plan names is a locked one.
    fn locked(&self, dir: &OwnedFd) -> Result<bool, Errno> {
        let stat = fstat(dir)?;
        if let Some(verdict) = self.remembered(&stat) {
            return Ok(verdict);
        }
        let mut walked = Vec::new();
        let mut current = dir.try_clone().map_err(|_| Errno::EMFILE)?;
        let mut stat = stat;
        let mut verdict = false;
        for _ in 0..4096 {
            let here = inode(&stat);
            if let Some(known) = self.verdicts.borrow().get(&here) {
                verdict = *known;
                break;
            }
            walked.push(here);
            if self.writable.contains(&here) {
                break;
            }
            if self.locked.contains(&here) {
                verdict = true;
                break;
            }
            let parent = open_dir(&current, Path::new(".."))?;
            let parent_stat = fstat(&parent)?;
            if inode(&parent_stat) == here {
                break;
            }
            current = parent;
            stat = parent_stat;
        }
        let mut verdicts = self.verdicts.borrow_mut();
        if verdicts.len() + walked.len() > MAX_VERDICTS {
            verdicts.clear();
        }
        for here in walked {
            verdicts.insert(here, verdict);
        }
        Ok(verdict)
    }

    /// The remembered verdict for the directory `stat` describes.
    fn remembered(&self, stat: &FileStat) -> Option<bool> {
        self.verdicts.borrow().get(&inode(stat)).copied()
    }

    /// Remembers that a new entry in the directory `stat` describes is refused by a lock
    /// (PID 1 has just made it below one).
    fn remember_locked(&self, stat: &FileStat) {
        let mut verdicts = self.verdicts.borrow_mut();
        if verdicts.len() >= MAX_VERDICTS {
            verdicts.clear();
        }
        verdicts.insert(inode(stat), true);
    }

    /// True when the kernel may create `path` (relative to the caller's `dirfd`) itself:
    /// its directory is not below a creation lock. Decided from one `stat` of the
    /// directory when its verdict is remembered. False too when the path has no
    /// directory PID 1 can find (the slow path then answers as the kernel would).
    fn kernel_creates(&self, call: &Call, dirfd: i32, path: &[u8]) -> Result<bool, Errno> {
        let Some((dir, _)) = split(path)? else {
            return Ok(true);
        };
        let seen = call.seen_from_pid1(dirfd, path, dir);
        let Ok(stat) = fstatat(AT_FDCWD, seen.as_path(), AtFlags::empty()) else {
            return Ok(false);
        };
        if let Some(verdict) = self.remembered(&stat) {
            return Ok(!verdict);
        }
        let Ok(opened) = open_dir(AT_FDCWD, &seen) else {
            return Ok(false);
        };
        Ok(!self.locked(&opened)?)
    }

    /// What `path` (relative to the caller's `dirfd`) names, not following a symbolic
    /// link at its end: `None` when it has no such entry (or no creatable name).
    fn last_entry(&self, call: &Call, dirfd: i32, path: &[u8]) -> Option<SFlag> {
        let Ok(Some((dir, name))) = split(path) else {
            return None;
        };
        let mut seen = call.seen_from_pid1(dirfd, path, dir).into_os_string();
        seen.push("/");
        seen.push(OsStr::from_bytes(name));
        fstatat(AT_FDCWD, Path::new(&seen), AtFlags::AT_SYMLINK_NOFOLLOW)
            .ok()
            .map(|stat| SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT)
    }

    /// True unless `path` surely names something other than a directory: a directory,
    /// or nothing PID 1 can see (the careful path then answers as the kernel would).
    fn names_directory(&self, call: &Call, dirfd: i32, path: &[u8]) -> bool {
        self.last_entry(call, dirfd, path)
            .is_none_or(|kind| kind == SFlag::S_IFDIR)
    }

    /// True when `path` ends in a symbolic link (which `open` follows to where it
    /// creates).
    fn dangling_link(&self, call: &Call, dirfd: i32, path: &[u8]) -> bool {
        self.last_entry(call, dirfd, path) == Some(SFlag::S_IFLNK)
    }

    /// The path `place` names when it is a missing protected path or a directory above
    /// one.
    fn protected(&self, place: &Place) -> Result<Option<PathBuf>, Errno> {
        if !self.names.contains(place.name.as_os_str()) {
            return Ok(None);
        }
        let dir = std::fs::read_link(format!("/proc/self/fd/{}", place.dir.as_raw_fd()))
            .map_err(|_| Errno::EACCES)?;
        let candidate = dir.join(&place.name);
        Ok(self
            .protected
            .iter()
            .any(|path| path.starts_with(&candidate))
            .then_some(candidate))
    }

    /// True when `place` is a new entry, other than git's own `*.sample` files, in the
    /// `hooks` directory of a git directory (named `.git`, or holding `HEAD`): a hook
    /// planted in a repository the run made (`git init`, `git clone`) would run at the
    /// user's next `git` there, outside the sandbox. Decided on the descriptor of the
    /// directory the creation will be made in (PID 1 creates relative to it), so a rename
    /// between this check and the creation cannot move the creation elsewhere.
    fn planted_hook(&self, place: &Place) -> Result<bool, Errno> {
        if place
            .name
            .to_str()
            .is_some_and(cordon_policy::is_sample_hook)
        {
            return Ok(false);
        }
        let dir = std::fs::read_link(format!("/proc/self/fd/{}", place.dir.as_raw_fd()))
            .map_err(|_| Errno::EACCES)?;
        if dir.file_name() != Some(OsStr::new("hooks")) {
            return Ok(false);
        }
        let parent = open_dir(&place.dir, Path::new(".."))?;
        Ok(is_git_dir(dir.parent(), &parent))
    }

    /// True when a directory rename puts a directory holding anything but `*.sample`
    /// files at `<git dir>/hooks` (the other way to plant a hook).
    fn replaces_hooks(&self, from: &Place, to: &Place) -> Result<bool, Errno> {
        if to.name != Path::new("hooks") {
            return Ok(false);
        }
        let dir = std::fs::read_link(format!("/proc/self/fd/{}", to.dir.as_raw_fd()))
            .map_err(|_| Errno::EACCES)?;
        if !is_git_dir(Some(&dir), &to.dir) {
            return Ok(false);
        }
        let moved = open_dir(&from.dir, &from.name)?;
        let listed = std::fs::read_dir(format!("/proc/self/fd/{}", moved.as_raw_fd()))
            .map_err(|_| Errno::EACCES)?;
        Ok(listed.filter_map(Result::ok).any(|entry| {
            !entry
                .file_name()
                .to_str()
                .is_some_and(cordon_policy::is_sample_hook)
        }))
    }

    /// True when PID 1 must perform a creation at `place` itself (it is below a lock);
    /// false to let the kernel decide; `EACCES` when the name is protected or a hook
    /// planted in a git directory the run made.
    fn must_emulate(&self, place: &Place) -> Result<bool, Errno> {
        if !self.locked(&place.dir)? {
            return Ok(false);
        }
        if let Some(path) = self.protected(place)? {
            self.refusals.borrow_mut().add(&path);
            return Err(Errno::EACCES);
        }
        if self.planted_hook(place)? {
            if let Ok(dir) = std::fs::read_link(format!("/proc/self/fd/{}", place.dir.as_raw_fd()))
            {
                self.refusals.borrow_mut().add(&dir.join(&place.name));
            }
            return Err(Errno::EACCES);
        }
        Ok(true)
    }

    /// Where a call creates `path`, when PID 1 must create it itself; `None` to let
    /// the kernel decide.
    fn emulated_place(&self, call: &Call, dirfd: i32, path: &[u8]) -> Result<Option<Place>, Errno> {
        if self.kernel_creates(call, dirfd, path)? {
            return Ok(None);
        }
        match self.place(call, dirfd, path)? {
            Some(place) if self.must_emulate(&place)? => Ok(Some(place)),
            _ => Ok(None),
        }
    }

    pub(super) fn open(
        &self,
        call: &Call,
        dirfd: i32,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<Answer, Errno> {
        let flags = OFlag::from_bits_retain(flags as i32);
        if !flags.contains(OFlag::O_CREAT) {
            return Ok(Answer::Continue);
        }
        let exclusive = flags.contains(OFlag::O_EXCL);
        if self.kernel_creates(call, dirfd, path)?
            && (exclusive
                || flags.contains(OFlag::O_NOFOLLOW)
                || !self.dangling_link(call, dirfd, path))
        {
            return Ok(Answer::Continue);
        }
        let Some(mut place) = self.place(call, dirfd, path)? else {
            return Ok(Answer::Continue);
        };
        // Follow a dangling symbolic link at the end the way the kernel would, to find
        // where the file would really be created.
        for _ in 0..MAX_LINKS {
            if exclusive {
                break;
            }
            match fstatat(
                &place.dir,
                place.name.as_path(),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            ) {
                Err(Errno::ENOENT) => break,
                Err(errno) => return Err(errno),
                Ok(stat)
                    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT
                        != SFlag::S_IFLNK =>
                {
                    return Ok(Answer::Continue); // exists: nothing is created
                }
                Ok(_) if flags.contains(OFlag::O_NOFOLLOW) => return Ok(Answer::Continue),
                Ok(_) => {
                    if fstatat(&place.dir, place.name.as_path(), AtFlags::empty()).is_ok() {
                        return Ok(Answer::Continue); // the link's target exists
                    }
                    let target = readlinkat(&place.dir, place.name.as_path())?;
                    let bytes = target.as_bytes().to_vec();
                    let base = if bytes.first() == Some(&b'/') {
                        open_dir(AT_FDCWD, Path::new("/"))?
                    } else {
                        place.dir.try_clone().map_err(|_| Errno::EMFILE)?
                    };
                    let Some(next) = place_in(&base, &bytes)? else {
                        return Ok(Answer::Continue);
                    };
                    place = next;
                }
            }
        }
        if !self.must_emulate(&place)? {
            return Ok(Answer::Continue);
        }
        let cloexec = flags.contains(OFlag::O_CLOEXEC);
        let mode = Mode::from_bits_truncate(mode & 0o7777 & !self.umask_of(call));
        let fd = openat(
            &place.dir,
            place.name.as_path(),
            flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            mode,
        )?;
        Ok(Answer::Fd(fd, cloexec))
    }

    pub(super) fn mkdir(
        &self,
        call: &Call,
        dirfd: i32,
        path: &[u8],
        mode: u32,
    ) -> Result<Answer, Errno> {
        let Some(place) = self.emulated_place(call, dirfd, path)? else {
            return Ok(Answer::Continue);
        };
        let mode = Mode::from_bits_truncate(mode & 0o7777 & !self.umask_of(call));
        mkdirat(&place.dir, place.name.as_path(), mode)?;
        if let Ok(made) = fstatat(
            &place.dir,
            place.name.as_path(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            self.remember_locked(&made);
        }
        Ok(Answer::Value(0))
    }

    pub(super) fn mknod(
        &self,
        call: &Call,
        dirfd: i32,
        path: &[u8],
        mode: u32,
    ) -> Result<Answer, Errno> {
        let kind = SFlag::from_bits_truncate(mode) & SFlag::S_IFMT;
        // Devices need capabilities the command does not have: the kernel refuses them.
        if !(kind.is_empty()
            || kind == SFlag::S_IFREG
            || kind == SFlag::S_IFIFO
            || kind == SFlag::S_IFSOCK)
        {
            return Ok(Answer::Continue);
        }
        let Some(place) = self.emulated_place(call, dirfd, path)? else {
            return Ok(Answer::Continue);
        };
        let kind = if kind.is_empty() {
            SFlag::S_IFREG
        } else {
            kind
        };
        let perm = Mode::from_bits_truncate(mode & 0o7777 & !self.umask_of(call));
        mknodat(&place.dir, place.name.as_path(), kind, perm, 0)?;
        Ok(Answer::Value(0))
    }

    pub(super) fn symlink(
        &self,
        call: &Call,
        target: &[u8],
        dirfd: i32,
        path: &[u8],
    ) -> Result<Answer, Errno> {
        let Some(place) = self.emulated_place(call, dirfd, path)? else {
            return Ok(Answer::Continue);
        };
        symlinkat(OsStr::from_bytes(target), &place.dir, place.name.as_path())?;
        Ok(Answer::Value(0))
    }

    pub(super) fn link(
        &self,
        call: &Call,
        old: &(i32, Vec<u8>),
        new: &(i32, Vec<u8>),
        flags: u32,
    ) -> Result<Answer, Errno> {
        if flags & libc::AT_EMPTY_PATH as u32 != 0 {
            // Linking an open descriptor: left to the kernel (and the lock refuses it).
            return Ok(Answer::Continue);
        }
        let Some(place) = self.emulated_place(call, new.0, &new.1)? else {
            return Ok(Answer::Continue);
        };
        let Some(source) = self.place(call, old.0, &old.1)? else {
            return Ok(Answer::Continue);
        };
        let follow = if flags & libc::AT_SYMLINK_FOLLOW as u32 != 0 {
            AtFlags::AT_SYMLINK_FOLLOW
        } else {
            AtFlags::empty()
        };
        linkat(
            &source.dir,
            source.name.as_path(),
            &place.dir,
            place.name.as_path(),
            follow,
        )?;
        Ok(Answer::Value(0))
    }

    pub(super) fn rename(
        &self,
        call: &Call,
        old: &(i32, Vec<u8>),
        new: &(i32, Vec<u8>),
        flags: u32,
    ) -> Result<Answer, Errno> {
        let flags = RenameFlags::from_bits_retain(flags);
        if !(RenameFlags::RENAME_NOREPLACE | RenameFlags::RENAME_EXCHANGE).contains(flags) {
            // RENAME_WHITEOUT needs a capability the command does not have: PID 1 must
            // not lend it. The kernel (and the lock) decide.
            return Ok(Answer::Continue);
        }
        let exchange = flags.contains(RenameFlags::RENAME_EXCHANGE);
        // Moving a directory changes the verdict of everything below it: PID 1 moves
        // directories itself and then forgets the verdicts (see `Guard::verdicts`).
        let moves_directory = self.names_directory(call, old.0, &old.1)
            || (exchange && self.names_directory(call, new.0, &new.1));
        // Landlock refuses a rename out of a locked directory too (it withholds the
        // right to move entries between directories there), so both sides count.
        if !moves_directory
            && self.kernel_creates(call, new.0, &new.1)?
            && self.kernel_creates(call, old.0, &old.1)?
        {
            return Ok(Answer::Continue);
        }
        let (Some(from), Some(to)) = (
            self.place(call, old.0, &old.1)?,
            self.place(call, new.0, &new.1)?,
        ) else {
            return Ok(Answer::Continue);
        };
        if moves_directory && !exchange && self.replaces_hooks(&from, &to)? {
            return Err(Errno::EACCES);
        }
        let emulate = self.must_emulate(&to)? | self.must_emulate(&from)?;
        if !emulate && !moves_directory {
            return Ok(Answer::Continue);
        }
        let moved = renameat2(
            &from.dir,
            from.name.as_path(),
            &to.dir,
            to.name.as_path(),
            flags,
        );
        if moves_directory {
            self.verdicts.borrow_mut().clear();
        }
        moved?;
        Ok(Answer::Value(0))
    }
}

/// Whether a directory (its path `path` as PID 1 sees it, and a descriptor `dir` of it)
/// is a git directory: named `.git`, or holding a `HEAD`.
fn is_git_dir(path: Option<&Path>, dir: &OwnedFd) -> bool {
    path.and_then(Path::file_name)
        .is_some_and(|name| name == ".git")
        || fstatat(dir, "HEAD", AtFlags::AT_SYMLINK_NOFOLLOW).is_ok()
}

/// A path's directory part and last component.
type Split<'a> = (&'a [u8], &'a [u8]);

/// Splits `path` into its directory part and its last component (trailing slashes
/// dropped). `None` when the last component cannot be created (`/`, `.`, `..`).
pub(super) fn split(path: &[u8]) -> Result<Option<Split<'_>>, Errno> {
    let mut trimmed = path;
    while trimmed.len() > 1 && trimmed.ends_with(b"/") {
        trimmed = &trimmed[..trimmed.len() - 1];
    }
    if trimmed.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (parent, name): (&[u8], &[u8]) = match trimmed.iter().rposition(|b| *b == b'/') {
        Some(0) => (b"/", &trimmed[1..]),
        Some(at) => (&trimmed[..at], &trimmed[at + 1..]),
        None => (b".", trimmed),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Ok(None);
    }
    Ok(Some((parent, name)))
}

/// Splits `path` (relative to `base`, or absolute) into its directory, opened, and its
/// last component.
pub(super) fn place_in(base: &OwnedFd, path: &[u8]) -> Result<Option<Place>, Errno> {
    let Some((parent, name)) = split(path)? else {
        return Ok(None);
    };
    let dir = open_dir(base, Path::new(OsStr::from_bytes(parent)))?;
    Ok(Some(Place {
        dir,
        name: PathBuf::from(OsStr::from_bytes(name)),
    }))
}
