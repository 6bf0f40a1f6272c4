//! Models shared by the integration tests.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use rapyer::{Element, Embedded, Id, Model};
use serde::{Deserialize, Serialize};

pub use super::structures::*;

#[derive(Embedded, Debug, Clone, PartialEq, Default)]
pub struct Geo {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Embedded, Debug, Clone, PartialEq, Default)]
pub struct Address {
    pub city: String,
    pub zip: Option<String>,
    pub geo: Geo,
    pub lines: Vec<String>,
    pub labels: HashMap<String, String>,
}

#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Item {
    pub sku: String,
    pub qty: u32,
    pub note: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Profile {
    pub bio: String,
    pub links: Vec<(String, String)>,
    pub extra: Option<BTreeMap<String, i64>>,
}

/// Every field kind, with awkward values.
#[derive(Model, Debug, Clone, PartialEq)]
pub struct Everything {
    pub id: Id,
    pub text: String,
    pub empty: String,
    pub int8: i8,
    pub min: i64,
    pub max: i64,
    pub umax: u64,
    pub u128: u128,
    pub f_max: f64,
    pub f_min_pos: f64,
    pub f_sub: f64,
    pub f_neg_zero: f64,
    pub f_tenth: f64,
    pub f32_sub: f32,
    pub flag: bool,
    pub bytes: Vec<u8>,
    pub letter: char,
    pub uuid: uuid::Uuid,
    #[cfg(feature = "chrono")]
    pub when: chrono::DateTime<chrono::Utc>,
    #[cfg(feature = "chrono")]
    pub day: chrono::NaiveDate,
    #[cfg(feature = "chrono")]
    pub naive: chrono::NaiveDateTime,
    pub none: Option<i64>,
    pub some: Option<String>,
    pub some_empty: Option<String>,
    pub some_none: Option<Option<String>>,
    pub some_some_empty: Option<Option<String>>,
    pub list: Vec<String>,
    pub deque: VecDeque<i64>,
    pub empty_list: Vec<String>,
    pub optional_items: Vec<Option<i64>>,
    pub blobs: Vec<Vec<u8>>,
    pub scores: HashMap<String, f64>,
    pub by_rank: BTreeMap<u32, String>,
    pub empty_map: BTreeMap<String, i64>,
    pub tags: HashSet<String>,
    pub numbers: BTreeSet<i64>,
    pub address: Address,
    pub items: Vec<Item>,
    #[rapyer(blob)]
    pub profile: Profile,
    #[rapyer(blob)]
    pub matrix: Vec<Vec<i32>>,
}

impl Everything {
    pub fn sample() -> Self {
        Self {
            id: Id::new(),
            text: "héllo \0 {tag} : * \"quoted\" 🦀".into(),
            empty: String::new(),
            int8: i8::MIN,
            min: i64::MIN,
            max: i64::MAX,
            umax: u64::MAX,
            u128: u128::MAX,
            f_max: f64::MAX,
            f_min_pos: f64::MIN_POSITIVE,
            f_sub: 5e-324,
            f_neg_zero: -0.0,
            f_tenth: 0.1,
            f32_sub: f32::MIN_POSITIVE / 7.0,
            flag: true,
            bytes: vec![0, 159, 146, 150, 255, b'\n'],
            letter: '∑',
            uuid: uuid::Uuid::new_v4(),
            #[cfg(feature = "chrono")]
            when: chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            #[cfg(feature = "chrono")]
            day: chrono::NaiveDate::from_ymd_opt(1969, 7, 20).unwrap(),
            #[cfg(feature = "chrono")]
            naive: chrono::DateTime::from_timestamp_micros(-1)
                .unwrap()
                .naive_utc(),
            none: None,
            some: Some("x".into()),
            some_empty: Some(String::new()),
            some_none: Some(None),
            some_some_empty: Some(Some(String::new())),
            list: vec!["b".into(), "a".into(), "b".into(), String::new()],
            deque: VecDeque::from(vec![i64::MIN, 0, i64::MAX]),
            empty_list: vec![],
            optional_items: vec![None, Some(0), None, Some(-1)],
            blobs: vec![vec![], vec![0xff, 0x00]],
            scores: HashMap::from([("a".into(), 1.5), ("".into(), f64::MIN), ("ü".into(), -0.0)]),
            by_rank: BTreeMap::from([(0, "zero".into()), (u32::MAX, "max".into())]),
            empty_map: BTreeMap::new(),
            tags: HashSet::from(["x".into(), "".into(), "a b".into()]),
            numbers: BTreeSet::from([-5, 0, i64::MAX]),
            address: Address {
                city: "Zürich".into(),
                zip: None,
                geo: Geo {
                    lat: 47.3769,
                    lon: 8.5417,
                },
                lines: vec!["Bahnhofstrasse 1".into(), "".into()],
                labels: HashMap::from([("kind".into(), "home".into())]),
            },
            items: vec![
                Item {
                    sku: "A-1".into(),
                    qty: 2,
                    note: None,
                },
                Item {
                    sku: "B\0".into(),
                    qty: u32::MAX,
                    note: Some("n".into()),
                },
            ],
            profile: Profile {
                bio: "bio".into(),
                links: vec![("gh".into(), "https://github.com".into())],
                extra: Some(BTreeMap::from([("k".into(), i64::MIN)])),
            },
            matrix: vec![vec![1, 2], vec![], vec![-3]],
        }
    }
}

/// Floats that are not equal to themselves.
#[derive(Model, Debug, Clone)]
pub struct Odd {
    pub id: Id,
    pub nan: f64,
    pub inf: f64,
    pub neg_inf: f32,
}

/// A keyed model with a renamed key space.
#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "Acct")]
pub struct Account {
    #[rapyer(key)]
    pub email: String,
    pub name: String,
    pub age: i64,
}

/// An integer-keyed model spread over 4 shards.
#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(shards = 4)]
pub struct Event {
    #[rapyer(key)]
    pub seq: u64,
    pub kind: String,
    pub payload: Vec<String>,
}

/// A model with no scalar field besides its id.
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Bag {
    pub id: Id,
    pub items: Vec<String>,
    pub members: HashSet<String>,
}

/// The benchmark / tour shape.
#[derive(Model, Debug, Clone, PartialEq)]
pub struct User {
    pub id: Id,
    pub name: String,
    pub age: i64,
    pub status: String,
    pub score: f64,
    pub tags: Vec<String>,
}

impl User {
    pub fn new(name: &str, age: i64) -> Self {
        Self {
            id: Id::new(),
            name: name.into(),
            age,
            status: "active".into(),
            score: 0.5,
            tags: vec!["new".into()],
        }
    }
}

/// A model for atomic operations: one field of each kind.
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Gauge {
    pub id: Id,
    pub small: i8,
    pub unsigned: u8,
    pub big: i64,
    pub ratio: f64,
    pub name: String,
    pub flag: bool,
    pub raw: Vec<u8>,
    pub nick: Option<String>,
    #[cfg(feature = "chrono")]
    pub seen: Option<i64>,
    #[cfg(feature = "chrono")]
    pub at: chrono::DateTime<chrono::Utc>,
    pub log: Vec<String>,
    pub queue: VecDeque<i64>,
    pub counts: HashMap<String, i64>,
    pub labels: BTreeSet<String>,
    pub home: Address,
    #[rapyer(blob)]
    pub profile: Profile,
    pub views: Tally,
    pub counter: rapyer::Counter,
    pub recent: rapyer::CircularBuffer<String, 4>,
    pub filter: rapyer::BloomFilter<String, 100, 10_000>,
    pub cells: Vec<Cell>,
    pub jobs: rapyer::PriorityQueue<String, i64>,
    pub limit: rapyer::RateLimiter<rapyer::TokenBucket<1_000, 1_000, 1_000>>,
}

/// A session that lives 1000 s, refreshed by every read and write.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000, ttl_refresh = "both")]
pub struct Session {
    pub id: Id,
    pub hits: i64,
    pub ratio: f64,
    pub name: String,
    pub flag: bool,
    pub raw: Vec<u8>,
    pub nick: Option<String>,
    pub log: Vec<String>,
    pub counts: HashMap<String, i64>,
    pub labels: BTreeSet<String>,
    #[rapyer(blob)]
    pub profile: Profile,
    pub views: Tally,
    pub counter: rapyer::Counter,
    pub recent: rapyer::CircularBuffer<String, 4>,
    pub filter: rapyer::BloomFilter<String, 100, 10_000>,
    pub cells: Vec<Cell>,
    pub jobs: rapyer::PriorityQueue<String, i64>,
    pub limit: rapyer::RateLimiter<rapyer::TokenBucket<1_000, 1_000, 1_000>>,
}

/// A token that lives 1000 s from its last save; use does not extend it.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000)]
pub struct Token {
    pub id: Id,
    pub uses: i64,
    pub log: Vec<String>,
}

/// Refreshed by reads only.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000, ttl_refresh = "read")]
pub struct ReadRefreshed {
    pub id: Id,
    pub uses: i64,
    /// absent while zero: its load reads a missing STRING key
    pub views: Tally,
}

/// Refreshed by writes only.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000, ttl_refresh = "write")]
pub struct WriteRefreshed {
    pub id: Id,
    pub uses: i64,
}

#[derive(Embedded, Debug, Clone, PartialEq, Default)]
pub struct Home {
    #[rapyer(index)]
    pub city: String,
    pub street: String,
}

/// Indexed fields of each kind, over 4 shards.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(shards = 4)]
pub struct Person {
    pub id: Id,
    #[rapyer(index)]
    pub age: i64,
    #[rapyer(index)]
    pub status: String,
    #[rapyer(index)]
    pub score: f64,
    #[rapyer(index)]
    pub active: bool,
    #[rapyer(index)]
    pub nick: Option<String>,
    pub home: Home,
    pub tags: Vec<String>,
}

/// A model's first version, without indexes...
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(name = "Pet", shards = 2)]
pub struct PetV1 {
    pub id: Id,
    pub name: String,
    pub age: i64,
}

/// ... and its next version, with two indexes, over the same documents.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(name = "Pet", shards = 2)]
pub struct PetV2 {
    pub id: Id,
    #[rapyer(index)]
    pub name: String,
    #[rapyer(index)]
    pub age: i64,
}

/// ... and one that drops the `name` index again.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(name = "Pet", shards = 2)]
pub struct PetV3 {
    pub id: Id,
    pub name: String,
    #[rapyer(index)]
    pub age: i64,
}

/// The benchmark shape (the peers' benchmark model) with three indexes.
#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "BUser")]
pub struct IndexedUser {
    pub id: Id,
    pub name: String,
    #[rapyer(index)]
    pub age: i64,
    #[rapyer(index)]
    pub status: String,
    #[rapyer(index)]
    pub score: f64,
    pub tags: Vec<String>,
}

/// A fieldless enum stored as its variant name.
#[derive(rapyer::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum State {
    #[default]
    Open,
    Closed,
    OnHold,
}

/// Enums as fields, optional fields, list elements, and indexed.
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Ticket {
    pub id: Id,
    #[rapyer(index)]
    pub state: State,
    #[rapyer(index)]
    pub previous: Option<State>,
    pub history: Vec<State>,
}

/// Indexed string collections (`contains`).
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Post {
    pub id: Id,
    pub title: String,
    #[rapyer(index)]
    pub tags: Vec<String>,
    #[rapyer(index)]
    pub labels: HashSet<String>,
}

/// Indexes declared in an order the write scripts do not use (they take the root-field
/// indexes first): a collection index first, root indexes between collections, an
/// unindexed list and a hash collection in between.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(shards = 2)]
pub struct Listing {
    pub id: Id,
    pub notes: Vec<String>,
    #[rapyer(index)]
    pub tags: Vec<String>,
    #[rapyer(index)]
    pub price: i64,
    pub attrs: HashMap<String, String>,
    #[rapyer(index)]
    pub labels: HashSet<String>,
    #[rapyer(index)]
    pub city: Option<String>,
}

// ---- Safe / Lazy fields (issue: corrupt data never takes a whole model down) ----------

/// A stop on a route: a msgpack list element.
#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Stop {
    pub name: String,
    pub minutes: u32,
}

pub fn default_level() -> u8 {
    7
}

/// An embedded struct with a `Safe` field of its own.
#[derive(Embedded, Debug, Clone, PartialEq, Default)]
pub struct Place {
    pub city: String,
    pub beds: rapyer::Safe<u32>,
}

/// `Safe<T>` of every field kind; the other fields are plain (corrupting them fails the
/// load). Policy: the default (`defer`).
#[derive(Model, Debug, Clone, PartialEq)]
pub struct Sturdy {
    pub id: Id,
    pub name: String,
    pub visits: rapyer::Safe<i64>,
    pub title: rapyer::Safe<String>,
    #[rapyer(blob)]
    pub profile: rapyer::Safe<Profile>,
    pub stops: rapyer::Safe<Vec<Stop>>,
    pub scores: rapyer::Safe<HashMap<String, i64>>,
    #[rapyer(safe(default = default_level))]
    pub level: rapyer::Safe<u8>,
    pub place: Place,
}

impl Sturdy {
    pub fn sample() -> Self {
        Sturdy {
            id: Id::new(),
            name: "route 9".into(),
            visits: 41.into(),
            title: "Harbour loop".to_string().into(),
            profile: Profile {
                bio: "coastal".into(),
                links: vec![("map".into(), "https://x".into())],
                extra: None,
            }
            .into(),
            stops: vec![
                Stop {
                    name: "pier".into(),
                    minutes: 0,
                },
                Stop {
                    name: "market".into(),
                    minutes: 6,
                },
            ]
            .into(),
            scores: HashMap::from([("ann".to_string(), 3), ("bo".to_string(), 5)]).into(),
            level: 2.into(),
            place: Place {
                city: "Bergen".into(),
                beds: 12.into(),
            },
        }
    }
}

/// Plain fields made safe by `safe_all`, recorded in a `LoadState`; `rank` is indexed and
/// so stays strict; the key is never safe. Policy `ignore`: no warnings.
#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(safe_all, on_error = "ignore")]
pub struct Tolerant {
    #[rapyer(key)]
    pub code: u64,
    pub count: i64,
    pub label: String,
    pub tags: Vec<String>,
    #[rapyer(index)]
    pub rank: i64,
    #[rapyer(safe(default = default_level))]
    pub level: u8,
    #[rapyer(state)]
    pub load: rapyer::LoadState,
}

thread_local! {
    static BIG_DECODES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many times `Big` was deserialized on this thread.
pub fn big_decodes() -> usize {
    BIG_DECODES.with(|c| c.get())
}

/// A large blob whose `Deserialize` counts its calls (per thread).
#[derive(Serialize, Debug, Clone, PartialEq, Default)]
pub struct Big {
    pub text: String,
}

impl<'de> Deserialize<'de> for Big {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BIG_DECODES.with(|c| c.set(c.get() + 1));
        #[derive(Deserialize)]
        struct Raw {
            text: String,
        }
        Raw::deserialize(d).map(|r| Big { text: r.text })
    }
}

macro_rules! lazy_model {
    ($name:ident, $policy:literal) => {
        /// `Lazy<T>` fields: a blob, a list of structs, an integer.
        #[derive(Model, Debug, Clone, PartialEq)]
        #[rapyer(on_error = $policy)]
        pub struct $name {
            pub id: Id,
            pub title: String,
            #[rapyer(blob)]
            pub body: rapyer::Lazy<Big>,
            pub stops: rapyer::Lazy<Vec<Stop>>,
            pub count: rapyer::Lazy<i64>,
        }

        impl $name {
            pub fn sample(body: &str) -> Self {
                $name {
                    id: Id::new(),
                    title: "doc".into(),
                    body: Big { text: body.into() }.into(),
                    stops: vec![
                        Stop {
                            name: "a".into(),
                            minutes: 1,
                        },
                        Stop {
                            name: "b".into(),
                            minutes: 2,
                        },
                    ]
                    .into(),
                    count: 5.into(),
                }
            }
        }
    };
}

lazy_model!(LazyDefer, "defer");
lazy_model!(LazyIgnore, "ignore");
lazy_model!(LazyLog, "log");

/// An embedded struct with an indexed field, held in a `Safe`.
#[derive(Embedded, Debug, Clone, PartialEq, Default)]
pub struct Spot {
    #[rapyer(index)]
    pub floor: i64,
    pub label: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
pub struct Garage {
    pub id: Id,
    pub name: String,
    pub spot: rapyer::Safe<Spot>,
}

// ---- edge values and faults (issue: reliability) --------------------------------------

/// Indexed fields at the edges of their types: integers beyond 2^53, byte strings with
/// NUL, unsigned values above i64::MAX.
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Extreme {
    pub id: Id,
    #[rapyer(index)]
    pub n: i64,
    #[rapyer(index)]
    pub u: u64,
    #[rapyer(index)]
    pub s: String,
    pub f: f64,
    pub wide: u64,
    pub items: Vec<String>,
    pub counts: HashMap<String, u64>,
    pub members: HashSet<String>,
}

/// Refreshed by every use, at most once per 100 s.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000, ttl_refresh = "both", ttl_refresh_interval = 100)]
pub struct Throttled {
    pub id: Id,
    pub uses: i64,
    pub tags: Vec<String>,
}

/// Refreshed by reads at most once per 300 s, and whenever fewer than 100 s are left.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(
    ttl = 1000,
    ttl_refresh = "read",
    ttl_refresh_interval = 300,
    ttl_grace = 100
)]
pub struct Graced {
    pub id: Id,
    pub uses: i64,
}

/// Plug-in kinds (`rapyer::Structure`) beside built-in ones, with an index and a TTL.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000)]
pub struct Scoreboard {
    pub id: Id,
    #[rapyer(index)]
    pub level: i64,
    pub visits: Tally,
    pub ranks: Ranking,
    pub tags: Vec<String>,
}

/// A `Safe` plug-in kind: its fallback for bytes it cannot read.
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct SafeBoard {
    pub id: Id,
    pub visits: rapyer::Safe<Tally>,
    pub ranks: Ranking,
}

/// A plug-in kind whose `store` gives the wrong storage.
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct ConfusedBoard {
    pub id: Id,
    pub name: String,
    pub bad: Confused,
}

/// The query bench's model over 6 shards (the cluster bench spreads it over 3 masters).
#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "SUser", shards = 6)]
pub struct ShardedUser {
    pub id: Id,
    pub name: String,
    #[rapyer(index)]
    pub age: i64,
    #[rapyer(index)]
    pub status: String,
    #[rapyer(index)]
    pub score: f64,
    pub tags: Vec<String>,
}

/// Two models kept in one slot on purpose (`colocate`): pipelines across them stay one
/// atomic script on a cluster.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(colocate = "bank", shards = 2)]
pub struct Wallet {
    pub id: Id,
    #[rapyer(index)]
    pub owner: String,
    pub balance: i64,
}

#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(colocate = "bank")]
pub struct Ledger {
    pub id: Id,
    pub entries: Vec<String>,
    pub total: i64,
}

/// The same model before and after its shard count changed (2 → 5).
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(name = "Ring", shards = 2)]
pub struct RingV1 {
    pub id: Id,
    #[rapyer(index)]
    pub level: i64,
    pub tags: Vec<String>,
}

#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(name = "Ring", shards = 5)]
pub struct RingV2 {
    pub id: Id,
    #[rapyer(index)]
    pub level: i64,
    pub tags: Vec<String>,
}

/// A `rapyer::Counter` beside other fields, with a TTL.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000)]
pub struct Viewed {
    pub id: Id,
    pub title: String,
    pub views: rapyer::Counter,
    pub tags: Vec<String>,
}

/// A reading kept in a circular buffer (msgpack element).
#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Reading {
    pub at: u64,
    pub value: f64,
}

/// The latest readings, before and after the capacity changed (5 → 2).
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(name = "Probe")]
pub struct ProbeV1 {
    pub id: Id,
    pub recent: rapyer::CircularBuffer<Reading, 5>,
}

#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(name = "Probe")]
pub struct ProbeV2 {
    pub id: Id,
    pub recent: rapyer::CircularBuffer<Reading, 2>,
}

/// A Bloom filter of user names (capacity 3000, 1 % error rate).
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Site {
    pub id: Id,
    pub name: String,
    pub seen: rapyer::BloomFilter<String, 3000, 10_000>,
}

/// Bloom filters at capacity 100,000 for 1 % and 0.1 % (the false-positive test).
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Filters {
    pub id: Id,
    pub one_percent: rapyer::BloomFilter<u64, 100_000, 10_000>,
    pub tenth_percent: rapyer::BloomFilter<u64, 100_000, 1_000>,
}

/// Paths (tests/suite/paths.rs): elements with numbers at the edges, a sequence, a map
/// and structs three levels deep inside them.
#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Cell {
    pub n: i64,
    pub u: u64,
    pub f: f64,
    pub g: f32,
    pub s: String,
    pub opt: Option<i64>,
    pub tags: Vec<String>,
    pub counts: BTreeMap<String, i64>,
    pub inner: Inner,
    #[serde(rename = "renamed")]
    pub original: u8,
}

#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Inner {
    pub leaves: Vec<Leaf>,
}

#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Leaf {
    pub x: i64,
    pub label: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
pub struct Sheet {
    pub id: Id,
    pub title: String,
    pub place: Geo,
    pub note: Option<String>,
    pub cells: Vec<Cell>,
    pub named: HashMap<String, Cell>,
    #[rapyer(index)]
    pub words: Vec<String>,
    pub nums: Vec<i64>,
    pub by_id: BTreeMap<u32, Leaf>,
    pub marks: BTreeSet<String>,
    pub blobs: Vec<Vec<u8>>,
}

impl Cell {
    pub fn sample(n: i64) -> Self {
        Cell {
            n,
            u: n as u64 * 3,
            f: n as f64 / 4.0,
            g: 0.5,
            s: format!("cell {n}"),
            opt: None,
            tags: vec!["a".into(), "b".into()],
            counts: BTreeMap::from([("k".into(), n)]),
            inner: Inner {
                leaves: vec![
                    Leaf {
                        x: 1,
                        label: "one".into(),
                    },
                    Leaf {
                        x: 2,
                        label: "two".into(),
                    },
                ],
            },
            original: 9,
        }
    }
}

impl Sheet {
    pub fn sample() -> Self {
        Sheet {
            id: Id::new(),
            title: "sheet".into(),
            place: Geo {
                lat: 1.5,
                lon: -2.25,
            },
            note: Some("n".into()),
            cells: (0..3).map(Cell::sample).collect(),
            named: HashMap::from([("home".into(), Cell::sample(7))]),
            words: vec!["alpha".into(), "beta".into()],
            nums: vec![i64::MAX - 1, i64::MIN, 0],
            by_id: BTreeMap::from([(
                5,
                Leaf {
                    x: 50,
                    label: "five".into(),
                },
            )]),
            marks: BTreeSet::from(["m".into()]),
            blobs: vec![b"\0\xff raw".to_vec(), Vec::new()],
        }
    }
}

/// A job in a priority queue (msgpack element).
#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Job {
    pub name: String,
    pub n: u64,
}

/// Two priority queues: min-first by `i64`, max-first by `f64`.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000)]
pub struct Jobs {
    pub id: Id,
    pub owner: String,
    pub queue: rapyer::PriorityQueue<String, i64>,
    pub urgent: rapyer::PriorityQueue<Job, f64, rapyer::MaxFirst>,
}

/// Rate limiters of each algorithm: a token bucket (10 per second, bursts of 5), an exact
/// sliding window (5 per second), an approximate one (5 per second), and the 100/s burst
/// 20 bucket of the concurrency tests.
#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(ttl = 1000)]
pub struct Limited {
    pub id: Id,
    pub owner: String,
    pub bucket: rapyer::RateLimiter<rapyer::TokenBucket<10, 1_000, 5>>,
    pub window: rapyer::RateLimiter<rapyer::SlidingWindow<5, 1_000>>,
    pub approx: rapyer::RateLimiter<rapyer::ApproxWindow<5, 1_000>>,
    pub api: rapyer::RateLimiter<rapyer::TokenBucket<100, 1_000, 20>>,
}

/// Codecs per field: JSON elements in a list, a set, a map's values, a priority queue and
/// a circular buffer; JSON and msgpack root fields; a user codec's elements.
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Coded {
    pub id: Id,
    pub tasks: Vec<rapyer::Json<Job>>,
    pub tags: BTreeSet<rapyer::Json<String>>,
    pub by_name: HashMap<String, rapyer::Json<Job>>,
    pub profile: rapyer::Json<Profile>,
    pub packed: rapyer::Msgpack<Profile>,
    pub queue: rapyer::PriorityQueue<rapyer::Json<Job>, i64>,
    pub recent: rapyer::CircularBuffer<rapyer::Json<Job>, 3>,
    pub versioned: Vec<rapyer::Coded<Job, Versioned>>,
    /// JSON cannot hold maps with byte-string keys: every such value is refused
    pub odd: Vec<rapyer::Json<BTreeMap<Vec<u8>, i32>>>,
    /// the attribute form: one root field in that codec (a blob in it)
    #[rapyer(codec = "json")]
    pub settings: Profile,
    #[rapyer(codec = Versioned)]
    pub meta: BTreeMap<String, u64>,
}

/// A user codec: JSON behind a one-byte version prefix.
pub struct Versioned;

impl rapyer::Codec for Versioned {
    const NAME: &'static str = "versioned";
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
        let mut out = vec![1u8];
        serde_json::to_writer(&mut out, value).map_err(|e| e.to_string())?;
        Ok(out)
    }
    fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        match bytes.split_first() {
            Some((1, rest)) => serde_json::from_slice(rest).map_err(|e| e.to_string()),
            _ => Err("no version 1 prefix".into()),
        }
    }
}

/// Conditional pipelines: fields of each kind a condition reads, an indexed status.
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Member {
    pub id: Id,
    pub age: i64,
    #[rapyer(index)]
    pub status: String,
    pub level: String,
    pub score: u64,
    pub big: i64,
    pub ratio: f64,
    pub nick: Option<String>,
    pub badges: Vec<String>,
    pub notes: HashMap<String, String>,
    pub scores: Vec<i64>,
    pub tagset: BTreeSet<String>,
}

/// A lot in a store's inventory (msgpack element: loops and conditions reach its fields).
#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Lot {
    pub sku: String,
    pub qty: u64,
    pub delta: i64,
    pub expired: bool,
}

/// Pipeline context and loops over maps and element structs (tests/suite/context.rs).
#[derive(Model, Debug, Clone, PartialEq, Default)]
pub struct Store {
    pub id: Id,
    pub mode: String,
    pub last: String,
    pub left: Vec<String>,
    pub right: Vec<String>,
    pub lots: Vec<Lot>,
    pub done: Vec<Lot>,
    pub prices: HashMap<String, i64>,
    pub shelves: HashMap<String, Lot>,
    pub picked: BTreeSet<String>,
    pub views: rapyer::Counter,
    #[rapyer(index)]
    pub moved: i64,
}
