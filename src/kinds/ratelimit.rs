//! `RateLimiter`: token bucket, exact sliding window (a sorted set) and approximate
//! sliding window (two counters), decided in one script on the server's clock. As a model
//! field (built on the plug-in trait) and per key, standalone (`RateLimiter::keyed`).

use std::marker::PhantomData;
use std::time::Duration;

use redis::Value;

use super::structure::{Storage, Stored, Structure, StructureRef};
use crate::error::{Error, Result};
use crate::exec::Pending;

/// The largest integer a Lua number (a double) holds exactly: every quantity the
/// limiter's script computes stays at or below it.
const EXACT: u64 = 1 << 53;

/// What a rate limiter decided for one call.
///
/// Times are measured by the Redis server's clock (`TIME`), so clients whose clocks
/// disagree still agree on every decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// Whether the call may go ahead (its cost was taken).
    pub allowed: bool,
    /// How many more calls of cost 1 would be allowed right now, after this one.
    pub remaining: u64,
    /// When refused: how long until the same call would be allowed (zero when allowed).
    pub retry_after: Duration,
    /// How long until the limiter is back to its full allowance if nothing else is taken
    /// (zero: it is full).
    pub reset_after: Duration,
}

impl Decision {
    /// The decision from the script's reply `{allowed, remaining, retry µs, reset µs}`.
    fn from_reply(value: Value, context: &str) -> Result<Self> {
        let bad = |v: &Value| crate::error::unexpected(context, v);
        let Value::Array(items) = &value else {
            return Err(bad(&value));
        };
        let mut n = [0u64; 4];
        if items.len() != 4 {
            return Err(bad(&value));
        }
        for (slot, item) in n.iter_mut().zip(items) {
            match item {
                Value::Int(i) if *i >= 0 => *slot = *i as u64,
                _ => return Err(bad(&value)),
            }
        }
        Ok(Self {
            allowed: n[0] == 1,
            remaining: n[1],
            retry_after: Duration::from_micros(n[2]),
            reset_after: Duration::from_micros(n[3]),
        })
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A rate-limiting algorithm and its configuration, as a type:
/// [`TokenBucket`], [`SlidingWindow`] (exact) or [`ApproxWindow`] (approximate).
/// Sealed: the decision runs in rapyer's script.
pub trait Limit: sealed::Sealed + Send + Sync + 'static {
    /// The Redis type of the limiter's key.
    const STORAGE: Storage;

    /// The largest cost one call can have (the burst, or the window's limit): a call
    /// costing more could never pass and is refused before sending.
    fn capacity() -> u64;

    /// The configuration, for messages and type tags (`token_bucket(100/1000ms,20)`).
    fn describe() -> String;

    /// The script's kind letter and three parameters (rates in microseconds).
    #[doc(hidden)]
    fn params() -> (&'static str, u64, u64, u64);
}

/// A token bucket: up to `BURST` calls at once, refilled with `RATE` calls every
/// `PER_MS` milliseconds (continuously, to the microsecond). Over a span `t` of steady
/// demand it allows `BURST + RATE·t/PER_MS` calls.
///
/// Stored in a HASH (`t`: tokens scaled by the period in µs, `at`: when they were
/// counted, `s`: the scale). Zero parameters, and periods or bursts so large that the
/// script's integers would pass 2^53 (`BURST·PER_MS·1000 + RATE`), do not compile.
///
/// ```compile_fail,E0080
/// // a zero rate does not compile
/// let _ = rapyer::RateLimiter::<rapyer::TokenBucket<0, 1_000, 10>>::new();
/// ```
///
/// ```compile_fail,E0080
/// // 10^10 tokens of a second each: 10^19 µs·tokens, beyond 2^53
/// let _ = rapyer::RateLimiter::<rapyer::TokenBucket<10, 1_000, 10_000_000_000>>::new();
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TokenBucket<const RATE: u64, const PER_MS: u64, const BURST: u64>;

/// A sliding window, exact: at most `LIMIT` calls in any `WINDOW_MS` milliseconds.
///
/// Stored in a sorted set with one member per call of the last window (memory grows
/// with `LIMIT`); use [`ApproxWindow`] for large limits. Zero parameters do not compile.
///
/// ```compile_fail,E0080
/// let _ = rapyer::RateLimiter::<rapyer::SlidingWindow<5, 0>>::new();
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SlidingWindow<const LIMIT: u64, const WINDOW_MS: u64>;

/// A sliding window, approximate: `LIMIT` calls per `WINDOW_MS` milliseconds, counted
/// in two fixed windows (this one and the previous one, weighted by how much of it the
/// sliding window still covers), as Cloudflare and Redis' own docs describe it. Constant
/// memory (a HASH of four integers); it allows up to the limit in any window when calls
/// are spread evenly, and errs by at most the previous window's unevenness otherwise.
/// A changed `WINDOW_MS` starts the counts afresh. Zero parameters, and
/// `2·LIMIT·WINDOW_MS·1000` beyond 2^53, do not compile.
///
/// ```compile_fail,E0080
/// // 10^9 calls an hour: 2·10^9·3.6·10^9 beyond 2^53
/// let _ = rapyer::RateLimiter::<rapyer::ApproxWindow<1_000_000_000, 3_600_000>>::new();
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ApproxWindow<const LIMIT: u64, const WINDOW_MS: u64>;

impl<const R: u64, const P: u64, const B: u64> sealed::Sealed for TokenBucket<R, P, B> {}
impl<const L: u64, const W: u64> sealed::Sealed for SlidingWindow<L, W> {}
impl<const L: u64, const W: u64> sealed::Sealed for ApproxWindow<L, W> {}

/// `a·b + c`, or `None` past 2^53 (const: for the configurations' checks).
const fn within(a: u64, b: u64, c: u64) -> bool {
    match a.checked_mul(b) {
        Some(ab) => match ab.checked_add(c) {
            Some(n) => n <= EXACT,
            None => false,
        },
        None => false,
    }
}

impl<const RATE: u64, const PER_MS: u64, const BURST: u64> TokenBucket<RATE, PER_MS, BURST> {
    const CHECKED: () = {
        assert!(
            RATE > 0 && PER_MS > 0 && BURST > 0,
            "a TokenBucket needs RATE, PER_MS and BURST of at least 1"
        );
        assert!(
            PER_MS <= EXACT / 1000 && within(BURST, PER_MS * 1000, RATE),
            "a TokenBucket's BURST·PER_MS·1000 + RATE must stay within 2^53"
        );
    };
}

impl<const LIMIT: u64, const WINDOW_MS: u64> SlidingWindow<LIMIT, WINDOW_MS> {
    const CHECKED: () = {
        assert!(
            LIMIT > 0 && WINDOW_MS > 0,
            "a SlidingWindow needs LIMIT and WINDOW_MS of at least 1"
        );
        assert!(
            WINDOW_MS <= EXACT / 1000,
            "a SlidingWindow's window must stay within 2^53 µs"
        );
    };
}

impl<const LIMIT: u64, const WINDOW_MS: u64> ApproxWindow<LIMIT, WINDOW_MS> {
    const CHECKED: () = {
        assert!(
            LIMIT > 0 && WINDOW_MS > 0,
            "an ApproxWindow needs LIMIT and WINDOW_MS of at least 1"
        );
        assert!(
            WINDOW_MS <= EXACT / 1000 && within(LIMIT, WINDOW_MS * 2000, 0),
            "an ApproxWindow's 2·LIMIT·WINDOW_MS·1000 must stay within 2^53"
        );
    };
}

impl<const RATE: u64, const PER_MS: u64, const BURST: u64> Limit
    for TokenBucket<RATE, PER_MS, BURST>
{
    const STORAGE: Storage = Storage::Map;
    fn capacity() -> u64 {
        BURST
    }
    fn describe() -> String {
        format!("token_bucket({RATE}/{PER_MS}ms,{BURST})")
    }
    fn params() -> (&'static str, u64, u64, u64) {
        let () = Self::CHECKED;
        ("b", RATE, PER_MS * 1000, BURST)
    }
}

impl<const LIMIT: u64, const WINDOW_MS: u64> Limit for SlidingWindow<LIMIT, WINDOW_MS> {
    const STORAGE: Storage = Storage::SortedSet;
    fn capacity() -> u64 {
        LIMIT
    }
    fn describe() -> String {
        format!("sliding_window({LIMIT}/{WINDOW_MS}ms)")
    }
    fn params() -> (&'static str, u64, u64, u64) {
        let () = Self::CHECKED;
        ("w", LIMIT, WINDOW_MS * 1000, 0)
    }
}

impl<const LIMIT: u64, const WINDOW_MS: u64> Limit for ApproxWindow<LIMIT, WINDOW_MS> {
    const STORAGE: Storage = Storage::Map;
    fn capacity() -> u64 {
        LIMIT
    }
    fn describe() -> String {
        format!("approx_window({LIMIT}/{WINDOW_MS}ms)")
    }
    fn params() -> (&'static str, u64, u64, u64) {
        let () = Self::CHECKED;
        ("a", LIMIT, WINDOW_MS * 1000, 0)
    }
}

/// The script arguments of a check of cost `cost` (after the key's type).
fn check_args<L: Limit>(cost: u64) -> Vec<Vec<u8>> {
    let (kind, x, y, z) = L::params();
    vec![
        kind.as_bytes().to_vec(),
        x.to_string().into_bytes(),
        y.to_string().into_bytes(),
        z.to_string().into_bytes(),
        cost.to_string().into_bytes(),
    ]
}

/// Why a call of `cost` is refused before sending, if it is.
fn refuse_cost<L: Limit>(cost: u64) -> Option<String> {
    (cost > L::capacity()).then(|| {
        format!(
            "a call costing {cost} can never pass a {} limiter (at most {})",
            L::describe(),
            L::capacity()
        )
    })
}

/// A rate limiter with the algorithm and configuration `L` ([`TokenBucket`],
/// [`SlidingWindow`], [`ApproxWindow`]), decided atomically on the server: one script per
/// call reads the server's clock (`TIME`), the stored state, decides, and takes the
/// call's cost — so any number of clients, whatever their clocks say, share one limit.
///
/// As a model field its key follows the document (hash tag, TTL, delete, duplicate,
/// loads; a `save` never resets it: only its operations change it). Its checks are
/// atomic operations (`model.atomic().limiter.check()`, `Model::at(id).limiter`), and can
/// join a [`crate::Pipeline`]. Per-key limiters without a model: [`RateLimiter::keyed`].
///
/// ```no_run
/// # #[cfg(feature = "blocking")] fn main() -> rapyer::Result<()> {
/// use rapyer::sync::prelude::*;
/// use rapyer::{RateLimiter, TokenBucket};
///
/// #[derive(Model, Debug, Clone, Default)]
/// struct Account {
///     id: Id,
///     /// 100 calls per second, bursts of 20
///     limiter: RateLimiter<TokenBucket<100, 1_000, 20>>,
/// }
///
/// let mut account = Account::default();
/// account.sync_insert()?;
/// let d = Account::at(&account.id).limiter.sync_check()?;
/// if !d.allowed {
///     println!("slow down: retry in {:?}", d.retry_after);
/// }
/// # Ok(()) }
/// # #[cfg(not(feature = "blocking"))] fn main() {}
/// ```
///
/// Two limiters of one type compare equal: their state is the server's and changes with
/// its clock, so a copy holds only what its load read (written back by an insert or a
/// duplicate of that copy) and the last decision taken through it.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter<L> {
    /// The state as loaded (written back only by an insert or a duplicate).
    state: Option<Stored>,
    last: Option<Decision>,
    _l: PhantomData<fn() -> L>,
}

impl<L> PartialEq for RateLimiter<L> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<L: Limit> RateLimiter<L> {
    /// A limiter with its full allowance (no key until its first check).
    pub fn new() -> Self {
        let _ = L::params();
        Self {
            state: None,
            last: None,
            _l: PhantomData,
        }
    }

    /// The last decision taken through this copy's atomic handle (`None` for a copy
    /// loaded or made since).
    pub fn last_decision(&self) -> Option<Decision> {
        self.last
    }

    /// Whether this copy holds stored state: its load found calls taken (and not yet
    /// expired from the state).
    pub fn has_state(&self) -> bool {
        self.state.is_some()
    }

    /// The configuration (`token_bucket(100/1000ms,20)`).
    pub fn describe() -> String {
        L::describe()
    }

    /// Limiters per key (`limiter.check_key("user:42")`) under the name `name` in the
    /// current environment, without a model: each key's state is a key of its own
    /// (`[<namespace>:]{rapyer.limit:<name>:<key>}`), which expires by itself once the
    /// limiter is full again, so idle keys cost nothing.
    pub fn keyed(name: impl Into<String>) -> KeyedLimiter<L> {
        let _ = L::params();
        KeyedLimiter {
            name: name.into(),
            _l: PhantomData,
        }
    }
}

/// Atomic operations on a [`RateLimiter`] field (`model.atomic().limiter`,
/// `Model::at(id).limiter`): one round trip each, or part of a pipeline.
pub struct RateLimitRef<'a, L>(StructureRef<'a, RateLimiter<L>>);

impl<L> std::fmt::Debug for RateLimitRef<'_, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RateLimitRef({:?})", self.0)
    }
}

impl<'a, L: Limit> RateLimitRef<'a, L> {
    /// Decides a call of cost 1, taking it when allowed.
    pub fn check(&self) -> Pending<'a, Decision> {
        self.check_n(1)
    }

    /// Decides a call of cost `cost` (all of it is taken, or none); `check_n(0)` only
    /// reports. A cost above [`Limit::capacity`] could never pass and is
    /// [`Error::InvalidInput`], sent nowhere.
    pub fn check_n(&self, cost: u64) -> Pending<'a, Decision> {
        if let Some(reason) = refuse_cost::<L>(cost) {
            return self.0.refuse(Error::InvalidInput(format!(
                "{} field `{}`: {reason}",
                self.0.model(),
                self.0.path()
            )));
        }
        let context = format!("rate limiter {}", self.0.path());
        self.0
            .op("rl_check", check_args::<L>(cost), move |reply, local| {
                let d = Decision::from_reply(reply.into_value(), &context)?;
                if let Some(local) = local {
                    local.last = Some(d);
                }
                Ok(d)
            })
    }

    /// Gives the limiter its full allowance back (removes its key).
    pub fn reset(&self) -> Pending<'a, ()> {
        self.0.write("DEL").finish(|_, local| {
            if let Some(local) = local {
                local.state = None;
                local.last = None;
            }
            Ok(())
        })
    }
}

impl<L: Limit> RateLimiter<L> {
    /// The standalone rate limiter named `name` in the current environment: its atomic
    /// handle, as for a field ([`Named`](crate::Named): a write
    /// creates it; a name created as another kind is `Error::WrongKind`).
    pub fn named(name: impl Into<String>) -> RateLimitRef<'static, L> {
        <Self as super::named::Named>::named(name)
    }
}

impl<L: Limit> Structure for RateLimiter<L> {
    const STORAGE: Storage = L::STORAGE;
    const KEEP_ON_SAVE: bool = true;
    type Atomic<'a> = RateLimitRef<'a, L>;

    fn tag() -> String {
        let described = L::describe();
        let family = described.split('(').next().unwrap_or_default();
        format!("RateLimiter({family})")
    }

    fn atomic(handle: StructureRef<'_, Self>) -> RateLimitRef<'_, L> {
        RateLimitRef(handle)
    }

    fn store(&self) -> std::result::Result<Stored, String> {
        Ok(self.state.clone().unwrap_or(match L::STORAGE {
            Storage::SortedSet => Stored::SortedSet(Vec::new()),
            _ => Stored::Map(Vec::new()),
        }))
    }

    fn load(stored: Stored) -> std::result::Result<Self, String> {
        match &stored {
            Stored::Map(pairs) => {
                for (field, value) in pairs {
                    let ok = std::str::from_utf8(value).is_ok_and(|v| v.parse::<u64>().is_ok());
                    if !ok {
                        return Err(format!(
                            "{} state field {} holds {}, not a count",
                            L::describe(),
                            crate::codec::show(field),
                            crate::codec::show(value)
                        ));
                    }
                }
            }
            Stored::SortedSet(_) => {}
            other => return Err(format!("a rate limiter is not stored as {other:?}")),
        }
        let empty = matches!(&stored, Stored::Map(p) if p.is_empty())
            || matches!(&stored, Stored::SortedSet(p) if p.is_empty());
        Ok(Self {
            state: (!empty).then_some(stored),
            last: None,
            _l: PhantomData,
        })
    }
}

/// Per-key rate limiters of one name, in the current environment (see
/// [`RateLimiter::keyed`]). Each call is one script on the key's own slot.
pub struct KeyedLimiter<L> {
    name: String,
    _l: PhantomData<fn() -> L>,
}

impl<L> std::fmt::Debug for KeyedLimiter<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyedLimiter({:?})", self.name)
    }
}

impl<L: Limit> KeyedLimiter<L> {
    /// Decides a call of cost 1 for `key`, taking it when allowed (`.await`, or
    /// `.sync_run()` / [`sync_check_key`](Self::sync_check_key)).
    pub fn check_key(&self, key: impl Into<String>) -> LimitCall<Decision> {
        self.check_key_n(key, 1)
    }

    /// Decides a call of cost `cost` for `key` (all of it is taken, or none; 0 only
    /// reports). A cost above [`Limit::capacity`] is [`Error::InvalidInput`].
    pub fn check_key_n(&self, key: impl Into<String>, cost: u64) -> LimitCall<Decision> {
        let refused = refuse_cost::<L>(cost);
        self.call(
            key.into(),
            b"c",
            check_args::<L>(cost),
            refused,
            |ctx, v| Decision::from_reply(v, ctx),
        )
    }

    /// Gives `key` its full allowance back; whether it had used any.
    pub fn reset_key(&self, key: impl Into<String>) -> LimitCall<bool> {
        self.call(key.into(), b"r", Vec::new(), None, |ctx, v| match v {
            Value::Int(n) => Ok(n > 0),
            other => Err(crate::error::unexpected(ctx, &other)),
        })
    }

    fn call<R>(
        &self,
        key: String,
        mode: &[u8],
        rest: Vec<Vec<u8>>,
        refused: Option<String>,
        finish: fn(&str, Value) -> Result<R>,
    ) -> LimitCall<R> {
        let mut args = vec![mode.to_vec(), L::STORAGE.redis_type().as_bytes().to_vec()];
        args.extend(rest);
        LimitCall {
            name: self.name.clone(),
            key,
            args,
            refused,
            finish,
        }
    }
}

/// One call of a [`KeyedLimiter`], sent when run: `.await` (tokio API) or `.sync_run()`
/// (blocking API). One round trip.
#[must_use = "a limiter call does nothing until it is run or awaited"]
pub struct LimitCall<R> {
    name: String,
    key: String,
    args: Vec<Vec<u8>>,
    refused: Option<String>,
    finish: fn(&str, Value) -> Result<R>,
}

impl<R> std::fmt::Debug for LimitCall<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LimitCall({:?} key {:?})", self.name, self.key)
    }
}

impl<R> LimitCall<R> {
    /// The environment and the script call, or why it is refused before sending.
    pub(crate) fn plan(&self) -> Result<(crate::env::Environment, crate::scripts::Invocation)> {
        if self.name.is_empty() || self.key.is_empty() {
            return Err(Error::InvalidInput(format!(
                "a keyed rate limiter needs a name and a key (got {:?}, {:?})",
                self.name, self.key
            )));
        }
        if let Some(reason) = &self.refused {
            return Err(Error::InvalidInput(format!(
                "rate limiter `{}` key {:?}: {reason}",
                self.name, self.key
            )));
        }
        let env = crate::env::resolve(None)?;
        let key = crate::keys::keyed_limit(env.namespace(), &self.name, &self.key);
        let call = crate::scripts::Invocation {
            script: &crate::scripts::LIMIT,
            keys: vec![key],
            args: self.args.clone(),
        };
        Ok((env, call))
    }

    /// The result from the script's reply.
    pub(crate) fn finish(&self, key: &str, reply: Value) -> Result<R> {
        let context = format!("rate limiter `{}` key {:?}", self.name, self.key);
        if let Value::Array(items) = &reply {
            let tag = match items.first() {
                Some(Value::BulkString(b)) => Some(b.as_slice()),
                _ => None,
            };
            let text = |i: usize| match items.get(i) {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            };
            match tag {
                Some(b"wrongtype") => {
                    return Err(Error::WrongType {
                        model: format!("rate limiter `{}`", self.name),
                        key: key.to_owned(),
                        field: self.key.clone(),
                        what: "rate limiter",
                        found: crate::keys::redis_type(&text(1)),
                        expected: crate::keys::redis_type(&String::from_utf8_lossy(&self.args[1])),
                    });
                }
                Some(b"rejected") => {
                    return Err(Error::Rejected {
                        model: "RateLimiter",
                        key: key.to_owned(),
                        field: self.key.clone(),
                        op: "check",
                        reason: text(1),
                    });
                }
                Some(b"reset") => {
                    let n = items.get(1).cloned().unwrap_or(Value::Nil);
                    return (self.finish)(&context, n);
                }
                _ => {}
            }
        }
        (self.finish)(&context, reply)
    }
}
