//! Upload payloads and their checksums: a table-driven CRC-32 (IEEE 802.3, as zlib computes it)
//! and a deterministic pseudo-random byte stream, so a test can send 100 MiB and the backend can
//! verify it without either side holding it in memory.

/// The CRC-32 lookup table for the reflected polynomial 0xEDB88320.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// Streaming CRC-32.
#[derive(Clone, Debug)]
pub struct Crc32 {
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Crc32 {
        Crc32 { state: 0xFFFF_FFFF }
    }
}

impl Crc32 {
    pub fn new() -> Crc32 {
        Crc32::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = self.state;
        for &b in bytes {
            c = TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
        }
        self.state = c;
    }

    pub fn finish(&self) -> u32 {
        self.state ^ 0xFFFF_FFFF
    }
}

/// CRC-32 of a whole buffer.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

/// A deterministic byte stream (xorshift64*), independent of how it is cut into buffers.
#[derive(Clone, Debug)]
pub struct Pattern {
    state: u64,
    left: u64,
    word: [u8; 8],
    used: usize,
}

impl Pattern {
    /// `len` bytes derived from `seed`.
    pub fn new(seed: u64, len: u64) -> Pattern {
        Pattern {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            left: len,
            word: [0; 8],
            used: 8,
        }
    }

    fn next_word(&mut self) -> [u8; 8] {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes()
    }

    /// Fills `buf` with the next bytes; returns how many (0 when the stream is done).
    pub fn fill(&mut self, buf: &mut [u8]) -> usize {
        let n = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let mut i = 0;
        while i < n {
            if self.used == 8 {
                if n - i >= 8 {
                    let w = self.next_word();
                    buf[i..i + 8].copy_from_slice(&w);
                    i += 8;
                    continue;
                }
                self.word = self.next_word();
                self.used = 0;
            }
            buf[i] = self.word[self.used];
            self.used += 1;
            i += 1;
        }
        self.left -= n as u64;
        n
    }

    /// The whole stream in memory (for small payloads).
    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        let n = Pattern::new(seed, len as u64).fill(&mut out);
        debug_assert_eq!(n, len);
        out
    }

    /// CRC-32 of the stream of `len` bytes from `seed`, without keeping it.
    pub fn crc32(seed: u64, len: u64) -> u32 {
        let mut p = Pattern::new(seed, len);
        let mut c = Crc32::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = p.fill(&mut buf);
            if n == 0 {
                return c.finish();
            }
            c.update(&buf[..n]);
        }
    }
}
