//! Byte-level writers for the corpus: integers, hex ids, timestamps and JSON strings written
//! straight into a reused buffer. The generator writes hundreds of megabytes per second, so
//! nothing here allocates or goes through `fmt`.

const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal digits of `n`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    // Two digits at a time: integers are a good part of every line.
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i] = PAIRS[d];
        buf[i + 1] = PAIRS[d + 1];
    }
    if n >= 10 {
        let d = n as usize * 2;
        i -= 2;
        buf[i] = PAIRS[d];
        buf[i + 1] = PAIRS[d + 1];
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` with at least `width` digits, zero-padded.
pub(crate) fn push_u64_pad(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = 1;
    let mut m = n / 10;
    while m > 0 {
        digits += 1;
        m /= 10;
    }
    for _ in digits..width {
        out.push(b'0');
    }
    push_u64(out, n);
}

/// Appends `value / 10^decimals` with exactly `decimals` decimals (`push_fixed(out, 12345, 3)`
/// writes `12.345`).
pub(crate) fn push_fixed(out: &mut Vec<u8>, value: u64, decimals: u32) {
    let scale = 10u64.pow(decimals);
    push_u64(out, value / scale);
    if decimals > 0 {
        out.push(b'.');
        push_u64_pad(out, value % scale, decimals as usize);
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the low `digits` hex digits of `v` (at most 16), most significant first.
pub(crate) fn push_hex(out: &mut Vec<u8>, v: u64, digits: usize) {
    let digits = digits.min(16);
    for i in (0..digits).rev() {
        out.push(HEX[((v >> (i * 4)) & 0xf) as usize]);
    }
}

/// The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
pub(crate) const K8S_ALPHABET: &[u8; 27] = b"bcdfghjklmnpqrstvwxz2456789";

/// Appends `len` characters of the Kubernetes suffix alphabet drawn from `v`.
pub(crate) fn push_k8s_suffix(out: &mut Vec<u8>, mut v: u64, len: usize) {
    for _ in 0..len {
        out.push(K8S_ALPHABET[(v % 27) as usize]);
        v /= 27;
    }
}

/// Appends `s` as a JSON string literal (quotes included), escaping as RFC 8259 requires.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    push_json_escaped(out, s);
    out.push(b'"');
}

/// Appends the JSON escape of `s` without quotes. Bytes >= 0x80 pass through, so valid
/// UTF-8 stays valid UTF-8.
pub(crate) fn push_json_escaped(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            push_hex(out, u64::from(b), 2);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends `s` as a Prometheus/LogQL label value literal (Go `strconv.Quote` for the
/// characters that occur in label values: quote, backslash, newline).
pub(crate) fn push_label_value(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Appends a duration as Go's `time.Duration.String` prints it (`845.2µs`, `12.345678ms`,
/// `1.5s`): Go services print durations that way in logfmt.
pub(crate) fn push_go_duration(out: &mut Vec<u8>, ns: u64) {
    let (unit, scale, digits): (&[u8], u64, usize) = if ns < 1_000 {
        push_u64(out, ns);
        out.extend_from_slice(b"ns");
        return;
    } else if ns < 1_000_000 {
        ("µs".as_bytes(), 1_000, 3)
    } else if ns < 1_000_000_000 {
        (b"ms", 1_000_000, 6)
    } else {
        (b"s", 1_000_000_000, 9)
    };
    push_u64(out, ns / scale);
    let frac = ns % scale;
    if frac > 0 {
        out.push(b'.');
        let start = out.len();
        push_u64_pad(out, frac, digits);
        while out.len() > start && out.last() == Some(&b'0') {
            out.pop();
        }
    }
    out.extend_from_slice(unit);
}

/// A UTC calendar time, from seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

impl Civil {
    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, any year).
    pub(crate) fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The formatted forms of one second, rebuilt only when the second changes: a stream writes
/// many lines per second and the calendar arithmetic would otherwise dominate.
#[derive(Debug, Clone)]
pub(crate) struct TimeCache {
    sec: i64,
    /// `2026-12-04T10:00:00`
    iso: [u8; 19],
    /// `04/Dec/2026:10:00:00 +0000`
    nginx: [u8; 26],
    /// `2026/12/04 10:00:00`
    slashed: [u8; 19],
}

impl Default for TimeCache {
    fn default() -> Self {
        TimeCache {
            sec: i64::MIN,
            iso: [b'0'; 19],
            nginx: [b'0'; 26],
            slashed: [b'0'; 19],
        }
    }
}

fn two(buf: &mut [u8], at: usize, v: u32) {
    buf[at] = b'0' + (v / 10 % 10) as u8;
    buf[at + 1] = b'0' + (v % 10) as u8;
}

fn four(buf: &mut [u8], at: usize, v: i64) {
    let v = v.rem_euclid(10_000) as u32;
    two(buf, at, v / 100);
    two(buf, at + 2, v % 100);
}

impl TimeCache {
    fn set(&mut self, ts_ns: i64) {
        let sec = ts_ns.div_euclid(1_000_000_000);
        if sec == self.sec {
            return;
        }
        self.sec = sec;
        let c = Civil::from_unix(sec);
        let iso = &mut self.iso;
        four(iso, 0, c.year);
        iso[4] = b'-';
        two(iso, 5, c.month);
        iso[7] = b'-';
        two(iso, 8, c.day);
        iso[10] = b'T';
        two(iso, 11, c.hour);
        iso[13] = b':';
        two(iso, 14, c.minute);
        iso[16] = b':';
        two(iso, 17, c.second);
        let ng = &mut self.nginx;
        two(ng, 0, c.day);
        ng[2] = b'/';
        ng[3..6].copy_from_slice(MONTHS[(c.month - 1) as usize]);
        ng[6] = b'/';
        four(ng, 7, c.year);
        ng[11] = b':';
        ng[12..20].copy_from_slice(&iso[11..19]);
        ng[20..26].copy_from_slice(b" +0000");
        let sl = &mut self.slashed;
        sl.copy_from_slice(iso);
        sl[4] = b'/';
        sl[7] = b'/';
        sl[10] = b' ';
    }

    /// `2026-12-04T10:00:00Z`
    pub(crate) fn push_iso_s(&mut self, out: &mut Vec<u8>, ts_ns: i64) {
        self.set(ts_ns);
        out.extend_from_slice(&self.iso);
        out.push(b'Z');
    }

    /// `2026-12-04T10:00:00.123Z`
    pub(crate) fn push_iso_ms(&mut self, out: &mut Vec<u8>, ts_ns: i64) {
        self.set(ts_ns);
        out.extend_from_slice(&self.iso);
        out.push(b'.');
        push_u64_pad(out, (ts_ns.rem_euclid(1_000_000_000) / 1_000_000) as u64, 3);
        out.push(b'Z');
    }

    /// `2026-12-04T10:00:00.123456Z`
    pub(crate) fn push_iso_us(&mut self, out: &mut Vec<u8>, ts_ns: i64) {
        self.set(ts_ns);
        out.extend_from_slice(&self.iso);
        out.push(b'.');
        push_u64_pad(out, (ts_ns.rem_euclid(1_000_000_000) / 1_000) as u64, 6);
        out.push(b'Z');
    }

    /// `2026-12-04T10:00:00.123456789Z`
    pub(crate) fn push_iso_ns(&mut self, out: &mut Vec<u8>, ts_ns: i64) {
        self.set(ts_ns);
        out.extend_from_slice(&self.iso);
        out.push(b'.');
        push_u64_pad(out, ts_ns.rem_euclid(1_000_000_000) as u64, 9);
        out.push(b'Z');
    }

    /// `2026-12-04T10:00:00.123+00:00` (Grafana's own log format)
    pub(crate) fn push_iso_ms_offset(&mut self, out: &mut Vec<u8>, ts_ns: i64) {
        self.set(ts_ns);
        out.extend_from_slice(&self.iso);
        out.push(b'.');
        push_u64_pad(out, (ts_ns.rem_euclid(1_000_000_000) / 1_000_000) as u64, 3);
        out.extend_from_slice(b"+00:00");
    }

    /// `04/Dec/2026:10:00:00 +0000` (nginx `$time_local` in UTC)
    pub(crate) fn push_nginx(&mut self, out: &mut Vec<u8>, ts_ns: i64) {
        self.set(ts_ns);
        out.extend_from_slice(&self.nginx);
    }

    /// `2026/12/04 10:00:00` (nginx error log)
    pub(crate) fn push_slashed(&mut self, out: &mut Vec<u8>, ts_ns: i64) {
        self.set(ts_ns);
        out.extend_from_slice(&self.slashed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).expect("ascii")
    }

    #[test]
    fn integers_and_hex() {
        assert_eq!(s(|o| push_u64(o, 0)), "0");
        assert_eq!(s(|o| push_u64(o, u64::MAX)), "18446744073709551615");
        for n in [1, 9, 10, 99, 100, 101, 999, 1000, 12_345, 987_654_321] {
            assert_eq!(s(|o| push_u64(o, n)), n.to_string());
        }
        assert_eq!(s(|o| push_u64_pad(o, 7, 3)), "007");
        assert_eq!(s(|o| push_u64_pad(o, 1234, 3)), "1234");
        assert_eq!(s(|o| push_fixed(o, 12_345, 3)), "12.345");
        assert_eq!(s(|o| push_fixed(o, 5, 3)), "0.005");
        assert_eq!(s(|o| push_fixed(o, 42, 0)), "42");
        assert_eq!(s(|o| push_hex(o, 0xdead_beef, 8)), "deadbeef");
        assert_eq!(s(|o| push_hex(o, 0xab, 4)), "00ab");
    }

    #[test]
    fn json_escaping_round_trips_through_serde() {
        let raw = "a\"b\\c\nd\te\u{1}f é";
        let lit = s(|o| push_json_str(o, raw.as_bytes()));
        let back: String = serde_json::from_str(&lit).expect("valid JSON string");
        assert_eq!(back, raw);
        assert_eq!(lit, "\"a\\\"b\\\\c\\nd\\te\\u0001f é\"");
    }

    #[test]
    fn civil_dates_match_known_days() {
        // 2000-03-01 00:00:00 UTC = 951868800; 2024-02-29 23:59:59 = 1709251199.
        let c = Civil::from_unix(951_868_800);
        assert_eq!((c.year, c.month, c.day, c.hour), (2000, 3, 1, 0));
        let c = Civil::from_unix(1_709_251_199);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2024, 2, 29, 23, 59, 59)
        );
        let c = Civil::from_unix(0);
        assert_eq!((c.year, c.month, c.day), (1970, 1, 1));
    }

    #[test]
    fn timestamp_forms() {
        // 2024-02-29T23:59:59.123456789Z
        let ts = 1_709_251_199_123_456_789;
        let mut tc = TimeCache::default();
        assert_eq!(s(|o| tc.push_iso_ms(o, ts)), "2024-02-29T23:59:59.123Z");
        assert_eq!(s(|o| tc.push_iso_us(o, ts)), "2024-02-29T23:59:59.123456Z");
        assert_eq!(
            s(|o| tc.push_iso_ns(o, ts)),
            "2024-02-29T23:59:59.123456789Z"
        );
        assert_eq!(s(|o| tc.push_nginx(o, ts)), "29/Feb/2024:23:59:59 +0000");
        assert_eq!(s(|o| tc.push_slashed(o, ts)), "2024/02/29 23:59:59");
        // The next second rebuilds the cache.
        assert_eq!(
            s(|o| tc.push_nginx(o, ts + 1_000_000_000)),
            "01/Mar/2024:00:00:00 +0000"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(s(|o| push_go_duration(o, 512)), "512ns");
        assert_eq!(s(|o| push_go_duration(o, 845_200)), "845.2µs");
        assert_eq!(s(|o| push_go_duration(o, 12_345_678)), "12.345678ms");
        assert_eq!(s(|o| push_go_duration(o, 3_000_000)), "3ms");
        assert_eq!(s(|o| push_go_duration(o, 1_500_000_000)), "1.5s");
    }

    #[test]
    fn label_values_are_quoted_like_go() {
        assert_eq!(s(|o| push_label_value(o, "a\"b\\c")), "\"a\\\"b\\\\c\"");
    }
}
