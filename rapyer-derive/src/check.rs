//! Cross-attribute checks on a container's attributes (values in range, attributes that
//! need one another).

use crate::attr::ModelAttrs;
use crate::errors::Errors;

/// Checks the container attributes together, reporting each problem at its token.
pub(crate) fn container(attrs: &ModelAttrs, errors: &mut Errors) {
    if let Some(lit) = &attrs.name {
        let v = lit.value();
        if v.is_empty() || v.contains(['{', '}']) {
            errors.push(
                lit.span(),
                "model name must be non-empty and must not contain `{` or `}` (they would change the Redis Cluster hash tag)",
            );
        } else if v.starts_with("rapyer.") {
            errors.push(
                lit.span(),
                "model names starting with `rapyer.` are rapyer's own (named structures live under `rapyer.named`, keyed rate limiters under `rapyer.limit`)",
            );
        }
    }
    if let Some(lit) = &attrs.colocate {
        let v = lit.value();
        if v.is_empty() || v.contains(['{', '}', ':']) {
            errors.push(
                lit.span(),
                "`colocate` names a group: non-empty, without `{`, `}` or `:`",
            );
        }
    }
    if let Some(lit) = &attrs.shards {
        match lit.base10_parse::<u32>() {
            Ok(0) | Err(_) => errors.push(
                lit.span(),
                "`shards` must be an integer from 1 to 4294967295",
            ),
            Ok(_) => {}
        }
    }
    if let Some(lit) = &attrs.ttl {
        match lit.base10_parse::<u64>() {
            Ok(n) if n > 0 && n <= u64::MAX / 1000 => {}
            _ => errors.push(lit.span(), "`ttl` is a number of seconds, at least 1"),
        }
    }
    if let Some(lit) = &attrs.ttl_refresh {
        if !matches!(lit.value().as_str(), "never" | "read" | "write" | "both") {
            errors.push(
                lit.span(),
                "`ttl_refresh` is one of \"never\", \"read\", \"write\", \"both\"",
            );
        } else if attrs.ttl.is_none() {
            errors.push(
                lit.span(),
                "`ttl_refresh` needs `ttl = <seconds>` on the model",
            );
        }
    }
    let ttl_secs = attrs
        .ttl
        .as_ref()
        .and_then(|l| l.base10_parse::<u64>().ok());
    let refreshes = attrs
        .ttl_refresh
        .as_ref()
        .is_some_and(|l| l.value() != "never");
    for (name, lit) in [
        ("ttl_refresh_interval", &attrs.ttl_refresh_interval),
        ("ttl_grace", &attrs.ttl_grace),
    ] {
        let Some(lit) = lit else { continue };
        match (lit.base10_parse::<u64>(), ttl_secs) {
            (Ok(n), Some(ttl)) if n >= 1 && n < ttl && refreshes => {}
            (Ok(_), _) if !refreshes => errors.push(
                lit.span(),
                format!("`{name}` needs `ttl = <seconds>` and `ttl_refresh = \"read\" | \"write\" | \"both\"` on the model"),
            ),
            _ => errors.push(
                lit.span(),
                format!("`{name}` is a number of seconds, at least 1 and less than `ttl`"),
            ),
        }
    }
    if let Some(lit) = &attrs.on_error
        && !matches!(lit.value().as_str(), "defer" | "ignore" | "log")
    {
        errors.push(
            lit.span(),
            "`on_error` is one of \"defer\", \"ignore\", \"log\"",
        );
    }
    if let Some(lit) = attrs.env.as_ref().filter(|l| l.value().is_empty()) {
        errors.push(lit.span(), "`env` must name an environment");
    }
}
