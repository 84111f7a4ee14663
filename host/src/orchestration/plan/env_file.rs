//! A `.env` file read as Compose v2 reads it, so one file serves benchhost and the generated
//! `docker-compose.yml` alike.
//!
//! The rules are those of compose-go, the library Compose v2 loads `--env-file` with: its
//! `dotenv` package (`dotenv/parser.go`, `dotenv/godotenv.go`, `dotenv/env.go`) for the lines and
//! its `template` package (`template/template.go`) for `${...}` in values (read at
//! github.com/compose-spec/compose-go, commit e70e961, and compared with a real Compose v2 by
//! `tests/env_file.rs`). No Rust crate parses the same way (dotenvy, used before, rejects lines
//! Compose accepts and unescapes unquoted values), hence this parser. In short:
//!
//! - A UTF-8 byte order mark is skipped; lines end in `\n` (a `\r` before it is trailing space).
//!   Blank lines and lines whose first non-blank character is `#` are skipped.
//! - A statement is `[export ]NAME=VALUE` or `NAME: VALUE`; a name is letters, digits and
//!   `_ . - [ ]`, with blanks around it ignored. A bare `NAME` line takes `NAME` from the
//!   environment or an earlier line, when set there.
//! - Unquoted value: the rest of the line, cut at the first ` #` (a comment), blanks trimmed;
//!   backslashes are literal; `$` is interpolated.
//! - `"..."` value: may span lines; `\"` is a quote; `\a \b \f \n \r \t \v \\ \$` and octal
//!   `\0NNN` are unescaped (other backslashes stay); then `$` is interpolated.
//! - `'...'` value: may span lines; `\'` is a quote; nothing else is changed.
//! - Text after a closing quote is read as the next statement (Compose does the same).
//! - Interpolation: `$$` is `$`; `$NAME`, `${NAME}`, `${NAME:-default}` (unset or empty),
//!   `${NAME-default}` (unset), `${NAME:+alt}`, `${NAME+alt}`, `${NAME:?message}`,
//!   `${NAME?message}` (an error when unset [or empty]); defaults nest. `NAME` is looked up in
//!   the process environment first, then in the lines above; an unset one is empty.
//! - A later line wins over an earlier one for the same name.
//!
//! Where benchhost differs: it refuses a file that is not UTF-8 and a value with a NUL byte
//! (Compose passes them on; no setting can hold them). Errors name the line and the setting,
//! never the value, which may be a secret.

use std::collections::HashMap;

/// Why a `.env` file was refused, at a 1-based `line`; its `Display` is
/// `line N: <what>\n  hint: <fix>` and never shows a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvFileError {
    /// 1-based line of the statement (for a quoted value: the line its quote opens on).
    pub line: usize,
    /// The setting whose value could not be read, when its name was read.
    pub setting: Option<String>,
    pub kind: EnvFileErrorKind,
}

/// What was wrong with the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvFileErrorKind {
    /// The file is not UTF-8 (the first bad byte is on `line`).
    NotUtf8,
    /// A name holds a character outside letters, digits and `_ . - [ ]`, or a space.
    BadName,
    /// A value opens this quote (`"` or `'`) and the file ends before it closes.
    UnterminatedQuote(char),
    /// A `${` that starts no valid `${NAME...}`.
    BadTemplate,
    /// `${variable:?...}` or `${variable?...}` found `variable` unset (or empty, with `:`).
    Required { variable: String },
    /// A NUL byte in a value.
    Nul,
    /// `${…}` nested deeper than [`MAX_NESTING`] levels.
    TooDeep,
    /// Interpolation made more than [`INTERPOLATION_BUDGET`] bytes in all (a few lines that
    /// each repeat the one above grow ten-fold a line).
    TooLarge,
}

/// The deepest `${A:-${B:-…}}` read; deeper is refused rather than exhausting the stack.
pub const MAX_NESTING: usize = 64;
/// The most bytes interpolation may add in one file (64 MiB); more is refused.
pub const INTERPOLATION_BUDGET: usize = 64 << 20;

/// What interpolation of one file has used: nesting depth now, bytes added so far.
#[derive(Default)]
struct Limits {
    depth: std::cell::Cell<usize>,
    added: std::cell::Cell<usize>,
}

impl Limits {
    fn spend(&self, bytes: usize) -> Result<(), TemplateError> {
        let added = self.added.get().saturating_add(bytes);
        self.added.set(added);
        if added > INTERPOLATION_BUDGET { Err(TemplateError::TooLarge) } else { Ok(()) }
    }
}

impl std::fmt::Display for EnvFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = self.line;
        let name = self.setting.as_deref().unwrap_or("NAME");
        let what = match &self.setting {
            Some(s) => format!("cannot parse the value of {s} (not shown: it may be a secret)"),
            None => "cannot parse a setting (not shown: it may be a secret)".to_string(),
        };
        match &self.kind {
            EnvFileErrorKind::NotUtf8 => write!(f, "line {line}: is not UTF-8 text\n  hint: save the file as UTF-8"),
            EnvFileErrorKind::BadName => write!(
                f,
                "line {line}: {what}: a setting's name, before `=`, is letters, digits and _ . - [ ] (no spaces)\n  hint: write one NAME=value a line"
            ),
            EnvFileErrorKind::UnterminatedQuote(q) => write!(
                f,
                "line {line}: {what}: it opens a {q} quote that is never closed\n  hint: end the value with {q}, or write a {q} inside it as \\{q}, e.g. {name}={q}...{q}"
            ),
            EnvFileErrorKind::BadTemplate => write!(
                f,
                "line {line}: {what}: a `${{` starts no ${{VAR}}, ${{VAR:-default}} or the like\n  hint: write `$$` for a literal `$`, or single-quote the value (no interpolation), e.g. {name}='...'"
            ),
            EnvFileErrorKind::Required { variable } => write!(
                f,
                "line {line}: {what}: it requires {variable}, which is not set (`${{{variable}:?...}}`)\n  hint: set {variable} in the environment or on a line above"
            ),
            EnvFileErrorKind::Nul => write!(f, "line {line}: {what}: it holds a NUL byte, which no setting can\n  hint: remove it"),
            EnvFileErrorKind::TooDeep => write!(f, "line {line}: {what}: `${{…}}` nested more than {MAX_NESTING} deep\n  hint: nest fewer defaults"),
            EnvFileErrorKind::TooLarge => write!(
                f,
                "line {line}: {what}: interpolation grew the file's values past {} MiB\n  hint: a value that repeats another several times, line after line, grows ten-fold a line; write the values out",
                INTERPOLATION_BUDGET >> 20
            ),
        }
    }
}

impl std::error::Error for EnvFileError {}

/// Reads `bytes`, a `.env` file, as Compose v2 does (see the module doc). `environment`
/// answers a name from the process environment (it is asked first when a value interpolates a
/// variable, and for a bare `NAME` line). Returns each name with its value; a later line for
/// the same name wins.
pub fn read(bytes: &[u8], environment: impl Fn(&str) -> Option<String>) -> Result<HashMap<String, String>, EnvFileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| EnvFileError { line: line_at(bytes, e.valid_up_to()), setting: None, kind: EnvFileErrorKind::NotUtf8 })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser { text, pos: 0, vars: HashMap::new(), environment: &environment, limits: Limits::default() };
    parser.run()?;
    Ok(parser.vars)
}

/// 1-based line of byte `at` of `bytes`.
fn line_at(bytes: &[u8], at: usize) -> usize {
    bytes[..at.min(bytes.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// Blank within a line, as compose-go's `isSpace`: tab, vertical tab, form feed, carriage
/// return, space, NEL, no-break space (not `\n`).
fn is_blank(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}')
}

struct Parser<'a, F: Fn(&str) -> Option<String>> {
    text: &'a str,
    /// Byte offset of what is still to read.
    pos: usize,
    vars: HashMap<String, String>,
    environment: &'a F,
    limits: Limits,
}

impl<'a, F: Fn(&str) -> Option<String>> Parser<'a, F> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn line(&self, at: usize) -> usize {
        line_at(self.text.as_bytes(), at)
    }

    fn error(&self, at: usize, setting: Option<&str>, kind: EnvFileErrorKind) -> EnvFileError {
        EnvFileError { line: self.line(at), setting: setting.map(str::to_string), kind }
    }

    /// A variable as a value sees it: the environment first, then the lines above.
    fn lookup(&self, name: &str) -> Option<String> {
        (self.environment)(name).or_else(|| self.vars.get(name).cloned())
    }

    fn run(&mut self) -> Result<(), EnvFileError> {
        while self.skip_to_statement() {
            let start = self.pos;
            // `export` followed by whitespace is dropped (compose-go: `^export\s+`).
            let rest = self.rest();
            if let Some(after) = rest.strip_prefix("export")
                && after.starts_with(['\t', '\n', '\u{c}', '\r', ' '])
            {
                self.pos += "export".len() + (after.len() - after.trim_start_matches(is_blank).len());
            }
            let Some((name, terminator)) = self.name(start)? else { return Ok(()) };
            if terminator == '\n' {
                // A bare NAME line: taken from the environment or a line above, when set.
                if let Some(v) = self.lookup(&name) {
                    self.vars.insert(name, v);
                }
                continue;
            }
            let skipped = self.rest().len() - self.rest().trim_start_matches(is_blank).len();
            self.pos += skipped;
            let value = self.value(&name)?;
            if value.contains('\0') {
                return Err(self.error(start, Some(&name), EnvFileErrorKind::Nul));
            }
            self.vars.insert(name, value);
        }
        Ok(())
    }

    /// Skips blank lines and comment lines; false at the end of the file.
    fn skip_to_statement(&mut self) -> bool {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.is_empty() {
                return false;
            }
            if !trimmed.starts_with('#') {
                return true;
            }
            match trimmed.find('\n') {
                Some(i) => self.pos += i,
                None => {
                    self.pos = self.text.len();
                    return false;
                }
            }
        }
    }

    /// The name at `pos` and what ended it (`=`, `:` or `\n`), leaving `pos` after that; `None`
    /// when the file ends first (compose-go then sets nothing a setting could be named by).
    fn name(&mut self, start: usize) -> Result<Option<(String, char)>, EnvFileError> {
        let rest = self.rest();
        for (i, c) in rest.char_indices() {
            match c {
                '=' | ':' | '\n' => {
                    let name = rest[..i].trim_end().to_string();
                    if name.contains(' ') {
                        return Err(self.error(start, None, EnvFileErrorKind::BadName));
                    }
                    self.pos += i + 1;
                    return Ok(Some((name, c)));
                }
                c if is_blank(c) || matches!(c, '_' | '.' | '-' | '[' | ']') || c.is_alphabetic() || c.is_numeric() => {}
                _ => return Err(self.error(start, None, EnvFileErrorKind::BadName)),
            }
        }
        self.pos = self.text.len();
        Ok(None)
    }

    /// The value at `pos` of setting `name`, leaving `pos` after it (after the line of an
    /// unquoted value; right after the closing quote of a quoted one).
    fn value(&mut self, name: &str) -> Result<String, EnvFileError> {
        let start = self.pos;
        let rest = self.rest();
        let quote = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => {
                let (line, consumed) = match rest.find('\n') {
                    Some(i) => (&rest[..i], i + 1),
                    None => (rest, rest.len()),
                };
                let line = line.split_once(" #").map_or(line, |(v, _)| v).trim_end();
                self.pos += consumed;
                return self.interpolate(line, start, name);
            }
        };
        // Inside quotes a backslash escapes the quote (dropped) and is kept before anything
        // else, for the unescaping below.
        let mut raw = String::new();
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            if c == quote && !escaped {
                self.pos += i + 1;
                if quote == '\'' {
                    return Ok(raw);
                }
                return self.interpolate(&unescape(&raw), start, name);
            }
            if c == '\\' && !escaped {
                escaped = true;
                continue;
            }
            if escaped && c != quote {
                raw.push('\\');
            }
            escaped = false;
            raw.push(c);
        }
        Err(self.error(start, Some(name), EnvFileErrorKind::UnterminatedQuote(quote)))
    }

    fn interpolate(&self, value: &str, start: usize, name: &str) -> Result<String, EnvFileError> {
        substitute(value, &|k| self.lookup(k), &self.limits).map_err(|e| {
            let kind = match e {
                TemplateError::Invalid => EnvFileErrorKind::BadTemplate,
                TemplateError::Required(variable) => EnvFileErrorKind::Required { variable },
                TemplateError::TooDeep => EnvFileErrorKind::TooDeep,
                TemplateError::TooLarge => EnvFileErrorKind::TooLarge,
            };
            self.error(start, Some(name), kind)
        })
    }
}

/// The escapes of a double-quoted value (compose-go `expandEscapes`): `\a \b \f \n \r \t \v \\
/// \"`, `\$` (kept as `$$`, so interpolation makes it a literal `$`), and `\0` with three octal
/// digits after it (up to 255; with fewer or other digits compose-go drops the `0` and keeps the
/// rest). Any other backslash stays as it is.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let next = rest[1..].chars().next();
        let (replacement, len): (Option<String>, usize) = match next {
            Some('a') => (Some("\u{7}".into()), 2),
            Some('b') => (Some("\u{8}".into()), 2),
            Some('f') => (Some("\u{c}".into()), 2),
            Some('n') => (Some("\n".into()), 2),
            Some('r') => (Some("\r".into()), 2),
            Some('t') => (Some("\t".into()), 2),
            Some('v') => (Some("\u{b}".into()), 2),
            Some('\\') => (Some("\\".into()), 2),
            Some('"') => (Some("\"".into()), 2),
            Some('$') => (Some("$$".into()), 2),
            // `\c` is matched by compose-go and left as it is.
            Some('c') => (None, 2),
            Some('0') => {
                // `\0` and up to three digits; those that are no octal byte lose their `0`.
                let digits = rest[2..].bytes().take(3).take_while(u8::is_ascii_digit).count();
                let octal = &rest[2..2 + digits];
                let value = (digits == 3 && octal.bytes().all(|b| b < b'8')).then(|| u32::from_str_radix(octal, 8).ok()).flatten();
                let byte = value.filter(|v| *v <= 255).and_then(char::from_u32).map(String::from);
                (Some(byte.unwrap_or_else(|| format!("\\{octal}"))), 2 + digits)
            }
            _ => (None, 1),
        };
        match replacement {
            Some(r) => out.push_str(&r),
            None => out.push_str(&rest[..len]),
        }
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

/// Why interpolation failed.
#[derive(Debug, PartialEq, Eq)]
enum TemplateError {
    /// A `${` that starts no valid `${NAME...}`.
    Invalid,
    /// `${NAME:?...}` / `${NAME?...}` with NAME unset (or empty).
    Required(String),
    /// Nested deeper than [`MAX_NESTING`].
    TooDeep,
    /// Past [`INTERPOLATION_BUDGET`].
    TooLarge,
}

/// The length of a variable name at the start of `s` (`[_A-Za-z][_A-Za-z0-9]*`), 0 if none.
fn name_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first().is_none_or(|c| !(c.is_ascii_alphabetic() || *c == b'_')) {
        return 0;
    }
    b.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count()
}

/// Interpolates `template` as compose-go's `template.Substitute` does (see the module doc);
/// `lookup` answers a variable (`None`: unset).
fn substitute(template: &str, lookup: &dyn Fn(&str) -> Option<String>, limits: &Limits) -> Result<String, TemplateError> {
    if limits.depth.get() >= MAX_NESTING {
        return Err(TemplateError::TooDeep);
    }
    limits.depth.set(limits.depth.get() + 1);
    let result = substitute_at_depth(template, lookup, limits);
    limits.depth.set(limits.depth.get() - 1);
    result
}

fn substitute_at_depth(template: &str, lookup: &dyn Fn(&str) -> Option<String>, limits: &Limits) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let after = &rest[1..];
        if after.starts_with('$') {
            out.push('$');
            rest = &rest[2..];
            continue;
        }
        let n = name_len(after);
        if n > 0 {
            let value = lookup(&after[..n]).unwrap_or_default();
            limits.spend(value.len())?;
            out.push_str(&value);
            rest = &after[n..];
            continue;
        }
        if !after.starts_with('{') {
            out.push('$');
            rest = after;
            continue;
        }
        let (value, used) = braced(rest, lookup, limits)?;
        limits.spend(value.len())?;
        out.push_str(&value);
        rest = &rest[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `s` starts with `${`: its value and how many bytes of `s` it takes.
fn braced(s: &str, lookup: &dyn Fn(&str) -> Option<String>, limits: &Limits) -> Result<(String, usize), TemplateError> {
    let n = name_len(&s[2..]);
    if n == 0 {
        return Err(TemplateError::Invalid);
    }
    let name = &s[2..2 + n];
    let after = &s[2 + n..];
    if after.starts_with('}') {
        return Ok((lookup(name).unwrap_or_default(), 3 + n));
    }
    let op = [":-", ":+", ":?", "-", "+", "?"].into_iter().find(|op| after.starts_with(op)).ok_or(TemplateError::Invalid)?;
    // compose-go matches up to the last `}` of the line, then ends the variable at the brace
    // that balances its `${` (counting `{`s, each of which also skips the character after it).
    let line_end = s.find('\n').unwrap_or(s.len());
    let last = s[..line_end].rfind('}').filter(|l| *l >= 2 + n + op.len()).ok_or(TemplateError::Invalid)?;
    let close = balancing_brace(&s[..=last]).unwrap_or(last);
    let arg = &s[2 + n + op.len()..close];
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let result = match op {
        ":-" if !non_empty => substitute(arg, lookup, limits)?,
        "-" if !set => substitute(arg, lookup, limits)?,
        ":+" if non_empty => substitute(arg, lookup, limits)?,
        "+" if set => substitute(arg, lookup, limits)?,
        ":?" if !non_empty => return Err(TemplateError::Required(name.to_string())),
        "?" if !set => return Err(TemplateError::Required(name.to_string())),
        _ => value.unwrap_or_default(),
    };
    Ok((result, close + 1))
}

/// compose-go's `getFirstBraceClosingIndex`: the `}` that brings the count of `{` back to 0,
/// where each `{` also skips the character after it.
fn balancing_brace(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut open = 0usize;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'}' {
            open = open.saturating_sub(1);
            if open == 0 {
                return Some(i);
            }
        }
        if b[i] == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(text: &str) -> Result<HashMap<String, String>, EnvFileError> {
        read(text.as_bytes(), |k| (k == "FROM_ENV").then(|| "env".to_string()))
    }

    fn one(text: &str) -> String {
        env(text).unwrap_or_else(|e| panic!("{text:?}: {e}")).remove("V").unwrap_or_else(|| panic!("{text:?}: V unset"))
    }

    #[test]
    fn values_as_compose_reads_them() {
        for (text, want) in [
            ("V=\n", ""),
            ("V=abc def\n", "abc def"),
            ("V=a\\b\n", "a\\b"),
            ("V=a\\\\b\n", "a\\\\b"),
            ("V=a\\nb\n", "a\\nb"),
            ("V=C:\\path\n", "C:\\path"),
            ("V=a'b\n", "a'b"),
            ("V=a\"b\n", "a\"b"),
            ("V=a\tb  \n", "a\tb"),
            ("V=\"a\\tb\"\n", "a\tb"),
            ("\u{feff}V=bom\n", "bom"),
            ("export V=x\n", "x"),
            ("V=x # comment\n", "x"),
            ("V=x#y\n", "x#y"),
            ("V=\"x # y\"\n", "x # y"),
            ("V=\"a\nb\"\n", "a\nb"),
            ("V='a\\nb $X'\n", "a\\nb $X"),
            ("V='it\\'s'\n", "it's"),
            ("V=\"say \\\"hi\\\"\"\n", "say \"hi\""),
            ("A=1\nV=$A-${A}\n", "1-1"),
            ("V=$FROM_ENV\n", "env"),
            ("FROM_ENV=file\nV=$FROM_ENV\n", "env"),
            ("V=${UNSET:-dflt}\n", "dflt"),
            ("E=\nV=${E:-d}/${E-d}/${E:+a}/${E+a}\n", "d///a"),
            ("V=${UNSET:-${FROM_ENV}}\n", "env"),
            ("V=$$HOME \\$X\n", "$HOME \\"),
            ("V=\"\\$X\"\n", "$X"),
            ("V=\"\\0101\\c\\x\"\n", "A\\c\\x"),
            ("V=\"\\0 \\01 \\0777 \\0891\"\n", "\\ \\1 \\777 \\891"),
            ("V=x\r\nW=y\r\n", "x"),
            ("V: yaml\n", "yaml"),
            ("  V  =  spaced  \n", "spaced"),
            ("V=1\nV=2\n", "2"),
            ("V=last", "last"),
        ] {
            assert_eq!(one(text), want, "{text:?}");
        }
    }

    #[test]
    fn bare_names_and_text_after_quotes() {
        let vars = env("FROM_ENV\nUNSET\nA=\"x\" B=2\n").unwrap();
        assert_eq!(vars.get("FROM_ENV").map(String::as_str), Some("env"));
        assert!(!vars.contains_key("UNSET"));
        assert_eq!((vars["A"].as_str(), vars["B"].as_str()), ("x", "2"));
        assert_eq!(env("BARE").unwrap(), HashMap::new());
    }

    #[test]
    fn errors_name_the_line_and_setting_never_the_value() {
        for (text, line, setting, kind) in [
            ("A=1\nPW=\"s3cret\nB=2\n", 2, Some("PW"), EnvFileErrorKind::UnterminatedQuote('"')),
            ("PW='s3cret\n", 1, Some("PW"), EnvFileErrorKind::UnterminatedQuote('\'')),
            ("\n\nPW s3cret=x\n", 3, None, EnvFileErrorKind::BadName),
            ("PW$=s3cret\n", 1, None, EnvFileErrorKind::BadName),
            ("PW=s3cret${\n", 1, Some("PW"), EnvFileErrorKind::BadTemplate),
            ("PW=${A B}\n", 1, Some("PW"), EnvFileErrorKind::BadTemplate),
            ("PW=${NEEDED:?s3cret}\n", 1, Some("PW"), EnvFileErrorKind::Required { variable: "NEEDED".into() }),
            ("PW=\"s3\\0000cret\"\n", 1, Some("PW"), EnvFileErrorKind::Nul),
        ] {
            let e = env(text).unwrap_err();
            assert_eq!((e.line, e.setting.as_deref(), &e.kind), (line, setting, &kind), "{text:?}");
            let shown = e.to_string();
            assert!(shown.starts_with(&format!("line {line}: ")) && shown.contains("\n  hint: ") && !shown.contains("s3cret"), "{shown}");
        }
        let e = read(b"A=1\nB=\xff\n", |_| None).unwrap_err();
        assert_eq!((e.line, e.kind), (2, EnvFileErrorKind::NotUtf8));
    }

    #[test]
    fn deep_nesting_and_runaway_growth_are_refused_not_a_crash() {
        let deep = format!("X={}deep{}\n", "${A:-".repeat(5000), "}".repeat(5000));
        assert_eq!(env(&deep).unwrap_err().kind, EnvFileErrorKind::TooDeep);
        let fine = format!("X={}deep{}\n", "${A:-".repeat(MAX_NESTING - 1), "}".repeat(MAX_NESTING - 1));
        assert_eq!(env(&fine).unwrap()["X"], "deep");
        let mut grow = format!("L0={}\n", "x".repeat(1000));
        for i in 1..10 {
            grow.push_str(&format!("L{i}={}\n", format!("${{L{}}}", i - 1).repeat(10)));
        }
        let e = env(&grow).unwrap_err();
        assert_eq!(e.kind, EnvFileErrorKind::TooLarge);
        assert!(e.to_string().contains("past 64 MiB") && !e.to_string().contains("xxx"), "{e}");
    }
}
