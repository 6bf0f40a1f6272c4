//! Run-time paths (`Model::extract_fields(id, ["lines[0].qty", …])`): parsed, checked
//! against the model's schema (field shapes) before anything is sent, then read like
//! typed paths, all of one document in one pipeline (one round trip).

use std::collections::BTreeMap;

use crate::codec::{Value, from_msgpack, to_msgpack};
use crate::error::{Error, Result};
use crate::exec::{Pipeline, Slot, map_pending};
use crate::kinds::ById;
use crate::kinds::nested::{At, Container, Loc, leaf};
use crate::schema::{FieldKind, ModelSchema, Shape};

/// One parsed step: `.name`, `[index]` or `["key"]`, with its byte position.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Index(i64),
    Key(String),
}

fn bad(path: &str, pos: usize, what: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("path `{path}`, at position {pos}: {what}"))
}

fn parse(path: &str) -> Result<Vec<(usize, Tok)>> {
    let b = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut expect_name = true;
    while i < b.len() {
        match b[i] {
            b'.' if !expect_name && !out.is_empty() => {
                i += 1;
                expect_name = true;
            }
            b'[' => {
                let start = i;
                i += 1;
                if b.get(i) == Some(&b'"') {
                    i += 1;
                    let mut key = Vec::new();
                    loop {
                        match b.get(i) {
                            None => return Err(bad(path, start, "unterminated \"key\"")),
                            Some(b'\\') if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                                key.push(b[i + 1]);
                                i += 2;
                            }
                            Some(b'"') => break,
                            Some(c) => {
                                key.push(*c);
                                i += 1;
                            }
                        }
                    }
                    i += 1;
                    if b.get(i) != Some(&b']') {
                        return Err(bad(path, i, "expected `]` after the key"));
                    }
                    let key =
                        String::from_utf8(key).map_err(|_| bad(path, start, "key is not UTF-8"))?;
                    out.push((start, Tok::Key(key)));
                } else {
                    let end = path[i..]
                        .find(']')
                        .map(|e| i + e)
                        .ok_or_else(|| bad(path, start, "unterminated `[`"))?;
                    let n = path[i..end].trim().parse::<i64>().map_err(|_| {
                        bad(
                            path,
                            i,
                            format!(
                                "`{}` is not an index (use [\"key\"] for text keys)",
                                &path[i..end]
                            ),
                        )
                    })?;
                    out.push((start, Tok::Index(n)));
                    i = end;
                }
                i += 1;
                expect_name = false;
            }
            _ if expect_name => {
                let start = i;
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
                if start == i {
                    return Err(bad(path, start, "expected a field name"));
                }
                out.push((start, Tok::Name(path[start..i].to_owned())));
                expect_name = false;
            }
            c => return Err(bad(path, i, format!("unexpected `{}`", c as char))),
        }
    }
    if out.is_empty() || expect_name {
        return Err(bad(path, b.len(), "expected a field name"));
    }
    Ok(out)
}

/// A checked path: where it reads and how its bytes become a [`Value`].
pub(crate) struct Resolved {
    loc: Loc,
    shape: Shape,
    /// The value is a root field (untagged `Option`), an element (tagged `Option`,
    /// structs as msgpack), or msgpack inside an element.
    level: Level,
}

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Root,
    Element,
    Msgpack,
}

fn names_under(schema: &ModelSchema, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = schema
        .fields
        .iter()
        .filter_map(|f| {
            let rest = if prefix.is_empty() {
                Some(f.path.as_str())
            } else {
                f.path
                    .strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix('.'))
            };
            rest.map(|r| r.split('.').next().unwrap_or(r).to_owned())
        })
        .collect();
    names.dedup();
    names
}

fn key_bytes(shape: &Shape, tok: &Tok, msgpack: bool) -> Option<Vec<u8>> {
    let int_key = matches!(shape, Shape::Int { .. });
    match (tok, int_key, msgpack) {
        (Tok::Key(k), false, false) => Some(k.as_bytes().to_vec()),
        (Tok::Key(k), false, true) => to_msgpack(k.as_str()).ok(),
        (Tok::Index(n), true, false) => Some(n.to_string().into_bytes()),
        (Tok::Index(n), true, true) => to_msgpack(n).ok(),
        _ => None,
    }
}

pub(crate) fn resolve(schema: &'static ModelSchema, path: &str) -> Result<Resolved> {
    let toks = parse(path)?;
    let mut it = toks.into_iter().peekable();
    // the model field: names joined until one is a stored field
    let mut joined = String::new();
    let field = loop {
        match it.next() {
            Some((pos, Tok::Name(n))) => {
                let next = crate::codec::join(&joined, &n);
                if let Some(f) = schema.fields.iter().find(|f| f.path == next) {
                    break f;
                }
                if !schema
                    .fields
                    .iter()
                    .any(|f| f.path.starts_with(&format!("{next}.")))
                {
                    return Err(bad(
                        path,
                        pos,
                        format!(
                            "no field `{n}`; fields here: {}",
                            names_under(schema, &joined).join(", ")
                        ),
                    ));
                }
                joined = next;
            }
            Some((pos, _)) => {
                return Err(bad(
                    path,
                    pos,
                    format!(
                        "`{joined}` is an embedded struct; name one of its fields: {}",
                        names_under(schema, &joined).join(", ")
                    ),
                ));
            }
            None => {
                return Err(bad(
                    path,
                    path.len(),
                    format!(
                        "`{joined}` is an embedded struct; name one of its fields: {}",
                        names_under(schema, &joined).join(", ")
                    ),
                ));
            }
        }
    };
    let (mut loc, mut shape, mut level) = match (field.kind, &field.shape) {
        (FieldKind::Scalar, s) => (
            Loc::new(Some(schema), &field.path, Container::Root),
            s.clone(),
            Level::Root,
        ),
        (FieldKind::List, Shape::Seq(elem)) => match it.next() {
            Some((_, Tok::Index(i))) => (
                Loc::new(Some(schema), &field.path, Container::List(i)),
                (**elem).clone(),
                Level::Element,
            ),
            other => {
                let pos = other.map_or(path.len(), |(p, _)| p);
                return Err(bad(
                    path,
                    pos,
                    format!("`{}` is a list: step into it with [index]", field.path),
                ));
            }
        },
        (FieldKind::Map, Shape::Map(k, v)) => match it.next() {
            Some((pos, tok)) => match key_bytes(k, &tok, false) {
                Some(key) => (
                    Loc::new(Some(schema), &field.path, Container::Map(key)),
                    (**v).clone(),
                    Level::Element,
                ),
                None => {
                    return Err(bad(
                        path,
                        pos,
                        format!(
                            "`{}` is a map keyed by {}: step into it with {}",
                            field.path,
                            shape_name(k),
                            key_hint(k)
                        ),
                    ));
                }
            },
            None => {
                return Err(bad(
                    path,
                    path.len(),
                    format!(
                        "`{}` is a map: step into it with {}",
                        field.path,
                        key_hint(k)
                    ),
                ));
            }
        },
        _ => {
            return Err(bad(
                path,
                0,
                format!(
                    "`{}` is read whole by its typed handle; run-time paths step into root fields, lists and maps",
                    field.path
                ),
            ));
        }
    };
    for (pos, tok) in it {
        let inner = match &shape {
            Shape::Option(inner) => (**inner).clone(),
            s => s.clone(),
        };
        let (step, next, display) = match (&inner, &tok) {
            (Shape::Struct(fields), Tok::Name(n)) => {
                match fields.iter().find(|(name, _)| name == n) {
                    Some((name, s)) => {
                        let mut step = b"k".to_vec();
                        step.extend(to_msgpack(*name).unwrap_or_default());
                        (step, s.clone(), format!("{}.{name}", loc.display))
                    }
                    None => {
                        let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                        return Err(bad(
                            path,
                            pos,
                            format!("no field `{n}`; fields here: {}", names.join(", ")),
                        ));
                    }
                }
            }
            (Shape::Seq(elem), Tok::Index(i)) => (
                format!("i{i}").into_bytes(),
                (**elem).clone(),
                format!("{}[{i}]", loc.display),
            ),
            (Shape::Map(k, v), tok) => match key_bytes(k, tok, true) {
                Some(key) => {
                    let mut step = b"k".to_vec();
                    step.extend(key);
                    (step, (**v).clone(), format!("{}[{tok:?}]", loc.display))
                }
                None => {
                    return Err(bad(
                        path,
                        pos,
                        format!(
                            "a map keyed by {}: step into it with {}",
                            shape_name(k),
                            key_hint(k)
                        ),
                    ));
                }
            },
            (s, _) => {
                return Err(bad(
                    path,
                    pos,
                    format!("{} has no steps inside", shape_name(s)),
                ));
            }
        };
        if level == Level::Root {
            return Err(bad(path, pos, "a root field has no steps inside"));
        }
        loc.steps.push(step);
        loc.display = display;
        shape = next;
        level = Level::Msgpack;
    }
    Ok(Resolved { loc, shape, level })
}

fn shape_name(s: &Shape) -> &'static str {
    match s {
        Shape::Int { .. } => "an integer",
        Shape::Float { .. } => "a float",
        Shape::Bool => "a bool",
        Shape::Str => "text",
        Shape::Bytes => "bytes",
        Shape::Option(_) => "an option",
        Shape::Seq(_) => "a list",
        Shape::Set(_) => "a set",
        Shape::Map(..) => "a map",
        Shape::Struct(_) => "a struct",
        _ => "a value",
    }
}

fn key_hint(k: &Shape) -> &'static str {
    if matches!(k, Shape::Int { .. }) {
        "[integer]"
    } else {
        "[\"key\"]"
    }
}

/// Stored bytes → [`Value`], by shape and level.
fn to_value(shape: &Shape, level: Level, raw: &[u8]) -> std::result::Result<Value, String> {
    let text = || std::str::from_utf8(raw).map_err(|_| "not UTF-8".to_owned());
    match (level, shape) {
        (Level::Msgpack, _) | (Level::Element, Shape::Struct(_)) => from_msgpack::<Value>(raw),
        (Level::Element, Shape::Option(inner)) => match raw.split_first() {
            Some((0, [])) => Ok(Value::Nil),
            Some((1, rest)) => to_value(inner, Level::Element, rest),
            _ => Err("expected a tagged option".into()),
        },
        (Level::Root, Shape::Option(inner)) => to_value(inner, Level::Root, raw),
        (_, Shape::Int { .. }) => {
            let t = text()?;
            t.parse::<i128>()
                .ok()
                .and_then(Value::int)
                .ok_or_else(|| format!("expected an integer, found {t}"))
        }
        (_, Shape::Float { bits: 32 }) => text()?
            .parse::<f32>()
            .map(Value::F32)
            .map_err(|e| e.to_string()),
        (_, Shape::Float { .. }) => text()?
            .parse::<f64>()
            .map(Value::F64)
            .map_err(|e| e.to_string()),
        (_, Shape::Bool) => match raw {
            b"1" | b"true" => Ok(Value::Bool(true)),
            b"0" | b"false" => Ok(Value::Bool(false)),
            _ => Err("expected a bool".into()),
        },
        (_, Shape::Str) => text().map(|t| Value::Str(t.to_owned())),
        (_, Shape::Bytes) => Ok(Value::Bytes(raw.to_vec())),
        _ => Ok(Value::text_or_bytes(raw)),
    }
}

/// The pipeline reading `paths` of document `id` (checked first: a bad path is
/// `InvalidInput` and nothing is sent), with the slot of each path.
#[allow(clippy::type_complexity)]
pub(crate) fn plan(
    schema: &'static ModelSchema,
    id: &str,
    paths: Vec<String>,
) -> Result<(Pipeline<'static>, Vec<(String, Slot<Option<Value>>)>)> {
    let resolved = paths
        .iter()
        .map(|p| resolve(schema, p))
        .collect::<Result<Vec<_>>>()?;
    let mut pipe = Pipeline::new();
    let mut slots = Vec::new();
    for (path, r) in paths.into_iter().zip(resolved) {
        let key =
            crate::kinds::nested::key_of(&crate::exec::DocRef::new(schema, id.to_owned()), &r.loc);
        let at: At<Vec<u8>, ById> =
            leaf(r.loc, ById, |b| Ok(b.to_vec()), |b: &Vec<u8>| Ok(b.clone()));
        let (shape, level, model) = (r.shape, r.level, schema.name);
        let display = at.path().to_owned();
        let read = map_pending(at.get_existing(id), move |raw| {
            raw.map(|raw| {
                to_value(&shape, level, &raw).map_err(|reason| Error::Decode {
                    model,
                    key: key.clone(),
                    field: display.clone(),
                    reason,
                })
            })
            .transpose()
        });
        slots.push((path, pipe.add(read)));
    }
    Ok((pipe, slots))
}

/// The values the slots got: absent paths are left out.
pub(crate) fn collect(slots: Vec<(String, Slot<Option<Value>>)>) -> BTreeMap<String, Value> {
    slots
        .into_iter()
        .filter_map(|(p, s)| s.get().cloned().flatten().map(|v| (p, v)))
        .collect()
}
