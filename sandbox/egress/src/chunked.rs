//! Finding where a `Transfer-Encoding: chunked` request body ends, while it streams
//! through unchanged. The proxy forwards the body bytes as they arrive and stops exactly at
//! the end of the last chunk's trailer section: whatever the client sends after it (a
//! pipelined second request) is never forwarded.

/// The longest chunk-size line (size, extensions) or trailer line accepted.
pub const MAX_LINE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the hex size (and extensions) of a chunk; `digits` seen so far.
    Size {
        size: u64,
        digits: u32,
        in_ext: bool,
        line: usize,
    },
    /// Expecting the LF of the size line.
    SizeLf { size: u64 },
    /// Inside chunk data, this many bytes to go.
    Data { left: u64 },
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// In the trailer section, at the start of a line (`line` = bytes on this line).
    Trailer { line: usize, cr: bool },
    /// The body has ended.
    Done,
}

/// Why the chunked body is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked request body: {0}")]
pub struct ChunkedError(&'static str);

/// A streaming scanner of a chunked body.
#[derive(Clone, Debug)]
pub struct ChunkedScanner {
    state: State,
}

impl Default for ChunkedScanner {
    fn default() -> ChunkedScanner {
        ChunkedScanner {
            state: State::Size {
                size: 0,
                digits: 0,
                in_ext: false,
                line: 0,
            },
        }
    }
}

impl ChunkedScanner {
    /// Scans the next bytes. `Ok(Some(n))`: the body ends after the first `n` bytes of
    /// `data`; `Ok(None)`: all of `data` is body and more is to come.
    pub fn feed(&mut self, data: &[u8]) -> Result<Option<usize>, ChunkedError> {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            self.state = match self.state {
                State::Done => return Ok(Some(i)),
                State::Data { left } => {
                    let available = (data.len() - i) as u64;
                    let take = left.min(available);
                    i += usize::try_from(take).unwrap_or(data.len() - i);
                    self.state = if take == left {
                        State::DataCr
                    } else {
                        State::Data { left: left - take }
                    };
                    continue;
                }
                State::Size {
                    size,
                    digits,
                    in_ext,
                    line,
                } => {
                    if line >= MAX_LINE {
                        return Err(ChunkedError("chunk-size line too long"));
                    }
                    match b {
                        b'\r' if digits > 0 => State::SizeLf { size },
                        b';' if digits > 0 => State::Size {
                            size,
                            digits,
                            in_ext: true,
                            line: line + 1,
                        },
                        _ if in_ext => {
                            if b == b'\n' || b < 0x20 && b != b'\t' {
                                return Err(ChunkedError("control byte in a chunk extension"));
                            }
                            State::Size {
                                size,
                                digits,
                                in_ext,
                                line: line + 1,
                            }
                        }
                        _ => {
                            let digit = char::from(b)
                                .to_digit(16)
                                .ok_or(ChunkedError("chunk size is not hexadecimal"))?;
                            if digits >= 15 {
                                return Err(ChunkedError("chunk size too large"));
                            }
                            State::Size {
                                size: size << 4 | u64::from(digit),
                                digits: digits + 1,
                                in_ext,
                                line: line + 1,
                            }
                        }
                    }
                }
                State::SizeLf { size } => {
                    if b != b'\n' {
                        return Err(ChunkedError("chunk-size line not ended by CRLF"));
                    }
                    if size == 0 {
                        State::Trailer { line: 0, cr: false }
                    } else {
                        State::Data { left: size }
                    }
                }
                State::DataCr => {
                    if b != b'\r' {
                        return Err(ChunkedError("chunk data not followed by CRLF"));
                    }
                    State::DataLf
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ChunkedError("chunk data not followed by CRLF"));
                    }
                    State::Size {
                        size: 0,
                        digits: 0,
                        in_ext: false,
                        line: 0,
                    }
                }
                State::Trailer { line, cr } => match (b, cr) {
                    (b'\r', false) => State::Trailer { line, cr: true },
                    (b'\n', true) if line == 0 => State::Done,
                    (b'\n', true) => State::Trailer { line: 0, cr: false },
                    (_, true) | (b'\n', false) => {
                        return Err(ChunkedError("trailer line not ended by CRLF"));
                    }
                    _ if line >= MAX_LINE => return Err(ChunkedError("trailer line too long")),
                    _ => State::Trailer {
                        line: line + 1,
                        cr: false,
                    },
                },
            };
            i += 1;
        }
        Ok((self.state == State::Done).then_some(data.len()))
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_whole(body: &[u8]) -> Result<Option<usize>, ChunkedError> {
        ChunkedScanner::default().feed(body)
    }

    #[test]
    fn finds_the_end_and_nothing_after() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET http://evil.test/ HTTP/1.1\r\n\r\n";
        let end = scan_whole(body).expect("valid").expect("ends");
        assert_eq!(
            &body[..end],
            b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
        );
        assert_eq!(scan_whole(b"0\r\n\r\n"), Ok(Some(5)));
        assert_eq!(scan_whole(b"A\r\n0123456789\r\n0\r\n\r\n"), Ok(Some(20)));
    }

    #[test]
    fn byte_by_byte_gives_the_same_end() {
        let body = b"5\r\nhello\r\n0\r\n\r\nrest";
        let mut scanner = ChunkedScanner::default();
        let mut end = None;
        for (i, b) in body.iter().enumerate() {
            if let Some(n) = scanner.feed(std::slice::from_ref(b)).expect("valid") {
                end = Some(i + n);
                break;
            }
        }
        assert_eq!(end, Some(15));
        assert!(scanner.is_done());
        assert_eq!(scanner.feed(b"more"), Ok(Some(0)));
    }

    #[test]
    fn refusals() {
        for bad in [
            b"x\r\n".as_slice(),
            b"5\nhello\r\n",
            b"5\r\nhelloXX",
            b"\r\n",
            b"fffffffffffffffff\r\n",
            b"0\r\nX: y\n",
            b"1;a\nb\r\n",
        ] {
            assert!(scan_whole(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let long = [vec![b'1'], vec![b';'; MAX_LINE + 1]].concat();
        assert!(scan_whole(&long).is_err());
        assert_eq!(scan_whole(b"5\r\nhel"), Ok(None));
    }
}
