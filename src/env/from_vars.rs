//! Environments configured from process environment variables (`init_from_env`).

use std::collections::HashMap;
use std::time::Duration;

use super::{Environment, EnvironmentConfig, register_environment, set_default_environment};
use crate::error::{Error, Result};

/// Registers the environments that process environment variables describe, and the
/// default one:
///
/// - `RAPYER_ENVIRONMENTS=dev,staging,prod`: the names (comma-separated);
/// - per name, in upper case with `-` and `.` as `_` (`staging` → `STAGING`):
///   `RAPYER_STAGING_URL` (required), and optionally `RAPYER_STAGING_NAMESPACE`,
///   `RAPYER_STAGING_POOL_SIZE`, `RAPYER_STAGING_CONNECTION_TIMEOUT_MS`,
///   `RAPYER_STAGING_RESPONSE_TIMEOUT_MS`, `RAPYER_STAGING_FUNCTIONS` (`true`/`false`: see
///   [`EnvironmentConfig::functions`]);
/// - the default: `RAPYER_DEFAULT` (one of the names); without it, `REDIS_URL` registers
///   an environment named `default` and makes it the default; without either, the
///   default is left as it was.
///
/// Returns the registered environments, in the order listed (`default` last when it
/// came from `REDIS_URL`). A missing URL or a value that does not parse is
/// [`Error::InvalidInput`] naming the variable; nothing is registered then.
///
/// ```no_run
/// // RAPYER_ENVIRONMENTS=dev,staging RAPYER_DEV_URL=redis://127.0.0.1:6379/0
/// // RAPYER_STAGING_URL=redis://10.0.0.5:6379/0 RAPYER_STAGING_NAMESPACE=stg
/// // RAPYER_DEFAULT=dev
/// let envs = rapyer::init_from_env()?;
/// # Ok::<(), rapyer::Error>(())
/// ```
pub fn init_from_env() -> Result<Vec<Environment>> {
    init_from_vars(std::env::vars())
}

/// [`init_from_env`] reading the variables from `vars` instead of the process (for
/// configuration loaded from elsewhere, and for tests).
pub fn init_from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Vec<Environment>>
where
    K: Into<String>,
    V: Into<String>,
{
    let vars: HashMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let names: Vec<String> = get("RAPYER_ENVIRONMENTS")
        .map(|list| {
            list.split(',')
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    // every value is checked before anything is registered
    let mut configs = Vec::with_capacity(names.len() + 1);
    for name in &names {
        let var = |suffix: &str| format!("RAPYER_{}_{suffix}", var_name(name));
        let url_var = var("URL");
        let url = get(&url_var).ok_or_else(|| {
            Error::InvalidInput(format!(
                "environment `{name}` (listed in RAPYER_ENVIRONMENTS) needs {url_var}"
            ))
        })?;
        let mut config = EnvironmentConfig::new(url);
        if let Some(ns) = get(&var("NAMESPACE")) {
            crate::keys::validate_namespace(ns)?;
            config = config.namespace(ns);
        }
        if let Some(n) = number(&get, &var("POOL_SIZE"))? {
            let n = u32::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(&var("POOL_SIZE"), "a pool size from 1"))?;
            config = config.pool_size(n);
        }
        if let Some(ms) = number(&get, &var("CONNECTION_TIMEOUT_MS"))? {
            config = config.connection_timeout(Duration::from_millis(ms));
        }
        if let Some(ms) = number(&get, &var("RESPONSE_TIMEOUT_MS"))? {
            config = config.response_timeout(Duration::from_millis(ms));
        }
        if let Some(on) = get(&var("FUNCTIONS")) {
            config = config.functions(match on.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => return Err(bad(&var("FUNCTIONS"), "true or false")),
            });
        }
        super::client_for(&config).map_err(|e| bad(&url_var, &format!("a Redis URL ({e})")))?;
        configs.push((name.clone(), config));
    }
    let default = match get("RAPYER_DEFAULT") {
        Some(d) if names.iter().any(|n| n == d) => Some(d.to_owned()),
        Some(d) => {
            return Err(Error::InvalidInput(format!(
                "RAPYER_DEFAULT is `{d}`, which RAPYER_ENVIRONMENTS does not list"
            )));
        }
        None => match get("REDIS_URL") {
            Some(url) => {
                let config = EnvironmentConfig::new(url);
                super::client_for(&config)
                    .map_err(|e| bad("REDIS_URL", &format!("a Redis URL ({e})")))?;
                configs.push(("default".to_owned(), config));
                Some("default".to_owned())
            }
            None => None,
        },
    };
    let mut out = Vec::with_capacity(configs.len());
    for (name, config) in configs {
        out.push(register_environment(&name, config)?);
    }
    if let Some(d) = default {
        set_default_environment(&d)?;
    }
    Ok(out)
}

/// The variable-name form of an environment name: upper case, `-` and `.` as `_`.
fn var_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

fn bad(var: &str, expected: &str) -> Error {
    Error::InvalidInput(format!("{var} must be {expected}"))
}

fn number<'a>(get: &impl Fn(&str) -> Option<&'a str>, var: &str) -> Result<Option<u64>> {
    match get(var) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| bad(var, &format!("a whole number, not `{v}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environments_come_from_variables() {
        let envs = init_from_vars(vars(&[
            ("RAPYER_ENVIRONMENTS", "vars-dev, vars.stage"),
            ("RAPYER_VARS_DEV_URL", "redis://127.0.0.1:1/0"),
            ("RAPYER_VARS_DEV_NAMESPACE", "dev"),
            ("RAPYER_VARS_DEV_POOL_SIZE", "3"),
            ("RAPYER_VARS_STAGE_URL", "redis://127.0.0.1:2/1"),
            ("RAPYER_VARS_STAGE_CONNECTION_TIMEOUT_MS", "250"),
            ("RAPYER_VARS_STAGE_RESPONSE_TIMEOUT_MS", "1500"),
            ("RAPYER_VARS_STAGE_FUNCTIONS", "off"),
            ("RAPYER_DEFAULT", "vars.stage"),
        ]))
        .unwrap();
        let names: Vec<&str> = envs.iter().map(|e| e.name()).collect();
        assert_eq!(names, ["vars-dev", "vars.stage"]);
        let dev = crate::env::environment("vars-dev").unwrap();
        assert_eq!(dev.namespace(), Some("dev"));
        assert_eq!(dev.0.config.pool_size, 3);
        assert!(dev.0.config.functions);
        let stage = crate::env::environment("vars.stage").unwrap();
        assert_eq!(stage.0.config.max_wait(), Duration::from_millis(250 + 1500));
        assert!(!stage.0.config.functions);
        assert_eq!(
            crate::env::REGISTRY.read().default.as_deref(),
            Some("vars.stage")
        );
    }

    #[test]
    fn a_bad_variable_registers_nothing() {
        for (bad, says) in [
            (vec![("RAPYER_ENVIRONMENTS", "vars-x")], "RAPYER_VARS_X_URL"),
            (
                vec![
                    ("RAPYER_ENVIRONMENTS", "vars-x"),
                    ("RAPYER_VARS_X_URL", "redis://127.0.0.1:1"),
                    ("RAPYER_VARS_X_POOL_SIZE", "many"),
                ],
                "RAPYER_VARS_X_POOL_SIZE",
            ),
            (
                vec![
                    ("RAPYER_ENVIRONMENTS", "vars-x"),
                    ("RAPYER_VARS_X_URL", "redis://127.0.0.1:1"),
                    ("RAPYER_VARS_X_FUNCTIONS", "maybe"),
                ],
                "RAPYER_VARS_X_FUNCTIONS",
            ),
            (
                vec![
                    ("RAPYER_ENVIRONMENTS", "vars-x"),
                    ("RAPYER_VARS_X_URL", "redis://127.0.0.1:1"),
                    ("RAPYER_DEFAULT", "elsewhere"),
                ],
                "RAPYER_DEFAULT",
            ),
            (
                vec![
                    ("RAPYER_ENVIRONMENTS", "vars-x"),
                    ("RAPYER_VARS_X_URL", "not a url"),
                ],
                "RAPYER_VARS_X_URL",
            ),
        ] {
            match init_from_vars(vars(&bad)) {
                Err(Error::InvalidInput(msg)) => assert!(msg.contains(says), "{msg}"),
                other => panic!("expected InvalidInput for {bad:?}, got {other:?}"),
            }
            assert!(
                crate::env::environment("vars-x").is_err(),
                "nothing registered"
            );
        }
    }
}
