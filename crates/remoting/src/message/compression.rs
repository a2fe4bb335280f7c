//! Body compression: zlib, LZ4 frame and zstd, selected by the sysFlag type bits.

use std::cell::RefCell;
use std::io::{Read, Write};

use flate2::{Decompress, FlushDecompress, Status};

use super::sysflag;
use crate::error::CodecError;

/// The compression algorithm of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    /// zlib-wrapped deflate (RFC 1950), type bits 0 or 3.
    Zlib,
    /// LZ4 frame format, type bits 1.
    Lz4,
    /// zstd frame, type bits 2.
    Zstd,
}

impl CompressionType {
    /// The type named by a sysFlag. Type 0 means zlib, as older producers wrote no type.
    pub fn from_sys_flag(sys_flag: i32) -> Result<Self, CodecError> {
        let bits = ((sys_flag & sysflag::COMPRESSION_TYPE_MASK) >> 8) as u32;
        match bits {
            0 | 3 => Ok(CompressionType::Zlib),
            1 => Ok(CompressionType::Lz4),
            2 => Ok(CompressionType::Zstd),
            other => Err(CodecError::UnknownCompression(other)),
        }
    }

    /// The sysFlag bits a producer sets for this type (besides [`sysflag::COMPRESSED`]).
    pub fn sys_flag_bits(self) -> i32 {
        match self {
            CompressionType::Zlib => sysflag::COMPRESSION_ZLIB,
            CompressionType::Lz4 => sysflag::COMPRESSION_LZ4,
            CompressionType::Zstd => sysflag::COMPRESSION_ZSTD,
        }
    }

    fn name(self) -> &'static str {
        match self {
            CompressionType::Zlib => "zlib",
            CompressionType::Lz4 => "lz4",
            CompressionType::Zstd => "zstd",
        }
    }
}

/// Reads `reader` to the end into `out`, failing once more than `limit` bytes come out, so
/// a small malicious body cannot expand without bound.
fn read_limited<R: Read>(
    reader: R,
    algorithm: CompressionType,
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(out)
        .map_err(|e| CodecError::Decompress {
            algorithm: algorithm.name(),
            message: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(CodecError::Decompress {
            algorithm: algorithm.name(),
            message: format!("output exceeds the limit of {limit} bytes"),
        });
    }
    Ok(())
}

/// A scratch buffer that keeps more than this after a body is let go of, so that one huge
/// body does not pin its size on the thread for good.
const SCRATCH_KEPT: usize = 1 << 20;

thread_local! {
    // Bodies are inflated here and then copied out at their exact size. Inflating straight
    // into the body's own Vec grew it by doubling from a guess (compressed bodies of
    // repetitive data shrink 100x and more): each step a fresh allocation and copy, and the
    // last one left up to half of it unused, held in the consumer's cache for as long as the
    // message waited (bench/findings.md).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Decompresses `data`, producing at most `limit` bytes, into a Vec of exactly its size.
pub fn decompress(
    algorithm: CompressionType,
    data: &[u8],
    limit: usize,
) -> Result<Vec<u8>, CodecError> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            scratch.clear();
            let result =
                decompress_into(algorithm, data, limit, &mut scratch).map(|()| scratch.to_vec());
            if scratch.capacity() > SCRATCH_KEPT {
                *scratch = Vec::new();
            }
            result
        }
        // Re-entered on this thread (not expected): a buffer of its own.
        Err(_) => {
            let mut out = Vec::new();
            decompress_into(algorithm, data, limit, &mut out)?;
            out.shrink_to_fit();
            Ok(out)
        }
    })
}

/// Decompresses `data` onto the end of the empty `out`, producing at most `limit` bytes.
fn decompress_into(
    algorithm: CompressionType,
    data: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    match algorithm {
        CompressionType::Zlib => inflate_zlib(data, limit, out),
        CompressionType::Lz4 => read_limited(
            lz4_flex::frame::FrameDecoder::new(data),
            algorithm,
            limit,
            out,
        ),
        CompressionType::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| {
                CodecError::Decompress {
                    algorithm: algorithm.name(),
                    message: e.to_string(),
                }
            })?;
            read_limited(decoder, algorithm, limit, out)
        }
    }
}

thread_local! {
    // An inflate state is ~40 KiB to set up; pull bodies hold many small compressed
    // messages, so each thread keeps one and resets it per body.
    static ZLIB_STATE: RefCell<Decompress> = RefCell::new(Decompress::new(true));
}

fn zlib_error(message: impl ToString) -> CodecError {
    CodecError::Decompress {
        algorithm: "zlib",
        message: message.to_string(),
    }
}

fn inflate_zlib(data: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), CodecError> {
    ZLIB_STATE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut state) => inflate_zlib_with(&mut state, data, limit, out),
        Err(_) => inflate_zlib_with(&mut Decompress::new(true), data, limit, out),
    })
}

fn inflate_zlib_with(
    state: &mut Decompress,
    data: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    state.reset(true);
    // FlushDecompress::None throughout: with Finish on the first call miniz_oxide wants
    // the whole output to fit the buffer at once.
    // One byte over the limit is enough to know the limit was exceeded.
    let hard_cap = limit.saturating_add(1);
    // A reused scratch buffer already has room; a fresh one starts from a guess.
    if out.capacity() == 0 {
        out.reserve_exact(data.len().saturating_mul(4).clamp(64, hard_cap));
    }
    loop {
        if out.len() == out.capacity() {
            if out.len() >= hard_cap {
                return Err(zlib_error(format!(
                    "output exceeds the limit of {limit} bytes"
                )));
            }
            let grow = out.len().max(64).min(hard_cap - out.len());
            out.reserve_exact(grow);
        }
        // decompress_vec writes only into the spare capacity up to the hard cap.
        let consumed = usize::try_from(state.total_in()).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or(&[]);
        let before = (state.total_in(), state.total_out());
        let status = state
            .decompress_vec(input, out, FlushDecompress::None)
            .map_err(zlib_error)?;
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                let stalled = (state.total_in(), state.total_out()) == before;
                if stalled && out.len() < out.capacity() {
                    return Err(zlib_error("unexpected end of stream"));
                }
            }
        }
    }
    if out.len() > limit {
        return Err(zlib_error(format!(
            "output exceeds the limit of {limit} bytes"
        )));
    }
    Ok(())
}

/// zlib-compresses `data` at `level` (0..=9; the Java producer uses 5).
pub fn compress_zlib(data: &[u8], level: u32) -> Result<Vec<u8>, CodecError> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 16),
        flate2::Compression::new(level.min(9)),
    );
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|e| CodecError::Compress {
            algorithm: "zlib",
            message: e.to_string(),
        })
}

/// LZ4-frame-compresses `data` (for tests and producers that choose LZ4).
pub fn compress_lz4(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(data.len() / 2 + 32));
    encoder.write_all(data).map_err(|e| CodecError::Compress {
        algorithm: "lz4",
        message: e.to_string(),
    })?;
    encoder.finish().map_err(|e| CodecError::Compress {
        algorithm: "lz4",
        message: e.to_string(),
    })
}

/// zstd-compresses `data` with the pure-Rust encoder (fastest level; for tests and
/// producers that choose zstd).
pub fn compress_zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}
