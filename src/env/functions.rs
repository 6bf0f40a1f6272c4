//! Where an environment stands with rapyer's Redis Functions library.

/// Where an environment stands with the library (`Environment::functions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FunctionState {
    /// To be loaded before the next call (a new environment, or a call met
    /// `Function not found`: the server restarted or its functions were flushed).
    Load,
    /// One call is loading it; the others use scripts meanwhile.
    Loading,
    /// Loaded: calls go as `FCALL`.
    Loaded,
    /// The server refused it (before Redis 7, an ACL without `FUNCTION`) or the
    /// environment's config turned it off: calls go as `EVAL`/`EVALSHA`.
    Off,
}

impl FunctionState {
    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Load,
            1 => Self::Loading,
            2 => Self::Loaded,
            _ => Self::Off,
        }
    }
}

/// A call's claim to load the library (after `Environment::take_load`): dropped before
/// [`done`](Self::done) (a cancelled task, a panic), it leaves the load to a later call
/// instead of keeping the environment on scripts for good.
pub(crate) struct LoadClaim {
    env: super::Environment,
    done: bool,
}

impl LoadClaim {
    pub(crate) fn new(env: super::Environment) -> Self {
        LoadClaim { env, done: false }
    }

    /// The load's outcome, as [`super::Environment::loaded`] takes it.
    pub(crate) fn done(mut self, outcome: std::result::Result<(), Option<String>>) {
        self.done = true;
        self.env.loaded(outcome);
    }
}

impl Drop for LoadClaim {
    fn drop(&mut self) {
        if !self.done {
            self.env.loaded(Err(None));
        }
    }
}
