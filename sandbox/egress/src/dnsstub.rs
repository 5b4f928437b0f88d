//! The DNS stub inside the sandbox (UDP and TCP). It never forwards anything: an allowed
//! name is answered from the fake-IP pool (A and AAAA, TTL 0), another type of an allowed
//! name gets an empty NOERROR (NODATA, which musl and glibc both accept), a denied or
//! invalid name gets NXDOMAIN, and malformed or unsupported queries FORMERR / REFUSED /
//! NOTIMP. Every question is one decision in the log.

use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::dns::{self, Rcode, TYPE_A, TYPE_AAAA};
use crate::engine::{DECISION_TIMEOUT, Engine, shown_raw};
use crate::host::Host;
use crate::log::{EntryPoint, Outcome, Record};
use crate::policy::Verdict;

/// The largest query read over UDP (EDNS clients may send more than 512 bytes).
const MAX_UDP_QUERY: usize = 4096;

/// Answers one query message; `None` = send nothing (the message was a response).
pub(crate) fn answer(engine: &Engine, msg: &[u8]) -> Option<Vec<u8>> {
    let query = match dns::parse_query(msg) {
        Ok(query) => query,
        Err(err) => {
            err.id?;
            let verdict = Verdict::engine(format!("malformed DNS query: {}", err.reason));
            let record = Record::new(EntryPoint::Dns, "<malformed query>".into(), None, &verdict);
            engine.write_record(record);
            return dns::error_response(&err);
        }
    };
    let name = match Host::parse(&query.name) {
        Ok(Host::Name(name)) => name,
        Ok(Host::Ip(ip)) => {
            let verdict = Verdict::engine(format!("{ip} is an address, not a name"));
            return Some(deny(engine, &query, &ip.to_string(), verdict));
        }
        Err(err) => {
            let verdict = Verdict::engine(format!("invalid name: {err}"));
            return Some(deny(engine, &query, &shown_raw(&query.name), verdict));
        }
    };
    let verdict = engine.policy.decide_name(&name);
    if !verdict.allowed {
        return Some(deny(engine, &query, &name, verdict));
    }
    let mut record = Record::new(EntryPoint::Dns, name.clone(), None, &verdict);
    record.detail = Some(format!("qtype {}", query.qtype));
    if query.qtype != TYPE_A && query.qtype != TYPE_AAAA {
        engine.write_record(record);
        return Some(dns::response(&query, Rcode::NoError, &[]));
    }
    match engine.fake_ips.assign(&name) {
        Ok(addrs) => {
            let answers = [IpAddr::V4(addrs.v4), IpAddr::V6(addrs.v6)];
            record.address = answers.to_vec();
            engine.write_record(record);
            Some(dns::response(&query, Rcode::NoError, &answers))
        }
        Err(full) => {
            record.decision = Outcome::Error;
            record.detail = Some(full.to_string());
            engine.write_record(record);
            engine.notice_line(&format!("cordon: network: {full}"));
            Some(dns::response(&query, Rcode::ServFail, &[]))
        }
    }
}

fn deny(engine: &Engine, query: &dns::Query, shown: &str, verdict: Verdict) -> Vec<u8> {
    let _ = engine.deny(EntryPoint::Dns, shown, None, verdict);
    dns::response(query, Rcode::NxDomain, &[])
}

/// Answers every query waiting on a non-blocking UDP socket (called by the accept loop
/// when the socket is readable); a reply that does not fit the send buffer is dropped, as
/// UDP may.
pub(crate) fn answer_waiting(engine: &Engine, socket: &UdpSocket, buf: &mut [u8]) {
    for _ in 0..MAX_BATCH {
        let (n, peer) = match socket.recv_from(buf) {
            Ok(received) => received,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
            Err(err) if is_transient(&err) => continue,
            Err(_) => return,
        };
        if engine.stopping.load(Ordering::SeqCst) {
            return;
        }
        if let Some(reply) = answer(engine, &buf[..n]) {
            let _ = socket.send_to(&reply, peer);
        }
    }
}

/// The most datagrams answered in one turn, so that a flood on one socket cannot starve
/// the listeners polled with it.
const MAX_BATCH: usize = 64;

/// The buffer [`answer_waiting`] needs.
pub(crate) fn udp_buffer() -> Vec<u8> {
    vec![0u8; MAX_UDP_QUERY]
}

fn is_transient(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            // An ICMP port-unreachable for an earlier reply surfaces on the next recv.
            | io::ErrorKind::ConnectionRefused
    )
}

/// Serves one DNS-over-TCP connection: length-prefixed messages until the client closes
/// or is idle for the decision timeout.
pub(crate) fn serve_tcp(engine: &Arc<Engine>, shared: &Arc<TcpStream>) {
    let _ = shared.set_read_timeout(Some(DECISION_TIMEOUT));
    let mut stream: &TcpStream = shared;
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut msg).is_err() {
            return;
        }
        let Some(reply) = answer(engine, &msg) else {
            continue;
        };
        let mut framed = u16::try_from(reply.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{build_query, read_response};
    use crate::fakeip::FakeIpPool;
    use crate::host::Target;
    use crate::log::DecisionLog;
    use crate::policy::{Policy, StaticResolver};
    use std::sync::{Mutex, PoisonError};

    struct AllowAll;
    impl Policy for AllowAll {
        fn decide_target(&self, _: &Target) -> Verdict {
            Verdict::allow("allow *", "test")
        }
        fn decide_address(&self, _: &Target, _: IpAddr) -> Verdict {
            Verdict::allow("allow *", "test")
        }
        fn decide_name(&self, _: &str) -> Verdict {
            Verdict::allow("allow *", "test")
        }
    }

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_pool_answers_servfail_and_says_why() {
        let notices = Sink::default();
        let engine = Engine::new(
            Arc::new(AllowAll),
            Arc::new(StaticResolver::new()),
            FakeIpPool::with_capacity(1),
            DecisionLog::new(Box::new(Sink::default()), "run"),
            Box::new(notices.clone()),
        );
        let ask = |name: &[u8]| {
            let reply = answer(&engine, &build_query(1, name, TYPE_A)).expect("answered");
            read_response(&reply).expect("a response").1
        };
        assert_eq!(ask(b"first.test"), Rcode::NoError);
        assert_eq!(ask(b"first.test"), Rcode::NoError);
        assert_eq!(ask(b"second.test"), Rcode::ServFail);
        let notices =
            String::from_utf8_lossy(&notices.0.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned();
        assert!(
            notices.contains("pool is full (1 names this run)"),
            "{notices}"
        );
        assert!(notices.contains("second.test"), "{notices}");
        assert_eq!(engine.log.summary().dns_denied, 1);
        assert_eq!(engine.log.summary().dns_allowed, 2);
    }
}
