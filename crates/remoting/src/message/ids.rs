//! Message ids: the broker's offsetMsgId and the producer's UNIQ_KEY.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::CodecError;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 0x0F)]));
    }
}

fn push_ip(out: &mut String, ip: &IpAddr) {
    match ip {
        IpAddr::V4(v4) => push_hex(out, &v4.octets()),
        IpAddr::V6(v6) => push_hex(out, &v6.octets()),
    }
}

/// The broker's message id: uppercase hex of store IP (4 or 16 bytes) + store port (i32)
/// + commit-log offset (i64). 32 characters for IPv4, 56 for IPv6.
pub fn offset_msg_id(store_host: &SocketAddr, commit_log_offset: i64) -> String {
    let mut out = String::with_capacity(56);
    push_ip(&mut out, &store_host.ip());
    push_hex(&mut out, &i32::from(store_host.port()).to_be_bytes());
    push_hex(&mut out, &commit_log_offset.to_be_bytes());
    out
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(hex_value(pair[0])? << 4 | hex_value(pair[1])?))
        .collect()
}

/// Splits an offsetMsgId back into store address and commit-log offset.
pub fn decode_offset_msg_id(msg_id: &str) -> Result<(SocketAddr, i64), CodecError> {
    let invalid = || CodecError::invalid("offsetMsgId", msg_id);
    let bytes = parse_hex(msg_id).ok_or_else(invalid)?;
    let ip_len = match bytes.len() {
        16 => 4,
        28 => 16,
        _ => return Err(invalid()),
    };
    let (ip_bytes, rest) = bytes.split_at(ip_len);
    let ip = match ip_bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(
            <[u8; 4]>::try_from(ip_bytes).map_err(|_| invalid())?,
        )),
        _ => IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(ip_bytes).map_err(|_| invalid())?,
        )),
    };
    let (port_bytes, offset_bytes) = rest.split_at(4);
    let port = i32::from_be_bytes(port_bytes.try_into().map_err(|_| invalid())?);
    let offset = i64::from_be_bytes(offset_bytes.try_into().map_err(|_| invalid())?);
    let port = u16::try_from(port).map_err(|_| invalid())?;
    Ok((SocketAddr::new(ip, port), offset))
}

/// Milliseconds since the epoch of the first instant of the UTC month containing `now_ms`.
fn start_of_month_utc(now_ms: i64) -> i64 {
    const DAY_MS: i64 = 86_400_000;
    let days = now_ms.div_euclid(DAY_MS);
    // Civil date from day count (Howard Hinnant's algorithm), to find the day of month.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = doy - (153 * mp + 2) / 5 + 1;
    (days - (day_of_month - 1)) * DAY_MS
}

/// Generates UNIQ_KEY values in the Java producer's layout: client IP (4 or 16 bytes) +
/// pid (2 bytes) + a per-process random word (4 bytes, where Java puts its class-loader
/// hash) + milliseconds since the start of the month (4 bytes) + counter (2 bytes), as
/// uppercase hex: 32 characters for IPv4.
///
/// The month starts at UTC midnight here (Java uses the local zone); only admin tools that
/// guess a send time from the id can tell.
#[derive(Debug)]
pub struct UniqIdGenerator {
    prefix: String,
    counter: AtomicU16,
}

impl UniqIdGenerator {
    /// A generator for a client on `ip` in process `pid`.
    pub fn new(ip: IpAddr, pid: u32) -> Self {
        let mut random = RandomState::new().build_hasher();
        random.write_u32(pid);
        let salt = random.finish() as u32;
        Self::with_salt(ip, pid, salt)
    }

    /// A generator with a fixed random word, for reproducible ids in tests.
    pub fn with_salt(ip: IpAddr, pid: u32, salt: u32) -> Self {
        let mut prefix = String::with_capacity(56);
        push_ip(&mut prefix, &ip);
        // Java keeps the low 16 bits of the pid.
        push_hex(&mut prefix, &(pid as u16).to_be_bytes());
        push_hex(&mut prefix, &salt.to_be_bytes());
        Self {
            prefix,
            counter: AtomicU16::new(0),
        }
    }

    /// The next id at wall-clock time `now_ms`.
    pub fn next_at(&self, now_ms: i64) -> String {
        let since_month = now_ms.saturating_sub(start_of_month_utc(now_ms)) as i32;
        let count = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = String::with_capacity(self.prefix.len() + 12);
        id.push_str(&self.prefix);
        push_hex(&mut id, &since_month.to_be_bytes());
        push_hex(&mut id, &count.to_be_bytes());
        id
    }

    /// The next id at the current time.
    pub fn next_id(&self) -> String {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.next_at(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_start() {
        // 2024-02-29T12:34:56.789Z → 2024-02-01T00:00:00Z
        assert_eq!(start_of_month_utc(1_709_210_096_789), 1_706_745_600_000);
        // exactly the first instant of a month
        assert_eq!(start_of_month_utc(1_706_745_600_000), 1_706_745_600_000);
        // 1970-01-01
        assert_eq!(start_of_month_utc(5), 0);
    }
}
