//! Bounds on what one log request (or one forward message) may make the decoders do.

/// Limits applied while decoding log requests; `0` disables a limit.
///
/// Every decoder of outside bytes checks counts against the bytes left before it allocates,
/// so these bound the work of well-formed but oversized requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogDecodeLimits {
    /// Most bytes a body may decompress to, and most bytes one forward message (or the
    /// decompressed entries of a packed forward message) may take.
    pub max_decoded_bytes: usize,
    /// Most entries (log lines, records) one request or forward message may carry.
    pub max_entries: usize,
    /// Deepest nesting of maps and arrays in a JSON or msgpack record.
    pub max_depth: usize,
    /// Most streams one Loki push request may carry.
    pub max_streams: usize,
}

impl Default for LogDecodeLimits {
    /// 64 MiB decoded (Loki's and the OTLP default), a million entries, depth 64, 100 000
    /// streams.
    fn default() -> Self {
        LogDecodeLimits {
            max_decoded_bytes: 64 << 20,
            max_entries: 1_000_000,
            max_depth: 64,
            max_streams: 100_000,
        }
    }
}

impl LogDecodeLimits {
    /// No limits at all, for trusted input (tests, replays of accepted data).
    pub fn unlimited() -> Self {
        LogDecodeLimits {
            max_decoded_bytes: 0,
            max_entries: 0,
            max_depth: 0,
            max_streams: 0,
        }
    }

    /// `max_decoded_bytes` with 0 read as unlimited.
    pub(crate) fn decoded_cap(&self) -> usize {
        if self.max_decoded_bytes == 0 {
            usize::MAX
        } else {
            self.max_decoded_bytes
        }
    }

    /// `max_depth` with 0 read as unlimited (still bounded by a hard stop far below the
    /// stack size, so that hostile nesting cannot overflow the stack).
    pub(crate) fn depth_cap(&self) -> usize {
        const HARD: usize = 512;
        if self.max_depth == 0 || self.max_depth > HARD {
            HARD
        } else {
            self.max_depth
        }
    }

    /// Fails once `n` entries exceed `max_entries`.
    pub(crate) fn check_entries(&self, n: usize) -> crate::Result<()> {
        if self.max_entries != 0 && n > self.max_entries {
            return Err(crate::WireError::TooManyEntries {
                limit: self.max_entries,
            });
        }
        Ok(())
    }
}
