//! `BloomFilter`: a bitmap in a STRING key of its own, sized from a capacity and an error
//! rate; the client hashes, the server only sets and reads bits (`BITFIELD`). Built on
//! the plug-in trait.

use std::marker::PhantomData;

use super::structure::{Storage, Stored, Structure, StructureRef};
use crate::codec::Element;
use crate::error::{Error, Result};
use crate::exec::Pending;

/// A Bloom filter of items `T` for `CAPACITY` items at a false-positive rate of
/// `ERROR_PPM` parts per million (1,000 = 0.1 %), in a Redis STRING key of its own.
///
/// Sized as usual: `m = ⌈−n·ln p / ln²2⌉` bits and `k = round(m/n · ln 2)` hashes. Each
/// item's `k` bit positions come from one 128-bit hash (MurmurHash3 x64-128 of the
/// item's stored bytes, double hashing `h1 + i·h2 mod m`) computed by the client, so the
/// server only sets and reads bits: one `BITFIELD` per call, however many items.
/// `CAPACITY = 0` and `ERROR_PPM` outside `1..1_000_000` do not compile. Adding past the
/// capacity is allowed; [`BloomRef::saturation`] says how full the filter is.
///
/// Only its atomic operations change it: a `save` of an existing document leaves the
/// stored bits alone (a stale copy cannot forget items); a load reads the bitmap (m/8
/// bytes) with the document, and [`BloomFilter::might_contain`] answers from that copy.
///
/// ```no_run
/// # #[cfg(feature = "blocking")] fn main() -> rapyer::Result<()> {
/// use rapyer::sync::prelude::*;
/// use rapyer::BloomFilter;
///
/// #[derive(Model, Debug, Clone)]
/// struct Site { id: Id, seen: BloomFilter<String, 1_000_000, 1_000> }   // 1 M items, 0.1 %
///
/// let mut site = Site { id: Id::new(), seen: BloomFilter::new() };
/// site.sync_insert()?;
/// site.atomic().seen.sync_add("user123".to_owned())?;
/// assert!(Site::at(&site.id).seen.sync_contains("user123".to_owned())?);
/// # Ok(()) }
/// # #[cfg(not(feature = "blocking"))] fn main() {}
/// ```
///
/// ```compile_fail,E0080
/// // a capacity of 0 does not compile
/// let _ = rapyer::BloomFilter::<String, 0, 1_000>::new();
/// ```
///
/// ```compile_fail,E0080
/// // an error rate of 100 %
/// let _ = rapyer::BloomFilter::<String, 100, 1_000_000>::new();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BloomFilter<T, const CAPACITY: u64, const ERROR_PPM: u32> {
    /// The bitmap as loaded (bit 0 is the most significant bit of byte 0, as `BITFIELD`
    /// numbers them); `None`: no key.
    bits: Option<Vec<u8>>,
    _t: PhantomData<fn(&T)>,
}

/// `m` (bits) and `k` (hashes) for `n` items at error rate `p`.
pub(crate) fn size_for(n: u64, p: f64) -> (u64, u32) {
    let ln2 = std::f64::consts::LN_2;
    let m = (-(n as f64) * p.ln() / (ln2 * ln2)).ceil().max(8.0) as u64;
    let k = ((m as f64 / n as f64) * ln2).round().max(1.0) as u32;
    (m, k)
}

impl<T, const CAPACITY: u64, const ERROR_PPM: u32> BloomFilter<T, CAPACITY, ERROR_PPM> {
    const CHECKED: () = {
        assert!(CAPACITY > 0, "a BloomFilter needs a capacity of at least 1");
        assert!(
            ERROR_PPM > 0 && ERROR_PPM < 1_000_000,
            "a BloomFilter's error rate is 1..1_000_000 parts per million"
        );
    };

    /// An empty filter.
    pub fn new() -> Self {
        let () = Self::CHECKED;
        Self {
            bits: None,
            _t: PhantomData,
        }
    }

    /// The error rate `p` (`ERROR_PPM / 1e6`).
    pub fn error_rate() -> f64 {
        let () = Self::CHECKED;
        f64::from(ERROR_PPM) / 1e6
    }

    /// `(m, k)`: its size in bits and its number of hashes.
    pub fn shape() -> (u64, u32) {
        size_for(CAPACITY, Self::error_rate())
    }

    /// Whether the loaded copy may hold `item` (false: it surely does not).
    pub fn might_contain(&self, item: &T) -> Result<bool>
    where
        T: Element,
    {
        let bits = match &self.bits {
            Some(b) => b,
            None => return Ok(false),
        };
        let bytes = item.encode_element().map_err(Error::InvalidInput)?;
        Ok(positions(&bytes, Self::shape()).into_iter().all(|at| {
            let byte = (at / 8) as usize;
            bits.get(byte).is_some_and(|b| b & (0x80 >> (at % 8)) != 0)
        }))
    }
}

impl<T, const CAPACITY: u64, const ERROR_PPM: u32> Default for BloomFilter<T, CAPACITY, ERROR_PPM> {
    fn default() -> Self {
        Self::new()
    }
}

/// The `k` bit positions of an item's stored bytes in a filter of `m` bits.
pub(crate) fn positions(bytes: &[u8], (m, k): (u64, u32)) -> Vec<u64> {
    let (h1, h2) = murmur3_x64_128(bytes, 0);
    (0..u64::from(k))
        .map(|i| h1.wrapping_add(i.wrapping_mul(h2 | 1)) % m)
        .collect()
}

/// MurmurHash3 x64 128-bit (Austin Appleby's reference algorithm), stable on every
/// platform: the two 64-bit halves.
pub(crate) fn murmur3_x64_128(data: &[u8], seed: u64) -> (u64, u64) {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    let fmix = |mut k: u64| {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    };
    let (mut h1, mut h2) = (seed, seed);
    let blocks = data.len() / 16;
    for i in 0..blocks {
        let b = &data[i * 16..i * 16 + 16];
        let mut k1 = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
        let mut k2 = u64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = &data[blocks * 16..];
    let (mut k1, mut k2) = (0u64, 0u64);
    for (i, &b) in tail.iter().enumerate() {
        if i < 8 {
            k1 ^= u64::from(b) << (8 * i);
        } else {
            k2 ^= u64::from(b) << (8 * (i - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    }
    if !tail.is_empty() {
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

/// Atomic operations on a [`BloomFilter`] field: one round trip each (one `BITFIELD`
/// however many items), or part of a pipeline.
pub struct BloomRef<'a, T, const CAPACITY: u64, const ERROR_PPM: u32>(
    StructureRef<'a, BloomFilter<T, CAPACITY, ERROR_PPM>>,
);

impl<T, const C: u64, const P: u32> std::fmt::Debug for BloomRef<'_, T, C, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BloomRef({:?})", self.0)
    }
}

impl<'a, T: Element + Send + 'a, const C: u64, const P: u32> BloomRef<'a, T, C, P> {
    fn bit_positions(
        &self,
        items: impl IntoIterator<Item = T>,
    ) -> std::result::Result<Vec<Vec<u64>>, Error> {
        let shape = BloomFilter::<T, C, P>::shape();
        items
            .into_iter()
            .map(|item| {
                item.encode_element()
                    .map(|bytes| positions(&bytes, shape))
                    .map_err(|reason| Error::Encode {
                        model: self.0.model(),
                        field: self.0.path().to_owned(),
                        reason,
                    })
            })
            .collect()
    }

    /// Adds `item`; whether it was new (some of its bits were unset).
    pub fn add(&self, item: T) -> Pending<'a, bool> {
        map_first(self.add_many([item]))
    }

    /// Adds `items`, in one step; for each, whether it was new. The local copy (from
    /// `model.atomic()`) gets the bits too (a full m/8-byte bitmap from its first add).
    pub fn add_many(&self, items: impl IntoIterator<Item = T>) -> Pending<'a, Vec<bool>> {
        let all = match self.bit_positions(items) {
            Ok(p) => p,
            Err(e) => return self.0.refuse(e),
        };
        if all.is_empty() {
            return self.0.read("EXISTS").finish(|_, _| Ok(Vec::new()));
        }
        // at most 250 subcommands per BITFIELD (Lua unpacks a few thousand values),
        // all in one step
        let mut cmd = self.0.write("BITFIELD").reply_all();
        for (i, at) in all.iter().flatten().enumerate() {
            if i > 0 && i % 250 == 0 {
                cmd = cmd.then("BITFIELD");
            }
            cmd = cmd.arg("SET").arg("u1").arg(*at).arg(1);
        }
        let counts: Vec<usize> = all.iter().map(Vec::len).collect();
        let (m, _) = BloomFilter::<T, C, P>::shape();
        cmd.finish(move |reply, local| {
            let old: Vec<i64> = reply.parse()?;
            if let Some(local) = local {
                let bits = local.bits.get_or_insert_with(Vec::new);
                let len = m.div_ceil(8) as usize;
                if bits.len() < len {
                    bits.resize(len, 0);
                }
                for at in all.iter().flatten() {
                    bits[(*at / 8) as usize] |= 0x80 >> (*at % 8);
                }
            }
            Ok(split(&old, &counts).map(|bits| bits.contains(&0)).collect())
        })
    }

    /// Whether `item` may have been added (false: it surely was not).
    pub fn contains(&self, item: T) -> Pending<'a, bool> {
        map_first(self.contains_many([item]))
    }

    /// [`contains`](Self::contains) for each of `items`, in one step.
    pub fn contains_many(&self, items: impl IntoIterator<Item = T>) -> Pending<'a, Vec<bool>> {
        let all = match self.bit_positions(items) {
            Ok(p) => p,
            Err(e) => return self.0.refuse(e),
        };
        if all.is_empty() {
            return self.0.read("EXISTS").finish(|_, _| Ok(Vec::new()));
        }
        let mut cmd = self.0.read("BITFIELD_RO").reply_all();
        for (i, at) in all.iter().flatten().enumerate() {
            if i > 0 && i % 300 == 0 {
                cmd = cmd.then("BITFIELD_RO");
            }
            cmd = cmd.arg("GET").arg("u1").arg(*at);
        }
        let counts: Vec<usize> = all.iter().map(Vec::len).collect();
        cmd.finish(move |reply, _| {
            let bits: Vec<i64> = reply.parse()?;
            Ok(split(&bits, &counts)
                .map(|bits| bits.iter().all(|&b| b == 1))
                .collect())
        })
    }

    /// How many distinct items it holds, estimated from the bits set:
    /// `−m/k · ln(1 − X/m)`.
    pub fn len_estimate(&self) -> Pending<'a, u64> {
        let (m, k) = BloomFilter::<T, C, P>::shape();
        self.0.read("BITCOUNT").finish(move |reply, _| {
            let set: u64 = reply.parse()?;
            let fill = (set as f64 / m as f64).min(1.0 - 1e-12);
            Ok((-(m as f64) / f64::from(k) * (1.0 - fill).ln()).round() as u64)
        })
    }

    /// The share of its bits that are set (about 0.5 at capacity; false positives grow
    /// as it nears 1).
    pub fn saturation(&self) -> Pending<'a, f64> {
        let (m, _) = BloomFilter::<T, C, P>::shape();
        self.0
            .read("BITCOUNT")
            .finish(move |reply, _| Ok(reply.parse::<u64>()? as f64 / m as f64))
    }

    /// Forgets every item.
    pub fn clear(&self) -> Pending<'a, ()> {
        self.0.write("DEL").finish(|_, local| {
            if let Some(local) = local {
                local.bits = None;
            }
            Ok(())
        })
    }
}

/// The first of a one-item answer.
fn map_first<'a>(p: Pending<'a, Vec<bool>>) -> Pending<'a, bool> {
    crate::exec::map_pending(p, |v| Ok(v.first().copied().unwrap_or(false)))
}

/// `values` cut into runs of `counts`.
fn split<'v>(values: &'v [i64], counts: &'v [usize]) -> impl Iterator<Item = &'v [i64]> {
    let mut at = 0;
    counts.iter().map(move |&n| {
        let run = values.get(at..at + n).unwrap_or(&[]);
        at += n;
        run
    })
}

impl<T: Send + 'static, const C: u64, const P: u32> BloomFilter<T, C, P> {
    /// The standalone Bloom filter named `name` in the current environment: its atomic
    /// handle, as for a field ([`Named`](crate::Named): a write
    /// creates it; a name created as another kind is `Error::WrongKind`).
    pub fn named(name: impl Into<String>) -> BloomRef<'static, T, C, P> {
        <Self as super::named::Named>::named(name)
    }
}

impl<T: Send, const C: u64, const P: u32> Structure for BloomFilter<T, C, P> {
    const STORAGE: Storage = Storage::Bytes;
    const KEEP_ON_SAVE: bool = true;
    type Atomic<'a>
        = BloomRef<'a, T, C, P>
    where
        Self: 'a;

    fn tag() -> String {
        let (m, k) = Self::shape();
        format!("BloomFilter(m={m},k={k})")
    }

    fn atomic(handle: StructureRef<'_, Self>) -> BloomRef<'_, T, C, P> {
        BloomRef(handle)
    }

    fn store(&self) -> std::result::Result<Stored, String> {
        Ok(Stored::Bytes(self.bits.clone()))
    }

    fn load(stored: Stored) -> std::result::Result<Self, String> {
        match stored {
            Stored::Bytes(bits) => Ok(Self {
                bits,
                _t: PhantomData,
            }),
            other => Err(format!("a bloom filter is a string key, not {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::kinds::bloom::{murmur3_x64_128, size_for};

    /// The reference implementation's published values (`MurmurHash3_x64_128` of "hello"
    /// and of the empty input, seed 0).
    #[test]
    fn murmur3_matches_the_reference() {
        assert_eq!(murmur3_x64_128(b"", 0), (0, 0));
        assert_eq!(
            murmur3_x64_128(b"hello", 0),
            (0xcbd8_a7b3_41bd_9b02, 0x5b1e_906a_48ae_1d19)
        );
        assert_eq!(
            murmur3_x64_128(b"The quick brown fox jumps over the lazy dog", 0),
            (0xe34b_bc7b_bc07_1b6c, 0x7a43_3ca9_c49a_9347)
        );
    }

    #[test]
    fn sizes_follow_the_formulas() {
        assert_eq!(size_for(1_000_000, 0.001), (14_377_588, 10));
        assert_eq!(size_for(100_000, 0.01), (958_506, 7));
    }
}
