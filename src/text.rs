//! The text form of query expressions: `Model::search("age > 25 & status == \"active\"")`
//! parses it into the same [`Expr`] the typed paths build, checked against the model's
//! schema; `Display` for [`Expr`] prints it.
//!
//! ```text
//! expr  := and ("|" and)*
//! and   := unary ("&" unary)*
//! unary := "!" unary | "(" expr ")" | "*" | pred
//! pred  := path ("==" | "!=" | ">" | ">=" | "<" | "<=") value
//!        | path "in" "[" [value ("," value)*] "]"
//!        | path "between" value "and" value
//!        | path "starts_with" string
//!        | path "contains" string
//! path  := ident ("." ident)*
//! value := number | string | true | false      (number: -12, 3.5, 1e9, inf, -inf, NaN)
//! ```
//!
//! `*` is every document. Strings are double-quoted with Rust's escapes (`\"`, `\\`,
//! `\n`, `\t`, `\r`, `\0`, `\u{…}`).

use std::fmt;

use crate::error::{Error, Result};
use crate::query::{Cmp, Expr, Node, Order, Pred};
use crate::schema::{IndexKind, ModelSchema};

/// Parses `text` into an expression over `schema`'s indexed fields.
pub(crate) fn parse(schema: &ModelSchema, text: &str) -> Result<Expr> {
    let mut p = Parser {
        schema,
        text,
        at: 0,
    };
    let e = p.expr(0)?;
    p.skip_ws();
    if p.at < text.len() {
        return Err(p.error(p.at, "expected `&`, `|` or the end of the query"));
    }
    Ok(e)
}

/// Parses a sort order: an indexed field's path, `-` in front for descending.
pub(crate) fn parse_order(schema: &ModelSchema, text: &str) -> Result<Order> {
    let t = text.trim();
    let (desc, path) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim()),
        None => (false, t.strip_prefix('+').unwrap_or(t).trim()),
    };
    match schema.fields.iter().find(|f| f.path == path) {
        Some(f) if f.index.is_some() && !f.kind.is_collection() => Ok(Order {
            path: path.to_owned(),
            desc,
        }),
        _ => Err(Error::InvalidInput(format!(
            "{}: cannot sort by `{path}`: not an indexed scalar field",
            schema.name
        ))),
    }
}

/// The deepest nesting a query may have (a guard against stack exhaustion).
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    schema: &'a ModelSchema,
    text: &'a str,
    at: usize,
}

enum Value {
    Num(Vec<u8>),
    Str(String),
}

impl Parser<'_> {
    fn error(&self, at: usize, msg: &str) -> Error {
        Error::InvalidInput(format!(
            "{} query at byte {at} of {:?}: {msg}",
            self.schema.name, self.text
        ))
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    /// A keyword (not followed by an identifier character).
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_ws();
        let r = self.rest();
        if r.starts_with(word)
            && !r[word.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr> {
        if depth > MAX_DEPTH {
            return Err(self.error(self.at, "nested too deeply"));
        }
        let mut e = self.and(depth)?;
        while self.eat("|") {
            e = e | self.and(depth)?;
        }
        Ok(e)
    }

    fn and(&mut self, depth: usize) -> Result<Expr> {
        let mut e = self.unary(depth)?;
        while self.eat("&") {
            e = e & self.unary(depth)?;
        }
        Ok(e)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr> {
        if depth > MAX_DEPTH {
            return Err(self.error(self.at, "nested too deeply"));
        }
        self.skip_ws();
        if self.rest().starts_with("!=") {
            return Err(self.error(self.at, "expected a field before `!=`"));
        }
        if self.eat("!") {
            return Ok(!self.unary(depth + 1)?);
        }
        if self.eat("(") {
            let e = self.expr(depth + 1)?;
            if !self.eat(")") {
                return Err(self.error(self.at, "expected `)`"));
            }
            return Ok(e);
        }
        if self.eat("*") {
            return Ok(Expr::all());
        }
        self.pred()
    }

    fn path(&mut self) -> Result<(usize, String)> {
        self.skip_ws();
        let start = self.at;
        let mut end = start;
        for (i, c) in self.rest().char_indices() {
            if c.is_alphanumeric() || c == '_' || (c == '.' && i > 0) {
                end = start + i + c.len_utf8();
            } else {
                break;
            }
        }
        if end == start {
            return Err(self.error(start, "expected a field name"));
        }
        self.at = end;
        Ok((start, self.text[start..end].to_owned()))
    }

    fn pred(&mut self) -> Result<Expr> {
        let (at, path) = self.path()?;
        let field = self
            .schema
            .fields
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| self.error(at, &format!("no field `{path}`")))?;
        let kind = field.index.ok_or_else(|| {
            self.error(
                at,
                &format!("field `{path}` is not indexed (add #[rapyer(index)] to query it)"),
            )
        })?;
        let multi = field.kind.is_collection();
        let op_at = self.at;
        let pred = |cmp: Cmp, a: Vec<u8>, b: Vec<u8>| {
            Expr(Node::Pred(Pred {
                path: path.clone(),
                kind,
                cmp,
                a,
                b,
                multi,
            }))
        };
        if multi {
            if self.eat_word("contains") {
                let v = self.value_for(kind, &path)?;
                return Ok(pred(Cmp::Eq, v, Vec::new()));
            }
            return Err(self.error(
                op_at,
                &format!("field `{path}` is a collection: use `{path} contains \"…\"`"),
            ));
        }
        let ops: [(&str, Option<Cmp>); 6] = [
            ("==", Some(Cmp::Eq)),
            ("!=", None),
            (">=", Some(Cmp::Ge)),
            ("<=", Some(Cmp::Le)),
            (">", Some(Cmp::Gt)),
            ("<", Some(Cmp::Lt)),
        ];
        for (token, cmp) in ops {
            if self.eat(token) {
                let v = self.value_for(kind, &path)?;
                return Ok(match cmp {
                    Some(cmp) => pred(cmp, v, Vec::new()),
                    None => !pred(Cmp::Eq, v, Vec::new()),
                });
            }
        }
        if self.eat_word("between") {
            let lo = self.value_for(kind, &path)?;
            if !self.eat_word("and") {
                return Err(self.error(self.at, "expected `and` in `between … and …`"));
            }
            let hi = self.value_for(kind, &path)?;
            return Ok(pred(Cmp::Between, lo, hi));
        }
        if self.eat_word("starts_with") {
            if kind != IndexKind::Lex {
                return Err(self.error(
                    op_at,
                    &format!("`starts_with` needs a string field; `{path}` is numeric"),
                ));
            }
            let v = self.value_for(kind, &path)?;
            return Ok(pred(Cmp::Prefix, v, Vec::new()));
        }
        if self.eat_word("in") {
            if !self.eat("[") {
                return Err(self.error(self.at, "expected `[` after `in`"));
            }
            let mut alts = Vec::new();
            if !self.eat("]") {
                loop {
                    alts.push(pred(Cmp::Eq, self.value_for(kind, &path)?, Vec::new()).0);
                    if self.eat("]") {
                        break;
                    }
                    if !self.eat(",") {
                        return Err(self.error(self.at, "expected `,` or `]`"));
                    }
                }
            }
            return Ok(match alts.len() {
                0 => Expr(Node::Not(Box::new(Node::All))),
                1 => Expr(alts.remove(0)),
                _ => Expr(Node::Or(alts)),
            });
        }
        Err(self.error(
            op_at,
            "expected `==`, `!=`, `>`, `>=`, `<`, `<=`, `in`, `between` or `starts_with`",
        ))
    }

    /// A value of the field's index kind, in stored form.
    fn value_for(&mut self, kind: IndexKind, path: &str) -> Result<Vec<u8>> {
        let at = {
            self.skip_ws();
            self.at
        };
        let v = self.value()?;
        match (kind, v) {
            (IndexKind::Numeric, Value::Num(n)) => Ok(n),
            (IndexKind::Lex, Value::Str(s)) => Ok(s.into_bytes()),
            (IndexKind::Numeric, Value::Str(_)) => Err(self.error(
                at,
                &format!("field `{path}` takes a number (or true/false), found a string"),
            )),
            (IndexKind::Lex, Value::Num(_)) => Err(self.error(
                at,
                &format!("field `{path}` takes a string (in double quotes), found a number"),
            )),
        }
    }

    fn value(&mut self) -> Result<Value> {
        self.skip_ws();
        let at = self.at;
        if self.eat_word("true") {
            return Ok(Value::Num(b"1".to_vec()));
        }
        if self.eat_word("false") {
            return Ok(Value::Num(b"0".to_vec()));
        }
        for (word, text) in [("inf", "inf"), ("-inf", "-inf"), ("NaN", "NaN")] {
            if self.eat_word(word) {
                return Ok(Value::Num(text.as_bytes().to_vec()));
            }
        }
        if self.rest().starts_with('"') {
            return self.string().map(Value::Str);
        }
        let len = self
            .rest()
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_digit()
                    || *c == '.'
                    || *c == 'e'
                    || *c == 'E'
                    || ((*c == '-' || *c == '+')
                        && (*i == 0 || self.rest()[..*i].ends_with(['e', 'E']))))
            })
            .map_or(self.rest().len(), |(i, _)| i);
        let lit = &self.rest()[..len];
        if lit.is_empty() {
            return Err(self.error(at, "expected a value: a number, a string, true or false"));
        }
        let bytes = if let Ok(n) = lit.parse::<i128>() {
            n.to_string().into_bytes()
        } else if let Ok(f) = lit.parse::<f64>() {
            format!("{f:?}").into_bytes()
        } else {
            return Err(self.error(at, &format!("`{lit}` is not a number")));
        };
        self.at += len;
        Ok(Value::Num(bytes))
    }

    fn string(&mut self) -> Result<String> {
        let start = self.at;
        let mut out = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += i + 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        '\\' => out.push('\\'),
                        '"' => out.push('"'),
                        '\'' => out.push('\''),
                        'u' => {
                            let mut hex = String::new();
                            if !matches!(chars.next(), Some((_, '{'))) {
                                return Err(self.error(start + i, "expected `{` after `\\u`"));
                            }
                            for (_, h) in chars.by_ref() {
                                if h == '}' {
                                    break;
                                }
                                hex.push(h);
                            }
                            let c = u32::from_str_radix(&hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error(start + i, "bad `\\u{…}` escape"))?;
                            out.push(c);
                        }
                        _ => return Err(self.error(start + i, "unknown escape")),
                    }
                }
                c => out.push(c),
            }
        }
        Err(self.error(start, "unterminated string"))
    }
}

// ---- printing --------------------------------------------------------------------------------

impl fmt::Display for Expr {
    /// The text form (`age > 25 & status == "active"`), which `Model::search` parses back
    /// into an equal expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(f, &self.0)
    }
}

fn write_node(f: &mut fmt::Formatter<'_>, n: &Node) -> fmt::Result {
    match n {
        Node::All => f.write_str("*"),
        Node::Pred(p) => write_pred(f, p),
        Node::And(xs) => write_joined(f, xs, " & ", |x| matches!(x, Node::And(_) | Node::Or(_))),
        Node::Or(xs) => write_joined(f, xs, " | ", |x| matches!(x, Node::Or(_))),
        Node::Not(x) => {
            f.write_str("!")?;
            match **x {
                Node::And(_) | Node::Or(_) => {
                    f.write_str("(")?;
                    write_node(f, x)?;
                    f.write_str(")")
                }
                _ => write_node(f, x),
            }
        }
    }
}

/// Children joined by `sep`; a child that `needs_parens` is parenthesized (and so is
/// any later child of the same kind, so that parsing rebuilds the same tree).
fn write_joined(
    f: &mut fmt::Formatter<'_>,
    xs: &[Node],
    sep: &str,
    needs_parens: impl Fn(&Node) -> bool,
) -> fmt::Result {
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if needs_parens(x) {
            f.write_str("(")?;
            write_node(f, x)?;
            f.write_str(")")?;
        } else {
            write_node(f, x)?;
        }
    }
    Ok(())
}

fn write_value(f: &mut fmt::Formatter<'_>, kind: IndexKind, v: &[u8]) -> fmt::Result {
    match kind {
        IndexKind::Numeric => f.write_str(&String::from_utf8_lossy(v)),
        IndexKind::Lex => write!(f, "{:?}", String::from_utf8_lossy(v)),
    }
}

fn write_pred(f: &mut fmt::Formatter<'_>, p: &Pred) -> fmt::Result {
    f.write_str(&p.path)?;
    if p.multi {
        f.write_str(" contains ")?;
        return write_value(f, p.kind, &p.a);
    }
    let op = match p.cmp {
        Cmp::Eq => " == ",
        Cmp::Gt => " > ",
        Cmp::Ge => " >= ",
        Cmp::Lt => " < ",
        Cmp::Le => " <= ",
        Cmp::Prefix => " starts_with ",
        Cmp::Between => " between ",
    };
    f.write_str(op)?;
    write_value(f, p.kind, &p.a)?;
    if p.cmp == Cmp::Between {
        f.write_str(" and ")?;
        write_value(f, p.kind, &p.b)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{FieldKind, FieldSchema};

    fn schema() -> ModelSchema {
        let mut age = FieldSchema::new("age", FieldKind::Scalar);
        age.index = Some(IndexKind::Numeric);
        let mut status = FieldSchema::new("status", FieldKind::Scalar);
        status.index = Some(IndexKind::Lex);
        let mut city = FieldSchema::new("home.city", FieldKind::Scalar);
        city.index = Some(IndexKind::Lex);
        let mut tags = FieldSchema::new("tags", FieldKind::List);
        tags.index = Some(IndexKind::Lex);
        let name = FieldSchema::new("name", FieldKind::Scalar);
        ModelSchema {
            name: "P",
            shards: 1,
            env: None,
            colocate: None,
            key_field: "id",
            ttl_ms: None,
            ttl_refresh: Default::default(),
            ttl_refresh_interval_ms: 0,
            ttl_grace_ms: 0,
            fields: vec![age, status, city, tags, name],
            on_error: Default::default(),
            inverses: Vec::new(),
        }
    }

    #[test]
    fn parses_and_prints_back() {
        let s = schema();
        for text in [
            "age > 25",
            "age > 25 & status == \"active\"",
            "age >= -3 | !(status starts_with \"a\\\"b\" & home.city == \"Oslo\")",
            "age between 1 and 9.5",
            "tags contains \"x\\u{0}y\"",
            "*",
            "!*",
            "age == 1 | age == 2 | age == 3",
        ] {
            let e = parse(&s, text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let printed = e.to_string();
            assert_eq!(parse(&s, &printed).unwrap(), e, "{text} -> {printed}");
        }
        assert_eq!(
            parse(&s, "age in [1, 2, 3]").unwrap(),
            parse(&s, "age == 1 | age == 2 | age == 3").unwrap()
        );
        assert_eq!(
            parse(&s, "age != 4").unwrap(),
            !parse(&s, "age == 4").unwrap()
        );
        assert_eq!(
            parse(&s, "age == true").unwrap(),
            parse(&s, "age == 1").unwrap()
        );
    }

    #[test]
    fn refuses_with_position_and_reason() {
        let s = schema();
        for (text, says) in [
            ("nope > 1", "no field `nope`"),
            ("name == \"x\"", "not indexed"),
            ("age == \"x\"", "takes a number"),
            ("status > 3", "takes a string"),
            ("tags == \"x\"", "collection"),
            ("age > ", "expected a value"),
            ("(age > 1", "expected `)`"),
            ("age > 1 age", "expected `&`"),
            ("status == \"open", "unterminated"),
            ("age starts_with \"1\"", "needs a string field"),
        ] {
            match parse(&s, text) {
                Err(Error::InvalidInput(m)) => {
                    assert!(m.contains(says) && m.contains("byte"), "{text}: {m}")
                }
                other => panic!("{text}: expected InvalidInput, got {other:?}"),
            }
        }
        let deep = "(".repeat(200) + "age > 1" + &")".repeat(200);
        assert!(parse(&s, &deep).is_err());
    }
}
