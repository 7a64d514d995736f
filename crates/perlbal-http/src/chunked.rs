//! Incremental decoder for chunked request bodies (HTTP-16, WS-18, RP-28, SVC-7).
//!
//! Bytes go in, body data comes out as slices of the input, with the number of bytes consumed
//! and whether the body is complete. Framing bytes are consumed one at a time, so no input
//! has to be kept between calls; data is handed out in bulk.
//!
//! Grammar (RFC 9112 §7.1): `1*HEXDIG [ *WSP ( ";" ext ) ] CRLF data CRLF … 0 CRLF *(trailer
//! CRLF) CRLF`. Chunk extensions are ignored (bounded per line and per body); trailers are
//! consumed and discarded (bounded). Every framing line must end in CRLF.
//!
//! Divergences from the original, which parsed with one regex over a growing buffer:
//! * it accepted a missing CRLF after chunk data; we refuse it (a classic desync vector);
//! * a bare LF, a size line with garbage or a never-ending extension made it wait forever
//!   (buffering without bound); we fail at once;
//! * it did not parse trailers and threw away whatever followed the last chunk in the same
//!   read; we consume trailers and stop exactly after the final CRLF;
//! * it finished at `0\r\n` without waiting for the final CRLF; we wait for it.
//!
//! The body-size limit (`max_chunked_request_size`, 0 = unlimited) is checked against each
//! announced chunk size, before its data arrives; as in the original, exceeding it should close
//! the connection without a response.

/// Longest chunk-size line (size, whitespace and extensions; without CRLF).
pub const MAX_CHUNK_LINE_BYTES: usize = 4096;

/// Most chunk-extension bytes accepted over a whole body.
pub const MAX_CHUNK_EXTENSION_BYTES: usize = 16 * 1024;

/// Most trailer bytes (line endings not counted) accepted after the last chunk.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;

/// Why a chunked body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkedError {
    /// The chunk size is missing or not hexadecimal (e.g. `-5`, `0x10`, `z`).
    InvalidChunkSize,
    /// The chunk size does not fit in 64 bits.
    ChunkSizeOverflow,
    /// A chunk-size line longer than [`MAX_CHUNK_LINE_BYTES`].
    ChunkLineTooLong,
    /// More than [`MAX_CHUNK_EXTENSION_BYTES`] of chunk extensions.
    ExtensionsTooLarge,
    /// Chunk data not followed by CRLF.
    MissingDataCrlf,
    /// A framing line ended with LF alone.
    BareLf,
    /// A CR in a framing line not followed by LF.
    BareCr,
    /// More than [`MAX_TRAILER_BYTES`] of trailers.
    TrailersTooLarge,
    /// The body would exceed the configured limit (SVC-7).
    BodyTooLarge { limit: u64 },
}

impl std::fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkedError::InvalidChunkSize => f.write_str("invalid chunk size"),
            ChunkedError::ChunkSizeOverflow => f.write_str("chunk size overflows"),
            ChunkedError::ChunkLineTooLong => f.write_str("chunk size line too long"),
            ChunkedError::ExtensionsTooLarge => f.write_str("chunk extensions too large"),
            ChunkedError::MissingDataCrlf => f.write_str("chunk data not followed by CRLF"),
            ChunkedError::BareLf => f.write_str("bare LF in chunked framing"),
            ChunkedError::BareCr => f.write_str("bare CR in chunked framing"),
            ChunkedError::TrailersTooLarge => f.write_str("chunked trailers too large"),
            ChunkedError::BodyTooLarge { limit } => {
                write!(f, "chunked body larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for ChunkedError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size.
    Size,
    /// Whitespace after the size, before `;` or CR.
    SizeSpace,
    /// Inside chunk extensions, until CR.
    Extension,
    /// CR of a size line seen, LF expected.
    SizeLf,
    /// Chunk data; `remaining` bytes left.
    Data,
    /// CR expected after chunk data.
    DataCr,
    /// LF expected after chunk data.
    DataLf,
    /// Start of a trailer line, or of the final CRLF.
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// CR of a trailer line seen, LF expected.
    TrailerLf,
    /// CR of the final CRLF seen, LF expected.
    EndLf,
    /// The body is complete.
    Done,
}

/// One step of decoding: `data` is body bytes (a slice of the input) and `consumed` counts
/// every input byte used, data included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedProgress<'a> {
    pub consumed: usize,
    pub data: &'a [u8],
    pub done: bool,
}

/// Incremental chunked-body decoder.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Chunk size being read, then bytes of the current chunk still to come.
    size: u64,
    line_len: usize,
    extension_total: usize,
    trailer_total: usize,
    body_len: u64,
    max_body: u64,
}

impl ChunkedDecoder {
    /// A decoder for a body of at most `max_body` bytes (0 = unlimited, SVC-7).
    pub fn new(max_body: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            line_len: 0,
            extension_total: 0,
            trailer_total: 0,
            body_len: 0,
            max_body,
        }
    }

    /// Body bytes announced so far (the final Content-Length once done, RP-28).
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// Whether the final CRLF has been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input` up to and including the next run of body data, or until the input
    /// is used up or the body ends. Call again with the unconsumed rest.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<ChunkedProgress<'a>, ChunkedError> {
        let mut at = 0;
        while at < input.len() && self.state != State::Done {
            if self.state == State::Data {
                let available = (input.len() - at) as u64;
                let take = self.size.min(available) as usize;
                self.size -= take as u64;
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                return Ok(ChunkedProgress {
                    consumed: at + take,
                    data: &input[at..at + take],
                    done: false,
                });
            }
            self.framing_byte(input[at])?;
            at += 1;
        }
        Ok(ChunkedProgress {
            consumed: at,
            data: &[],
            done: self.state == State::Done,
        })
    }

    /// Decodes all of `input` (or up to the end of the body), appending data to `out`.
    /// Returns the bytes consumed; the rest belongs to whatever follows the body.
    pub fn decode_into(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkedError> {
        let mut at = 0;
        loop {
            let progress = self.decode(&input[at..])?;
            out.extend_from_slice(progress.data);
            at += progress.consumed;
            if progress.done || progress.consumed == 0 || at == input.len() {
                return Ok(at);
            }
        }
    }

    fn framing_byte(&mut self, byte: u8) -> Result<(), ChunkedError> {
        self.state = match self.state {
            State::Size => self.size_byte(byte)?,
            State::SizeSpace => match byte {
                b' ' | b'\t' => self.count_line(State::SizeSpace)?,
                b';' => self.count_line(State::Extension)?,
                b'\r' => State::SizeLf,
                b'\n' => return Err(ChunkedError::BareLf),
                _ => return Err(ChunkedError::InvalidChunkSize),
            },
            State::Extension => match byte {
                b'\r' => State::SizeLf,
                b'\n' => return Err(ChunkedError::BareLf),
                _ => {
                    self.extension_total += 1;
                    if self.extension_total > MAX_CHUNK_EXTENSION_BYTES {
                        return Err(ChunkedError::ExtensionsTooLarge);
                    }
                    self.count_line(State::Extension)?
                }
            },
            State::SizeLf => match byte {
                b'\n' => self.start_chunk()?,
                _ => return Err(ChunkedError::BareCr),
            },
            State::DataCr => match byte {
                b'\r' => State::DataLf,
                _ => return Err(ChunkedError::MissingDataCrlf),
            },
            State::DataLf => match byte {
                b'\n' => State::Size,
                _ => return Err(ChunkedError::MissingDataCrlf),
            },
            State::TrailerStart | State::Trailer => match byte {
                b'\r' if self.state == State::TrailerStart => State::EndLf,
                b'\r' => State::TrailerLf,
                b'\n' => return Err(ChunkedError::BareLf),
                _ => {
                    self.trailer_total += 1;
                    if self.trailer_total > MAX_TRAILER_BYTES {
                        return Err(ChunkedError::TrailersTooLarge);
                    }
                    State::Trailer
                }
            },
            State::TrailerLf => match byte {
                b'\n' => State::TrailerStart,
                _ => return Err(ChunkedError::BareCr),
            },
            State::EndLf => match byte {
                b'\n' => State::Done,
                _ => return Err(ChunkedError::BareCr),
            },
            State::Data | State::Done => self.state,
        };
        Ok(())
    }

    fn size_byte(&mut self, byte: u8) -> Result<State, ChunkedError> {
        let digit = match byte {
            b'0'..=b'9' => Some(byte - b'0'),
            b'a'..=b'f' => Some(byte - b'a' + 10),
            b'A'..=b'F' => Some(byte - b'A' + 10),
            _ => None,
        };
        if let Some(digit) = digit {
            self.size = self
                .size
                .checked_mul(16)
                .and_then(|size| size.checked_add(u64::from(digit)))
                .ok_or(ChunkedError::ChunkSizeOverflow)?;
            return self.count_line(State::Size);
        }
        if self.line_len == 0 {
            return Err(ChunkedError::InvalidChunkSize);
        }
        match byte {
            b' ' | b'\t' => self.count_line(State::SizeSpace),
            b';' => self.count_line(State::Extension),
            b'\r' => Ok(State::SizeLf),
            b'\n' => Err(ChunkedError::BareLf),
            _ => Err(ChunkedError::InvalidChunkSize),
        }
    }

    fn count_line(&mut self, next: State) -> Result<State, ChunkedError> {
        self.line_len += 1;
        if self.line_len > MAX_CHUNK_LINE_BYTES {
            return Err(ChunkedError::ChunkLineTooLong);
        }
        Ok(next)
    }

    /// A size line is complete: start its data, or the trailers after the last chunk.
    fn start_chunk(&mut self) -> Result<State, ChunkedError> {
        self.line_len = 0;
        if self.size == 0 {
            return Ok(State::TrailerStart);
        }
        let body_len = self
            .body_len
            .checked_add(self.size)
            .ok_or(ChunkedError::ChunkSizeOverflow)?;
        if self.max_body != 0 && body_len > self.max_body {
            return Err(ChunkedError::BodyTooLarge {
                limit: self.max_body,
            });
        }
        self.body_len = body_len;
        Ok(State::Data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; returns the body and bytes consumed.
    fn decode_in_steps(
        input: &[u8],
        step: usize,
        max: u64,
    ) -> Result<(Vec<u8>, usize, bool), ChunkedError> {
        let mut decoder = ChunkedDecoder::new(max);
        let mut body = Vec::new();
        let mut consumed = 0;
        while consumed < input.len() && !decoder.is_done() {
            let end = (consumed + step).min(input.len());
            consumed += decoder.decode_into(&input[consumed..end], &mut body)?;
        }
        Ok((body, consumed, decoder.is_done()))
    }

    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ChunkedError> {
        decode_in_steps(input, input.len().max(1), 0)
    }

    fn refusal(input: &[u8]) -> Option<ChunkedError> {
        decode_all(input).err()
    }

    #[test]
    fn obs8_body_with_extension_decodes() {
        let input = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\nGET / HTTP/1.0\r\n";
        let (body, consumed, done) = decode_all(input).expect("valid chunked body");
        assert_eq!(body, b"hello world");
        assert!(done);
        assert_eq!(&input[consumed..], b"GET / HTTP/1.0\r\n");
    }

    #[test]
    fn every_split_point_gives_the_same_body() {
        let input = b"3;a=b\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";
        for step in 1..input.len() {
            let (body, consumed, done) =
                decode_in_steps(input, step, 0).expect("valid chunked body");
            assert_eq!(body, b"abc0123456789", "step {step}");
            assert_eq!(consumed, input.len(), "step {step}");
            assert!(done, "step {step}");
        }
    }

    #[test]
    fn decode_hands_out_input_slices() {
        let mut decoder = ChunkedDecoder::new(0);
        let input = b"4\r\nwxyz\r\n0\r\n\r\n";
        let first = decoder.decode(input).expect("valid chunk");
        assert_eq!(
            (first.consumed, first.data, first.done),
            (7, &b"wxyz"[..], false)
        );
        let rest = decoder.decode(&input[first.consumed..]).expect("valid end");
        assert_eq!((rest.consumed, rest.data, rest.done), (7, &b""[..], true));
        assert_eq!(decoder.body_len(), 4);
        let after = decoder.decode(b"next").expect("done decoder");
        assert_eq!((after.consumed, after.done), (0, true));
    }

    #[test]
    fn empty_body_and_uppercase_hex_and_leading_zeros() {
        assert_eq!(decode_all(b"0\r\n\r\n").map(|r| r.0), Ok(Vec::new()));
        let (body, _, _) = decode_all(b"00A\r\n0123456789\r\n000\r\n\r\n").expect("valid");
        assert_eq!(body.len(), 10);
    }

    #[test]
    fn whitespace_before_extension_or_crlf_is_tolerated() {
        assert!(decode_all(b"1 ;x\r\na\r\n0\t\r\n\r\n").is_ok());
    }

    #[test]
    fn trailers_are_consumed_and_dropped() {
        let input = b"1\r\na\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\nrest";
        let (body, consumed, done) = decode_all(input).expect("valid chunked body");
        assert_eq!((body.as_slice(), done), (&b"a"[..], true));
        assert_eq!(&input[consumed..], b"rest");
    }

    #[test]
    fn final_crlf_is_awaited() {
        let (_, consumed, done) = decode_all(b"0\r\n").expect("valid so far");
        assert_eq!((consumed, done), (3, false));
    }

    #[test]
    fn attack_negative_chunk_size() {
        assert_eq!(
            refusal(b"-5\r\nhello\r\n"),
            Some(ChunkedError::InvalidChunkSize)
        );
    }

    #[test]
    fn attack_garbage_chunk_size() {
        for input in [
            &b"z\r\n"[..],
            b"0x10\r\n",
            b"\r\n",
            b";ext\r\n",
            b" 5\r\n",
            b"5 x\r\n",
        ] {
            assert_eq!(
                refusal(input),
                Some(ChunkedError::InvalidChunkSize),
                "{input:?}"
            );
        }
    }

    #[test]
    fn attack_chunk_size_overflow() {
        assert_eq!(
            refusal(b"10000000000000000\r\n"),
            Some(ChunkedError::ChunkSizeOverflow)
        );
        assert!(decode_in_steps(b"FFFFFFFFFFFFFFFF\r\n", 64, 0).is_ok());
    }

    #[test]
    fn attack_oversized_chunk_size_hex_of_zeros() {
        let mut input = vec![b'0'; MAX_CHUNK_LINE_BYTES + 1];
        input.extend_from_slice(b"1\r\n");
        assert_eq!(refusal(&input), Some(ChunkedError::ChunkLineTooLong));
    }

    #[test]
    fn attack_huge_extension_on_one_line() {
        let mut input = b"1;".to_vec();
        input.resize(MAX_CHUNK_LINE_BYTES + 10, b'x');
        assert_eq!(refusal(&input), Some(ChunkedError::ChunkLineTooLong));
    }

    #[test]
    fn attack_many_small_chunks_with_extensions() {
        let line = format!("1;{}\r\na\r\n", "e".repeat(1000));
        let input = line.repeat(MAX_CHUNK_EXTENSION_BYTES / 1000 + 1);
        assert_eq!(
            refusal(input.as_bytes()),
            Some(ChunkedError::ExtensionsTooLarge)
        );
    }

    #[test]
    fn attack_missing_crlf_after_data() {
        assert_eq!(
            refusal(b"5\r\nhello5\r\nworld\r\n0\r\n\r\n"),
            Some(ChunkedError::MissingDataCrlf)
        );
        assert_eq!(refusal(b"1\r\nab\r\n"), Some(ChunkedError::MissingDataCrlf));
        assert_eq!(refusal(b"1\r\na\rX"), Some(ChunkedError::MissingDataCrlf));
    }

    #[test]
    fn attack_bare_lf_line_endings() {
        assert_eq!(refusal(b"5\nhello\r\n"), Some(ChunkedError::BareLf));
        assert_eq!(refusal(b"5;x\nhello\r\n"), Some(ChunkedError::BareLf));
        assert_eq!(refusal(b"0\r\nX: y\n\r\n"), Some(ChunkedError::BareLf));
        assert_eq!(refusal(b"1\r\na\n"), Some(ChunkedError::MissingDataCrlf));
        assert_eq!(refusal(b"0\r\n\n"), Some(ChunkedError::BareLf));
    }

    #[test]
    fn attack_bare_cr_line_endings() {
        assert_eq!(refusal(b"5\rhello"), Some(ChunkedError::BareCr));
        assert_eq!(refusal(b"5;a\r\r\nhello"), Some(ChunkedError::BareCr));
        assert_eq!(refusal(b"0\r\n\rX"), Some(ChunkedError::BareCr));
    }

    #[test]
    fn attack_endless_trailers() {
        let mut input = b"0\r\n".to_vec();
        while input.len() < 2 * MAX_TRAILER_BYTES {
            input.extend_from_slice(b"X-Pad: 0123456789\r\n");
        }
        assert_eq!(refusal(&input), Some(ChunkedError::TrailersTooLarge));
    }

    #[test]
    fn svc7_body_size_limit_checked_on_announced_size() {
        assert_eq!(
            decode_in_steps(b"6\r\n", 16, 5).err(),
            Some(ChunkedError::BodyTooLarge { limit: 5 })
        );
        let at_limit = decode_in_steps(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 64, 5);
        assert_eq!(at_limit.map(|r| r.0), Ok(b"abcde".to_vec()));
        assert_eq!(
            decode_in_steps(b"3\r\nabc\r\n3\r\n", 64, 5).err(),
            Some(ChunkedError::BodyTooLarge { limit: 5 })
        );
        assert!(decode_in_steps(b"FFFFFFFF\r\n", 64, 0).is_ok());
    }

    #[test]
    fn attack_total_size_overflow_across_chunks() {
        let mut decoder = ChunkedDecoder::new(0);
        let mut sink = Vec::new();
        let first = b"FFFFFFFFFFFFFFFF\r\n";
        assert_eq!(decoder.decode_into(first, &mut sink), Ok(first.len()));
        decoder.size = 0;
        decoder.state = State::DataCr;
        assert_eq!(
            decoder.decode_into(b"\r\n1\r\n", &mut sink),
            Err(ChunkedError::ChunkSizeOverflow)
        );
    }
}
