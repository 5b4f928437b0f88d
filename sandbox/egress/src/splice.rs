//! Zero-copy relaying of one direction: `splice(2)` from the source socket into a pipe and
//! from the pipe into the destination socket, so the bytes never enter the engine's
//! memory (the kernel moves page references). Blocking, like the copy loop it replaces: a
//! direction's thread sleeps in `splice` until the peer sends, and `shutdown()` of either
//! socket (the other direction ending, or the engine stopping) wakes it.
//!
//! The pipe starts at the kernel's default size and grows to [`BULK_PIPE`] once one
//! `splice` has filled it (a bulk transfer): fewer system calls per byte where it pays,
//! and idle or chatty connections do not hold large pipes (pipe pages count against the
//! user's `fs.pipe-user-pages-soft`, which the sandboxed program's own pipes share). A
//! refused resize keeps the default.
//!
//! When the kernel refuses `splice` for these descriptors (`EINVAL`), the caller falls
//! back to copying: [`Spliced::Unsupported`] is returned only before any byte has moved;
//! a refusal on the way out, with bytes already in the pipe, drains the pipe by copying
//! and then also returns [`Spliced::Unsupported`] with the bytes it delivered.

use std::os::fd::{AsFd, OwnedFd};

use rustix::io::{Errno, read, write};
use rustix::pipe::{PipeFlags, SpliceFlags, fcntl_setpipe_size, pipe_with, splice};

/// The pipe size a bulk transfer grows to (the default unprivileged maximum,
/// `fs.pipe-max-size`).
pub(crate) const BULK_PIPE: usize = 1024 * 1024;
/// Linux's default pipe size (16 pages).
const DEFAULT_PIPE: usize = 64 * 1024;

/// How a spliced direction ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Spliced {
    /// The source ended its stream; `bytes` were delivered. The caller half-closes.
    Ended(u64),
    /// Reading or writing failed after `bytes` were delivered. The caller ends both.
    Failed(u64),
    /// The kernel cannot splice these descriptors; `bytes` were delivered (by copying
    /// what was already in the pipe). The caller copies the rest.
    Unsupported(u64),
}

/// Moves `from`'s stream into `to` through a pipe until `from` ends or either fails.
/// `Unsupported(0)` when no pipe can be made (out of descriptors): copying needs none.
pub(crate) fn pump(from: impl AsFd, to: impl AsFd) -> Spliced {
    let Ok((pipe_out, pipe_in)) = pipe_with(PipeFlags::CLOEXEC) else {
        return Spliced::Unsupported(0);
    };
    // The kernel's default (a smaller pipe, over the user's soft limit, fills at less
    // and so never grows: growing would be refused there anyway).
    let mut capacity = DEFAULT_PIPE;
    let mut grown = false;
    let mut delivered = 0u64;
    loop {
        let filled = match splice(&from, None, &pipe_in, None, capacity, SpliceFlags::MOVE) {
            Ok(0) => return Spliced::Ended(delivered),
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(Errno::INVAL) if delivered == 0 => return Spliced::Unsupported(0),
            Err(_) => return Spliced::Failed(delivered),
        };
        match drain(&pipe_out, &to, filled) {
            Drained::All => delivered += filled as u64,
            Drained::Failed(n) => return Spliced::Failed(delivered + n as u64),
            Drained::Copied(ok) => {
                return match ok {
                    true => Spliced::Unsupported(delivered + filled as u64),
                    false => Spliced::Failed(delivered),
                };
            }
        }
        if !grown && filled >= capacity {
            grown = true;
            if let Ok(size) = fcntl_setpipe_size(&pipe_in, BULK_PIPE) {
                capacity = size;
            }
        }
    }
}

enum Drained {
    All,
    /// Writing failed after this many bytes.
    Failed(usize),
    /// The kernel refused to splice out; the pipe was copied out instead (`true` if all
    /// of it was written).
    Copied(bool),
}

/// Moves exactly `pending` bytes from the pipe into `to`.
fn drain(pipe_out: &OwnedFd, to: &impl AsFd, pending: usize) -> Drained {
    let mut left = pending;
    while left > 0 {
        match splice(pipe_out, None, to, None, left, SpliceFlags::MOVE) {
            Ok(0) => return Drained::Failed(pending - left),
            Ok(n) => left -= n,
            Err(Errno::INTR) => {}
            Err(Errno::INVAL) => return Drained::Copied(copy_out(pipe_out, to, left)),
            Err(_) => return Drained::Failed(pending - left),
        }
    }
    Drained::All
}

/// Reads `left` bytes out of the pipe and writes them to `to`.
fn copy_out(pipe_out: &OwnedFd, to: &impl AsFd, mut left: usize) -> bool {
    let mut buf = vec![0u8; left.min(64 * 1024)];
    while left > 0 {
        let want = left.min(buf.len());
        let n = match read(pipe_out, &mut buf[..want]) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(_) => return false,
        };
        let mut written = 0;
        while written < n {
            match write(to, &buf[written..n]) {
                Ok(0) => return false,
                Ok(m) => written += m,
                Err(Errno::INTR) => {}
                Err(_) => return false,
            }
        }
        left -= n;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::thread;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (b, _) = listener.accept().expect("accept");
        (a, b)
    }

    #[test]
    fn moves_a_bulk_stream_exactly_and_reports_its_end() {
        // writer -> (a, b) -> splice -> (c, d) -> reader
        let (mut writer, from) = pair();
        let (to, mut reader) = pair();
        let data: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let feeder = thread::spawn(move || {
            writer.write_all(&sent).expect("write");
            writer.shutdown(Shutdown::Write).expect("shutdown");
        });
        let relay = thread::spawn(move || {
            let outcome = pump(&from, &to);
            to.shutdown(Shutdown::Write).expect("half-close");
            outcome
        });
        let mut got = Vec::new();
        reader.read_to_end(&mut got).expect("read");
        feeder.join().expect("feeder");
        assert_eq!(
            relay.join().expect("relay"),
            Spliced::Ended(data.len() as u64)
        );
        assert!(got == data, "the relayed bytes differ");
    }

    #[test]
    fn a_closed_destination_fails_the_direction() {
        let (mut writer, from) = pair();
        let (to, reader) = pair();
        drop(reader);
        let feeder = thread::spawn(move || {
            let chunk = vec![7u8; 64 * 1024];
            for _ in 0..64 {
                if writer.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        assert!(matches!(pump(&from, &to), Spliced::Failed(_)));
        drop(from);
        feeder.join().expect("feeder");
    }

    #[test]
    fn a_source_the_kernel_cannot_splice_is_left_untouched_for_copying() {
        // An eventfd has no splice support: EINVAL before any byte moved.
        let counter =
            rustix::event::eventfd(5, rustix::event::EventfdFlags::CLOEXEC).expect("eventfd");
        let (to, _reader) = pair();
        assert_eq!(pump(&counter, &to), Spliced::Unsupported(0));
        let mut value = [0u8; 8];
        assert_eq!(read(&counter, &mut value), Ok(8));
        assert_eq!(u64::from_ne_bytes(value), 5, "the counter was consumed");
    }
}
