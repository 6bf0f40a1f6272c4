//! User-written kinds on the plug-in trait (`rapyer::Structure`), as a user of the crate
//! writes them: a tally in a STRING key and a ranking in a sorted set.

use rapyer::{Pending, Storage, Stored, Structure, StructureRef};

/// A count in a STRING key of its own (absent while zero).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally(pub i64);

/// Atomic operations of a [`Tally`].
pub struct TallyRef<'a>(pub StructureRef<'a, Tally>);

impl<'a> TallyRef<'a> {
    /// `INCRBY`: the new count, mirrored into the local copy.
    pub fn add(&self, n: i64) -> Pending<'a, i64> {
        self.0.write("INCRBY").arg(n).finish(|reply, local| {
            let total: i64 = reply.parse()?;
            if let Some(local) = local {
                local.0 = total;
            }
            Ok(total)
        })
    }

    /// `GET`: the stored count (0 when absent), mirrored into the local copy.
    pub fn get(&self) -> Pending<'a, i64> {
        let handle = self.0.clone();
        self.0.read("GET").finish(move |reply, local| {
            let text: Option<String> = reply.parse()?;
            let n = match text {
                None => 0,
                Some(t) => t
                    .parse()
                    .map_err(|_| handle.decode_error(format!("not a count: {t:?}")))?,
            };
            if let Some(local) = local {
                local.0 = n;
            }
            Ok(n)
        })
    }

    /// A command name that is not one: refused before anything is sent.
    pub fn bogus(&self) -> Pending<'a, ()> {
        self.0.write("INCR BY").finish(|_, _| Ok(()))
    }
}

impl Structure for Tally {
    const STORAGE: Storage = Storage::Bytes;
    type Atomic<'a> = TallyRef<'a>;

    fn atomic(handle: StructureRef<'_, Self>) -> TallyRef<'_> {
        TallyRef(handle)
    }
    fn store(&self) -> Result<Stored, String> {
        Ok(Stored::Bytes(
            (self.0 != 0).then(|| self.0.to_string().into_bytes()),
        ))
    }
    fn load(stored: Stored) -> Result<Self, String> {
        match stored {
            Stored::Bytes(None) => Ok(Tally(0)),
            Stored::Bytes(Some(b)) => {
                let text = String::from_utf8_lossy(&b);
                text.parse()
                    .map(Tally)
                    .map_err(|_| format!("not a count: {text:?}"))
            }
            other => Err(format!("not a string: {other:?}")),
        }
    }
}

/// Members with scores, in a sorted set key of its own (kept in score order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranking(pub Vec<(String, f64)>);

/// Atomic operations of a [`Ranking`].
pub struct RankingRef<'a>(pub StructureRef<'a, Ranking>);

impl<'a> RankingRef<'a> {
    /// `ZINCRBY`: the member's new score, mirrored into the local copy.
    pub fn bump(&self, member: &str, by: f64) -> Pending<'a, f64> {
        let m = member.to_owned();
        self.0
            .write("ZINCRBY")
            .arg(by)
            .arg(member)
            .finish(move |reply, local| {
                let score: f64 = reply.parse()?;
                if let Some(local) = local {
                    match local.0.iter_mut().find(|(x, _)| *x == m) {
                        Some(entry) => entry.1 = score,
                        None => local.0.push((m, score)),
                    }
                    local
                        .0
                        .sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                }
                Ok(score)
            })
    }

    /// `ZCARD`.
    pub fn len(&self) -> Pending<'a, usize> {
        self.0.read("ZCARD").finish(|reply, _| reply.parse())
    }

    /// `ZADD` with a score Redis refuses (`nan`): the whole plan is refused.
    pub fn add_nan(&self, member: &str) -> Pending<'a, ()> {
        self.0
            .write("ZADD")
            .arg("nan")
            .arg(member)
            .finish(|_, _| Ok(()))
    }
}

impl Structure for Ranking {
    const STORAGE: Storage = Storage::SortedSet;
    type Atomic<'a> = RankingRef<'a>;

    fn atomic(handle: StructureRef<'_, Self>) -> RankingRef<'_> {
        RankingRef(handle)
    }
    fn store(&self) -> Result<Stored, String> {
        Ok(Stored::SortedSet(
            self.0
                .iter()
                .map(|(m, s)| (m.clone().into_bytes(), *s))
                .collect(),
        ))
    }
    fn load(stored: Stored) -> Result<Self, String> {
        match stored {
            Stored::SortedSet(pairs) => pairs
                .into_iter()
                .map(|(m, s)| {
                    String::from_utf8(m)
                        .map(|m| (m, s))
                        .map_err(|_| "member is not UTF-8".to_owned())
                })
                .collect::<Result<_, _>>()
                .map(Ranking),
            other => Err(format!("not a sorted set: {other:?}")),
        }
    }
}

/// A structure whose `store` gives the wrong storage: refused at encode.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Confused;

impl Structure for Confused {
    const STORAGE: Storage = Storage::Map;
    type Atomic<'a> = StructureRef<'a, Confused>;

    fn atomic(handle: StructureRef<'_, Self>) -> StructureRef<'_, Self> {
        handle
    }
    fn store(&self) -> Result<Stored, String> {
        Ok(Stored::List(vec![b"x".to_vec()]))
    }
    fn load(_: Stored) -> Result<Self, String> {
        Ok(Confused)
    }
}
