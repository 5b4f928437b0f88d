//! The creating calls as PID 1 performs them for the command (see the parent module):
//! where the new name goes, whether it is below a creation lock, whether it is
//! protected, and the call itself relative to the parent descriptor.

use super::*;

/// Symbolic links followed at most while looking for where `open` would create.
const MAX_LINKS: usize = 40;

impl Guard {
    /// Where `path` (relative to `dirfd` of the caller) puts its last component. `None`
    /// when it has none that could be created (`/`, `.`, `..`).
    fn place(&self, call: &Call, dirfd: i32, path: &[u8]) -> Result<Option<Place>, Errno> {
        let base = call.base(dirfd, path)?;
        place_in(&base, path)
    }

    /// True when a new entry in `dir` is refused by a creation lock: the nearest
    /// directory above it (itself included) that the Plan names is a locked one.
    fn locked(&self, dir: &OwnedFd) -> Result<bool, Errno> {
        let mut current = dir.try_clone().map_err(|_| Errno::EMFILE)?;
        let mut stat = fstat(&current)?;
        for _ in 0..4096 {
            let here = inode(&stat);
            if self.writable.contains(&here) {
                return Ok(false);
            }
            if self.locked.contains(&here) {
                return Ok(true);
            }
            let parent = open_dir(&current, Path::new(".."))?;
            let parent_stat = fstat(&parent)?;
            if inode(&parent_stat) == here {
                return Ok(false);
            }
            current = parent;
            stat = parent_stat;
        }
        Ok(false)
    }

    /// True when `place` is a missing protected path or a directory above one.
    fn protected(&self, place: &Place) -> Result<bool, Errno> {
        let dir = std::fs::read_link(format!("/proc/self/fd/{}", place.dir.as_raw_fd()))
            .map_err(|_| Errno::EACCES)?;
        let candidate = dir.join(&place.name);
        Ok(self
            .protected
            .iter()
            .any(|path| path.starts_with(&candidate)))
    }

    /// True when PID 1 must perform a creation at `place` itself (it is below a lock);
    /// false to let the kernel decide; `EACCES` when the name is protected.
    fn must_emulate(&self, place: &Place) -> Result<bool, Errno> {
        if !self.locked(&place.dir)? {
            return Ok(false);
        }
        if self.protected(place)? {
            return Err(Errno::EACCES);
        }
        Ok(true)
    }

    /// Where a call creates `path`, when PID 1 must create it itself; `None` to let
    /// the kernel decide.
    fn emulated_place(&self, call: &Call, dirfd: i32, path: &[u8]) -> Result<Option<Place>, Errno> {
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
        let Some(mut place) = self.place(call, dirfd, path)? else {
            return Ok(Answer::Continue);
        };
        let exclusive = flags.contains(OFlag::O_EXCL);
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
        let mode = Mode::from_bits_truncate(mode & 0o7777 & !call.umask());
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
        let mode = Mode::from_bits_truncate(mode & 0o7777 & !call.umask());
        mkdirat(&place.dir, place.name.as_path(), mode)?;
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
        let perm = Mode::from_bits_truncate(mode & 0o7777 & !call.umask());
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
        let (Some(from), Some(to)) = (
            self.place(call, old.0, &old.1)?,
            self.place(call, new.0, &new.1)?,
        ) else {
            return Ok(Answer::Continue);
        };
        let flags = RenameFlags::from_bits_retain(flags);
        let exchange = flags.contains(RenameFlags::RENAME_EXCHANGE);
        let mut emulate = self.must_emulate(&to)?;
        if exchange {
            emulate |= self.must_emulate(&from)?;
        }
        if !emulate {
            return Ok(Answer::Continue);
        }
        renameat2(
            &from.dir,
            from.name.as_path(),
            &to.dir,
            to.name.as_path(),
            flags,
        )?;
        Ok(Answer::Value(0))
    }
}

/// Splits `path` (relative to `base`, or absolute) into its directory, opened, and its
/// last component.
pub(super) fn place_in(base: &OwnedFd, path: &[u8]) -> Result<Option<Place>, Errno> {
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
    let dir = open_dir(base, Path::new(OsStr::from_bytes(parent)))?;
    Ok(Some(Place {
        dir,
        name: PathBuf::from(OsStr::from_bytes(name)),
    }))
}
