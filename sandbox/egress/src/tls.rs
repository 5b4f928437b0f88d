//! Reading the server name (SNI) of a TLS ClientHello without terminating TLS.
//!
//! The ClientHello may span several TCP segments and several TLS records (post-quantum
//! key shares make it larger than one segment); the caller feeds everything received so
//! far and gets [`Scan::Incomplete`] until the whole handshake message is there. The whole
//! message is bounded by [`MAX_CLIENT_HELLO`]. Only what is needed is read: the legacy
//! fields are skipped, the extensions are walked for `server_name` (0) and noted for
//! `encrypted_client_hello` (0xfe0d, whose inner name is hidden from us).

/// The largest ClientHello handshake message accepted (bytes of handshake payload).
pub const MAX_CLIENT_HELLO: usize = 16 * 1024;

const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXT_SERVER_NAME: u16 = 0;
const EXT_ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;
const MAX_RECORD_PAYLOAD: usize = 16 * 1024 + 2048;

/// What a ClientHello says about where it is going.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    /// The `host_name` of the server_name extension, raw (canonicalise before use).
    pub server_name: Option<Vec<u8>>,
    /// Whether an `encrypted_client_hello` extension is present (the server name above is
    /// then the outer, client-facing one).
    pub ech: bool,
}

/// The result of scanning the bytes received so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scan {
    /// Not a TLS handshake record at all (the first byte says so).
    NotTls,
    /// A TLS handshake so far; more bytes are needed.
    Incomplete,
    /// The complete ClientHello.
    Done(ClientHello),
}

/// Why the bytes are not an acceptable ClientHello.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The record layer is wrong (version, length, or a non-handshake record mid-message).
    #[error("malformed TLS record: {0}")]
    Record(&'static str),
    /// The first handshake message is not a ClientHello.
    #[error("the first TLS handshake message is not a ClientHello")]
    NotClientHello,
    /// The ClientHello is larger than the bound.
    #[error("the TLS ClientHello is larger than {MAX_CLIENT_HELLO} bytes")]
    TooLarge,
    /// A field of the ClientHello is inconsistent.
    #[error("malformed TLS ClientHello: {0}")]
    Malformed(&'static str),
}

/// Scans `data` (everything the client has sent so far) for a complete ClientHello.
pub fn scan_client_hello(data: &[u8]) -> Result<Scan, TlsError> {
    match data.first() {
        None => return Ok(Scan::Incomplete),
        Some(&CONTENT_HANDSHAKE) => {}
        Some(_) => return Ok(Scan::NotTls),
    }
    // Concatenate the payloads of the handshake records received so far.
    let mut handshake = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 5 {
            break;
        }
        if rest[0] != CONTENT_HANDSHAKE {
            return Err(TlsError::Record(
                "a non-handshake record inside the ClientHello",
            ));
        }
        if rest[1] != 3 || rest[2] > 4 {
            return Err(TlsError::Record("unknown record version"));
        }
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if len == 0 || len > MAX_RECORD_PAYLOAD {
            return Err(TlsError::Record("record length out of range"));
        }
        if rest.len() < 5 + len {
            handshake.extend_from_slice(&rest[5..]);
            break;
        }
        handshake.extend_from_slice(&rest[5..5 + len]);
        rest = &rest[5 + len..];
        if handshake.len() >= 4 && handshake_complete(&handshake)? {
            break;
        }
    }
    if handshake.len() < 4 {
        return Ok(Scan::Incomplete);
    }
    if !handshake_complete(&handshake)? {
        return Ok(Scan::Incomplete);
    }
    let len = handshake_len(&handshake);
    parse_client_hello(&handshake[4..4 + len]).map(Scan::Done)
}

fn handshake_len(handshake: &[u8]) -> usize {
    usize::from(handshake[1]) << 16 | usize::from(handshake[2]) << 8 | usize::from(handshake[3])
}

fn handshake_complete(handshake: &[u8]) -> Result<bool, TlsError> {
    if handshake[0] != HANDSHAKE_CLIENT_HELLO {
        return Err(TlsError::NotClientHello);
    }
    let len = handshake_len(handshake);
    if len > MAX_CLIENT_HELLO {
        return Err(TlsError::TooLarge);
    }
    Ok(handshake.len() >= 4 + len)
}

/// A bounds-checked reader over the ClientHello body.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], TlsError> {
        if self.bytes.len() < n {
            return Err(TlsError::Malformed(what));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, TlsError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, TlsError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn vec8(&mut self, what: &'static str) -> Result<&'a [u8], TlsError> {
        let len = usize::from(self.u8(what)?);
        self.take(len, what)
    }

    fn vec16(&mut self, what: &'static str) -> Result<&'a [u8], TlsError> {
        let len = usize::from(self.u16(what)?);
        self.take(len, what)
    }
}

fn parse_client_hello(body: &[u8]) -> Result<ClientHello, TlsError> {
    let mut r = Reader { bytes: body };
    r.take(2, "legacy_version")?;
    r.take(32, "random")?;
    let session_id = r.vec8("legacy_session_id")?;
    if session_id.len() > 32 {
        return Err(TlsError::Malformed(
            "legacy_session_id longer than 32 bytes",
        ));
    }
    let ciphers = r.vec16("cipher_suites")?;
    if ciphers.is_empty() || ciphers.len() % 2 != 0 {
        return Err(TlsError::Malformed("cipher_suites"));
    }
    if r.vec8("legacy_compression_methods")?.is_empty() {
        return Err(TlsError::Malformed("legacy_compression_methods"));
    }
    let mut hello = ClientHello {
        server_name: None,
        ech: false,
    };
    if r.bytes.is_empty() {
        return Ok(hello);
    }
    let mut extensions = Reader {
        bytes: r.vec16("extensions")?,
    };
    if !r.bytes.is_empty() {
        return Err(TlsError::Malformed("bytes after the extensions"));
    }
    let mut seen = Vec::new();
    while !extensions.bytes.is_empty() {
        let kind = extensions.u16("extension type")?;
        let data = extensions.vec16("extension data")?;
        if seen.contains(&kind) {
            return Err(TlsError::Malformed("an extension appears twice"));
        }
        seen.push(kind);
        match kind {
            EXT_SERVER_NAME => hello.server_name = parse_server_name(data)?,
            EXT_ENCRYPTED_CLIENT_HELLO => hello.ech = true,
            _ => {}
        }
    }
    Ok(hello)
}

/// RFC 6066 §3: a list of (type, name); at most one `host_name` (type 0).
fn parse_server_name(data: &[u8]) -> Result<Option<Vec<u8>>, TlsError> {
    let mut r = Reader { bytes: data };
    let mut list = Reader {
        bytes: r.vec16("server_name_list")?,
    };
    if !r.bytes.is_empty() {
        return Err(TlsError::Malformed("bytes after server_name_list"));
    }
    let mut host_name = None;
    while !list.bytes.is_empty() {
        let name_type = list.u8("server name type")?;
        let name = list.vec16("server name")?;
        if name_type == 0 {
            if host_name.is_some() {
                return Err(TlsError::Malformed("two host names in server_name"));
            }
            host_name = Some(name.to_vec());
        }
    }
    Ok(host_name)
}

/// A minimal, well-formed ClientHello record naming `server_name` (if any), with
/// `padding` extra bytes of padding extension: for tests and fuzz seeds.
pub fn build_client_hello(server_name: Option<&[u8]>, padding: usize) -> Vec<u8> {
    let mut extensions = Vec::new();
    if let Some(name) = server_name {
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        extensions.extend_from_slice(&EXT_SERVER_NAME.to_be_bytes());
        extensions.extend_from_slice(&(name_len + 5).to_be_bytes());
        extensions.extend_from_slice(&(name_len + 3).to_be_bytes());
        extensions.push(0);
        extensions.extend_from_slice(&name_len.to_be_bytes());
        extensions.extend_from_slice(name);
    }
    if padding > 0 {
        let padding = u16::try_from(padding).unwrap_or(u16::MAX);
        extensions.extend_from_slice(&21u16.to_be_bytes());
        extensions.extend_from_slice(&padding.to_be_bytes());
        extensions.extend(std::iter::repeat_n(0u8, usize::from(padding)));
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&u16::try_from(extensions.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut handshake = vec![HANDSHAKE_CLIENT_HELLO];
    handshake.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    // Split into records of at most 16 KiB.
    let mut out = Vec::new();
    for chunk in handshake.chunks(16 * 1024) {
        out.extend_from_slice(&[CONTENT_HANDSHAKE, 3, 1]);
        out.extend_from_slice(&u16::try_from(chunk.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(name: Option<&[u8]>) -> Result<Scan, TlsError> {
        Ok(Scan::Done(ClientHello {
            server_name: name.map(<[u8]>::to_vec),
            ech: false,
        }))
    }

    #[test]
    fn reads_the_server_name() {
        let hello = build_client_hello(Some(b"allowed.test"), 0);
        assert_eq!(scan_client_hello(&hello), done(Some(b"allowed.test")));
        let hello = build_client_hello(None, 0);
        assert_eq!(scan_client_hello(&hello), done(None));
    }

    #[test]
    fn every_prefix_is_incomplete_never_an_error() {
        let hello = build_client_hello(Some(b"allowed.test"), 300);
        for cut in 0..hello.len() {
            assert_eq!(
                scan_client_hello(&hello[..cut]),
                Ok(Scan::Incomplete),
                "cut {cut}"
            );
        }
        assert_eq!(scan_client_hello(&hello), done(Some(b"allowed.test")));
    }

    #[test]
    fn a_hello_spanning_records_is_reassembled() {
        // One handshake message split over three records, as large post-quantum
        // ClientHellos are.
        let hello = build_client_hello(Some(b"big.test"), 3000);
        let handshake = &hello[5..];
        let mut records = Vec::new();
        for chunk in handshake.chunks(1200) {
            records.extend_from_slice(&[22, 3, 1]);
            records.extend_from_slice(&u16::try_from(chunk.len()).expect("small").to_be_bytes());
            records.extend_from_slice(chunk);
        }
        assert_eq!(scan_client_hello(&records), done(Some(b"big.test")));
        assert_eq!(scan_client_hello(&records[..2000]), Ok(Scan::Incomplete));
    }

    #[test]
    fn bounds_and_malformed_input() {
        assert_eq!(scan_client_hello(b"GET / HTTP/1.1\r\n"), Ok(Scan::NotTls));
        assert_eq!(scan_client_hello(b"SSH-2.0-x"), Ok(Scan::NotTls));
        let big = build_client_hello(Some(b"big.test"), MAX_CLIENT_HELLO);
        assert_eq!(scan_client_hello(&big), Err(TlsError::TooLarge));
        assert_eq!(
            scan_client_hello(&[22, 3, 1, 0, 4, 2, 0, 0, 0]),
            Err(TlsError::NotClientHello)
        );
        assert_eq!(
            scan_client_hello(&[22, 9, 1, 0, 4]),
            Err(TlsError::Record("unknown record version"))
        );
        let mut hello = build_client_hello(Some(b"a.test"), 0);
        hello.extend_from_slice(&[23, 3, 3, 0, 1, 0]);
        // Application data after a complete hello is not part of it.
        assert_eq!(scan_client_hello(&hello), done(Some(b"a.test")));
        // Two host names.
        let mut two = Vec::new();
        let body_ext: Vec<u8> = {
            let mut list = Vec::new();
            for name in [b"a.test", b"b.test"] {
                list.push(0);
                list.extend_from_slice(&6u16.to_be_bytes());
                list.extend_from_slice(name);
            }
            let mut ext = vec![0, 0];
            ext.extend_from_slice(&u16::try_from(list.len() + 2).expect("small").to_be_bytes());
            ext.extend_from_slice(&u16::try_from(list.len()).expect("small").to_be_bytes());
            ext.extend_from_slice(&list);
            ext
        };
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 2, 0x13, 1, 1, 0]);
        body.extend_from_slice(&u16::try_from(body_ext.len()).expect("small").to_be_bytes());
        body.extend_from_slice(&body_ext);
        let mut handshake = vec![1, 0];
        handshake.extend_from_slice(&u16::try_from(body.len()).expect("small").to_be_bytes());
        handshake.extend_from_slice(&body);
        two.extend_from_slice(&[22, 3, 1]);
        two.extend_from_slice(&u16::try_from(handshake.len()).expect("small").to_be_bytes());
        two.extend_from_slice(&handshake);
        assert_eq!(
            scan_client_hello(&two),
            Err(TlsError::Malformed("two host names in server_name"))
        );
    }

    #[test]
    fn ech_is_noted() {
        let mut hello = build_client_hello(Some(b"outer.test"), 0);
        // Append an empty ECH extension: patch the lengths (extensions, handshake, record).
        hello.extend_from_slice(&[0xfe, 0x0d, 0, 0]);
        let bump = |bytes: &mut [u8], at: usize, width: usize| {
            let mut value = 0usize;
            for b in &bytes[at..at + width] {
                value = value << 8 | usize::from(*b);
            }
            value += 4;
            for i in (0..width).rev() {
                bytes[at + i] = u8::try_from(value & 0xff).expect("byte");
                value >>= 8;
            }
        };
        bump(&mut hello, 3, 2);
        bump(&mut hello, 6, 3);
        let ext_len_at = 5 + 4 + 2 + 32 + 1 + 4 + 2;
        bump(&mut hello, ext_len_at, 2);
        assert_eq!(
            scan_client_hello(&hello),
            Ok(Scan::Done(ClientHello {
                server_name: Some(b"outer.test".to_vec()),
                ech: true
            }))
        );
    }
}
