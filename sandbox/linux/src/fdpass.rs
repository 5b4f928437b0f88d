//! Hands the listeners made in the sandbox's network namespace to the host-side
//! `cordon` over `SCM_RIGHTS`, on a `SOCK_SEQPACKET` socket pair made before forking.
//!
//! Each message carries up to [`PER_MESSAGE`] descriptors and, as its data, one role byte
//! per descriptor; a one-byte message [`END`] without descriptors closes the list. The
//! receiver sees the sender's end close without [`END`] when the set-up failed (the
//! reason then arrives on the error pipe).

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};

use crate::netns::NamespaceListeners;
use crate::{SandboxError, sys};

/// Descriptors per message (the kernel's limit, `SCM_MAX_FD`, is 253).
const PER_MESSAGE: usize = 64;
/// The last message's only byte.
const END: u8 = b'E';

const PROXY: u8 = b'p';
const DNS_UDP: u8 = b'u';
const DNS_TCP: u8 = b't';
const TRANSPARENT: u8 = b'c';

fn pass_error(what: &str, error: impl std::fmt::Display) -> SandboxError {
    SandboxError::Spawn(format!("passing the proxy listeners: {what}: {error}"))
}

/// A close-on-exec `SOCK_SEQPACKET` socket pair: (sender's end, receiver's end).
pub(crate) fn channel() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| pass_error("socketpair", e))
}

/// Sends `listeners` (and closes the sender's copies).
pub(crate) fn send(channel: &OwnedFd, listeners: NamespaceListeners) -> Result<(), SandboxError> {
    let NamespaceListeners {
        proxy,
        dns_udp,
        dns_tcp,
        transparent,
    } = listeners;
    let tagged: Vec<(u8, OwnedFd)> = [
        (PROXY, proxy),
        (DNS_UDP, dns_udp),
        (DNS_TCP, dns_tcp),
        (TRANSPARENT, transparent),
    ]
    .into_iter()
    .flat_map(|(role, fds)| fds.into_iter().map(move |fd| (role, fd)))
    .collect();
    for chunk in tagged.chunks(PER_MESSAGE) {
        let roles: Vec<u8> = chunk.iter().map(|(role, _)| *role).collect();
        let fds: Vec<RawFd> = chunk.iter().map(|(_, fd)| fd.as_raw_fd()).collect();
        sendmsg::<()>(
            channel.as_raw_fd(),
            &[IoSlice::new(&roles)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .map_err(|e| pass_error("sendmsg", e))?;
    }
    sendmsg::<()>(
        channel.as_raw_fd(),
        &[IoSlice::new(&[END])],
        &[],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| pass_error("sendmsg", e))?;
    Ok(())
}

/// Receives the listeners; `None` when the sender's end closed before the list ended.
pub(crate) fn receive(channel: &OwnedFd) -> Result<Option<NamespaceListeners>, SandboxError> {
    let mut listeners = NamespaceListeners::default();
    loop {
        let mut roles = [0u8; PER_MESSAGE];
        let mut space = nix::cmsg_space!([RawFd; PER_MESSAGE]);
        let mut iov = [IoSliceMut::new(&mut roles)];
        let (length, received, truncated) = {
            let message = match recvmsg::<()>(
                channel.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(message) => message,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(pass_error("recvmsg", e)),
            };
            let mut received = Vec::new();
            for control in message.cmsgs().map_err(|e| pass_error("recvmsg", e))? {
                if let ControlMessageOwned::ScmRights(fds) = control {
                    for fd in fds {
                        received.push(
                            sys::adopt_received_fd(fd).map_err(|e| pass_error("recvmsg", e))?,
                        );
                    }
                }
            }
            let truncated = message
                .flags
                .intersects(MsgFlags::MSG_CTRUNC | MsgFlags::MSG_TRUNC);
            (message.bytes, received, truncated)
        };
        if length == 0 {
            return Ok(None);
        }
        if truncated {
            return Err(pass_error("recvmsg", "message truncated"));
        }
        let roles = &roles[..length];
        if roles == [END] && received.is_empty() {
            return Ok(Some(listeners));
        }
        if roles.len() != received.len() {
            return Err(pass_error(
                "recvmsg",
                format!("{} roles for {} descriptors", roles.len(), received.len()),
            ));
        }
        for (role, fd) in roles.iter().zip(received) {
            match *role {
                PROXY => listeners.proxy.push(fd),
                DNS_UDP => listeners.dns_udp.push(fd),
                DNS_TCP => listeners.dns_tcp.push(fd),
                TRANSPARENT => listeners.transparent.push(fd),
                other => return Err(pass_error("recvmsg", format!("unknown role {other}"))),
            }
        }
    }
}

/// Sends the network namespace made for PID 1 (`Ok`), or the errno that prevented it.
pub(crate) fn send_namespace(
    channel: &OwnedFd,
    made: &Result<OwnedFd, nix::errno::Errno>,
) -> Result<(), SandboxError> {
    let (errno, fds) = match made {
        Ok(namespace) => (0, vec![namespace.as_raw_fd()]),
        Err(errno) => (*errno as i32, Vec::new()),
    };
    let bytes = errno.to_le_bytes();
    let rights = [ControlMessage::ScmRights(&fds)];
    let controls: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    sendmsg::<()>(
        channel.as_raw_fd(),
        &[IoSlice::new(&bytes)],
        controls,
        MsgFlags::empty(),
        None,
    )
    .map(drop)
    .map_err(|e| pass_error("sendmsg", e))
}

/// Receives the network namespace [`send_namespace`] sent.
pub(crate) fn receive_namespace(channel: &OwnedFd) -> Result<OwnedFd, SandboxError> {
    let mut errno = [0u8; 4];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut errno)];
    let (length, mut received) = loop {
        match recvmsg::<()>(
            channel.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(message) => {
                let mut received = Vec::new();
                for control in message.cmsgs().map_err(|e| pass_error("recvmsg", e))? {
                    if let ControlMessageOwned::ScmRights(fds) = control {
                        for fd in fds {
                            received.push(
                                sys::adopt_received_fd(fd).map_err(|e| pass_error("recvmsg", e))?,
                            );
                        }
                    }
                }
                break (message.bytes, received);
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(pass_error("recvmsg", e)),
        }
    };
    let errno = i32::from_le_bytes(errno);
    match (length, received.pop()) {
        (4, Some(namespace)) if errno == 0 && received.is_empty() => Ok(namespace),
        (4, None) if errno != 0 => Err(SandboxError::Namespaces(format!(
            "cannot create the network namespace ({}); run `cordon doctor`",
            nix::errno::Errno::from_raw(errno)
        ))),
        _ => Err(SandboxError::Namespaces(
            "the network namespace's maker ended early".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipes(count: usize) -> Vec<OwnedFd> {
        (0..count).map(|_| crate::init::pipe().unwrap().0).collect()
    }

    #[test]
    fn listeners_arrive_by_role_across_several_messages() {
        let (sender, receiver) = channel().unwrap();
        let listeners = NamespaceListeners {
            proxy: pipes(2),
            dns_udp: pipes(2),
            dns_tcp: pipes(2),
            transparent: pipes(150),
        };
        let thread = std::thread::spawn(move || send(&sender, listeners).unwrap());
        let got = receive(&receiver).unwrap().unwrap();
        thread.join().unwrap();
        assert_eq!(
            (
                got.proxy.len(),
                got.dns_udp.len(),
                got.dns_tcp.len(),
                got.transparent.len()
            ),
            (2, 2, 2, 150)
        );
        let flags =
            nix::fcntl::fcntl(&got.transparent[149], nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(
            flags & nix::libc::FD_CLOEXEC,
            0,
            "received descriptors are close-on-exec"
        );
    }

    #[test]
    fn a_sender_that_dies_early_is_told_apart_from_an_empty_list() {
        let (sender, receiver) = channel().unwrap();
        drop(sender);
        assert!(receive(&receiver).unwrap().is_none());
        let (sender, receiver) = channel().unwrap();
        send(&sender, NamespaceListeners::default()).unwrap();
        let got = receive(&receiver).unwrap().unwrap();
        assert!(got.proxy.is_empty() && got.transparent.is_empty());
    }
}
