//! JSON → YAML exactly as `kubectl get -o yaml` prints it: kubectl marshals the object to JSON
//! and converts it with `sigs.k8s.io/yaml.JSONToYAML`, which parses the JSON with go-yaml v2
//! and marshals it again. So the rules here are go-yaml v2's (`encode.go`, `resolve.go`,
//! `sorter.go`, `emitterc.go`): map keys in its "natural" order, a string quoted when it would
//! read back as something else (`"yes"`, `"123"`, `""`, timestamps), single quotes when a plain
//! scalar is not allowed, double quotes for non-printable text, `|` blocks for multi-line text,
//! lines folded at spaces past column 80, 2-space indent, lists not indented under their key,
//! empty collections as `{}` / `[]`.
//!
//! Pure: no I/O.

use serde_json::Value;
use std::cmp::Ordering;

/// go-yaml's preferred line width: past it, a scalar is folded at the next space.
const BEST_WIDTH: usize = 80;
const INDENT: usize = 2;
/// Longer keys (in bytes) are not simple keys to go-yaml: they are written as `? key`.
const MAX_SIMPLE_KEY: usize = 128;

/// The YAML text of `value` (a document; ends with a newline).
pub fn to_yaml(value: &Value) -> String {
    let mut e = Emitter { out: String::new(), column: 0, whitespace: true, indention: true };
    match value {
        Value::Object(m) if !m.is_empty() => e.mapping(m, 0),
        Value::Array(a) if !a.is_empty() => e.sequence(a, 0),
        other => {
            e.scalar_value(other, 0, false);
        }
    }
    if !e.out.ends_with('\n') {
        e.out.push('\n');
    }
    e.out
}

struct Emitter {
    out: String,
    /// Characters (not bytes) on the current line.
    column: usize,
    /// The last thing written was whitespace (or nothing).
    whitespace: bool,
    /// The current line holds only indentation so far.
    indention: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    /// go-yaml's `write_indicator`; `is_indention`: the line still counts as indentation
    /// after it (`-`, `?` and a complex key's `:`), so what follows stays on the line.
    fn indicator(&mut self, s: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in s.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// A block mapping at `indent`.
    fn mapping(&mut self, m: &serde_json::Map<String, Value>, indent: usize) {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by(|a, b| natural_cmp(a, b));
        for k in keys {
            self.write_indent(indent);
            if k.len() <= MAX_SIMPLE_KEY && !analyze(k).multiline {
                self.string(k, indent + INDENT, true);
                self.indicator(":", false, false, false);
                self.value(&m[k.as_str()], indent, true);
            } else {
                // A complex key: `? key` on its own, `: value` below it, the value placed as
                // after `- ` (go-yaml's `emit_block_mapping_key` without a simple key).
                self.indicator("?", true, false, true);
                self.string(k, indent + INDENT, false);
                self.write_indent(indent);
                self.indicator(":", true, false, true);
                self.value(&m[k.as_str()], indent, false);
            }
        }
    }

    /// A block sequence at `indent`.
    fn sequence(&mut self, a: &[Value], indent: usize) {
        for v in a {
            self.write_indent(indent);
            self.indicator("-", true, false, true);
            self.value(v, indent, false);
        }
    }

    /// A value after `key:` (`in_mapping`) or after `- `, where the parent is at `indent`.
    fn value(&mut self, v: &Value, indent: usize, in_mapping: bool) {
        match v {
            // After `- ` the first key (or item) stays on the indicator's line.
            Value::Object(m) if !m.is_empty() => self.mapping(m, indent + INDENT),
            // Lists are not indented under their key.
            Value::Array(a) if !a.is_empty() && in_mapping => self.sequence(a, indent),
            Value::Array(a) if !a.is_empty() => self.sequence(a, indent + INDENT),
            other => self.scalar_value(other, indent + INDENT, false),
        }
    }

    fn scalar_value(&mut self, v: &Value, indent: usize, key: bool) {
        match v {
            Value::Null => self.plain("null", indent, !key),
            Value::Bool(b) => self.plain(if *b { "true" } else { "false" }, indent, !key),
            Value::Number(n) => {
                let s = number_text(n);
                self.plain(&s, indent, !key)
            }
            Value::String(s) => self.string(s, indent, key),
            Value::Object(_) => self.indicator("{}", true, false, false),
            Value::Array(_) => self.indicator("[]", true, false, false),
        }
    }

    /// A string scalar, in the style go-yaml picks. `indent`: where folded lines continue.
    fn string(&mut self, s: &str, indent: usize, key: bool) {
        let requested = if s.contains('\n') {
            Style::Literal
        } else if resolves_to_string(s) && !is_base60_float(s) {
            Style::Plain
        } else {
            Style::Double
        };
        let a = analyze(s);
        let mut style = requested;
        if key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            if !a.block_plain_allowed {
                style = Style::Single;
            }
            if s.is_empty() && key {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || key) {
            style = Style::Double;
        }
        let breaks = !key;
        match style {
            Style::Plain => self.plain(s, indent, breaks),
            Style::Single => self.single(s, indent, breaks),
            Style::Double => self.double(s, indent, breaks),
            Style::Literal => self.literal(s, indent),
        }
    }

    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && chars.get(i + 1) != Some(&' ') {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.indicator("'", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let n = chars.len();
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < n
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.indicator("\"", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let esc = match c {
                    '\0' => Some('0'),
                    '\x07' => Some('a'),
                    '\x08' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\x0b' => Some('v'),
                    '\x0c' => Some('f'),
                    '\r' => Some('r'),
                    '\x1b' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match esc {
                    Some(e) => self.put(e),
                    None => {
                        let v = c as u32;
                        let (p, w) = if v <= 0xff {
                            ('x', 2)
                        } else if v <= 0xffff {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(p);
                        for ch in format!("{v:0w$X}").chars() {
                            self.put(ch);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i + 1 != n {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.indicator("|", true, false, false);
        // Block scalar hints: an explicit indentation when the text starts with a space or a
        // break; `-` strips a missing final break, `+` keeps more than one.
        let chars: Vec<char> = s.chars().collect();
        if chars.first().is_some_and(|c| *c == ' ' || is_break(*c)) {
            self.indicator(&INDENT.to_string(), false, false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some('-'),
            [.., last] if !is_break(*last) => Some('-'),
            [_] => Some('+'),
            [.., prev, _] if is_break(*prev) => Some('+'),
            _ => None,
        };
        if let Some(h) = chomp {
            self.indicator(&h.to_string(), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.put_break();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                    breaks = false;
                }
                self.put(c);
                self.indention = false;
            }
        }
        // go-yaml leaves the flags as the last character set them: after a final break the
        // next key needs no new line.
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// What `yaml_emitter_analyze_scalar` finds out about a scalar (block context only: the
/// emitter never writes a scalar inside a flow collection here).
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = chars.get(i + 1).is_none_or(|c| *c == ' ' || *c == '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => {
                    block_indicators = true
                }
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i + 1 == n;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= i + 1 == n;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// go-yaml's `is_printable` (with unicode output on): tab and characters outside the BMP are
/// not, so they make a scalar double-quoted.
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0a
        || (0x20..=0x7e).contains(&v)
        || (0xa0..=0xd7ff).contains(&v)
        || ((0xe000..=0xfffd).contains(&v) && v != 0xfeff)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml's `resolve("", s)` gives the string tag: `s` would not read back as null, a bool,
/// a number, a timestamp or the merge key.
fn resolves_to_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no", "No", "NO", "false",
        "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf",
        ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<",
    ];
    if SPECIAL.contains(&s) {
        return false;
    }
    match s.as_bytes()[0] {
        b'.' => !go_parse_float(s),
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(s) {
                return false;
            }
            let plain = s.replace('_', "");
            if go_parse_int(&plain) || is_yaml_float(&plain) {
                return false;
            }
            let bin = plain.strip_prefix("0b").or_else(|| plain.strip_prefix("-0b"));
            !bin.is_some_and(|b| !b.is_empty() && b.bytes().all(|c| c == b'0' || c == b'1'))
        }
        _ => true,
    }
}

/// `strconv.ParseInt(s, 0, 64)` or `ParseUint` would accept `s` (sign, 0x/0o/0b prefixes,
/// leading-0 octal). Range is ignored: a too-large number is still a float to go-yaml.
fn go_parse_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits = |t: &str, ok: fn(u8) -> bool| !t.is_empty() && t.bytes().all(ok);
    if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return digits(h, |c| c.is_ascii_hexdigit());
    }
    if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        return digits(o, |c| (b'0'..=b'7').contains(&c));
    }
    if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        return digits(b, |c| c == b'0' || c == b'1');
    }
    if body.len() > 1 && body.starts_with('0') {
        return digits(&body[1..], |c| (b'0'..=b'7').contains(&c));
    }
    digits(body, |c| c.is_ascii_digit())
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `strconv.ParseFloat` on a string starting with `.` (the only case go-yaml asks it).
fn go_parse_float(s: &str) -> bool {
    is_yaml_float(s)
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let g = &b[start..i];
        let ok = match g {
            [d] => d.is_ascii_digit(),
            [a, _] => (b'0'..=b'5').contains(a),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's timestamp resolution: `2006-1-2T15:4:5.999999999Z07:00` (or `t`), the same with a
/// space and no zone, or a bare `2006-1-2`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max_len: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max_len {
            *i += 1;
        }
        std::str::from_utf8(&b[start..*i]).ok().filter(|t| !t.is_empty())?.parse().ok()
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    let Some(month) = num(&mut i, 2).filter(|m| (1..=12).contains(m)) else { return false };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize - 1];
    if num(&mut i, 2).is_none_or(|d| d < 1 || d > days) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if !matches!(sep, b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    for (max, delim) in [(23, Some(b':')), (59, Some(b':')), (59, None)] {
        if num(&mut i, 2).is_none_or(|v| v > max) {
            return false;
        }
        if let Some(d) = delim {
            if b.get(i) != Some(&d) {
                return false;
            }
            i += 1;
        }
    }
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return false;
        }
    }
    if sep == b' ' {
        return i == b.len();
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let z = &b[i + 1..];
            z.len() == 5 && z[2] == b':' && z[..2].iter().chain(&z[3..]).all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// go-yaml v2's map key order (`keyList.Less`): runs of digits compare as numbers, a letter
/// sorts after a non-letter, letters by code point, a prefix first.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let less = |x: &[char], y: &[char]| -> bool {
        let mut i = 0;
        while i < x.len() && i < y.len() {
            if x[i] == y[i] {
                i += 1;
                continue;
            }
            let (al, bl) = (x[i].is_alphabetic(), y[i].is_alphabetic());
            if al && bl {
                return x[i] < y[i];
            }
            if al || bl {
                return bl;
            }
            let (mut an, mut bn): (i64, i64) = (0, 0);
            if x[i] == '0' || y[i] == '0' {
                let mut j = i;
                while j > 0 && x[j - 1].is_ascii_digit() {
                    j -= 1;
                    if x[j] != '0' {
                        an = 1;
                        bn = 1;
                        break;
                    }
                }
            }
            let mut ai = i;
            while ai < x.len() && x[ai].is_ascii_digit() {
                an = an.wrapping_mul(10).wrapping_add(i64::from(x[ai] as u8 - b'0'));
                ai += 1;
            }
            let mut bi = i;
            while bi < y.len() && y[bi].is_ascii_digit() {
                bn = bn.wrapping_mul(10).wrapping_add(i64::from(y[bi] as u8 - b'0'));
                bi += 1;
            }
            if an != bn {
                return an < bn;
            }
            if ai != bi {
                return ai < bi;
            }
            return x[i] < y[i];
        }
        x.len() < y.len()
    };
    if less(&ar, &br) {
        Ordering::Less
    } else if less(&br, &ar) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// A JSON number as go-yaml prints it: integers as they are, floats like Go's
/// `strconv.FormatFloat(f, 'g', -1, 64)`.
fn number_text(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    go_float(f)
}

fn go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Shortest digits and exponent from Rust's `{:e}` ("1.5e3").
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let es = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{es}{:02}", exp.abs());
    }
    let nd = digits.len() as i32;
    if exp >= nd - 1 {
        format!("{sign}{digits}{}", "0".repeat((exp - nd + 1) as usize))
    } else if exp >= 0 {
        let (a, b) = digits.split_at(exp as usize + 1);
        format!("{sign}{a}.{b}")
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected texts derived by hand from go-yaml v2's rules (see the module comment).
    #[test]
    fn strings_that_would_read_back_as_something_else_are_double_quoted() {
        let v = json!({"a": "yes", "b": "123", "c": "", "d": "on", "e": "2024-01-02T03:04:05Z", "f": "1:20", "g": "null", "h": "0x1F", "i": "1e3", "j": "plain text"});
        assert_eq!(
            to_yaml(&v),
            "a: \"yes\"\nb: \"123\"\nc: \"\"\nd: \"on\"\ne: \"2024-01-02T03:04:05Z\"\nf: \"1:20\"\ng: \"null\"\nh: \"0x1F\"\ni: \"1e3\"\nj: plain text\n"
        );
    }

    #[test]
    fn indicators_and_edges_take_single_quotes() {
        let v =
            json!({"a": " leading", "b": "a: b", "c": "- x", "d": "*star", "e": "it's: x", "f": "ends ", "g": "a:b"});
        assert_eq!(to_yaml(&v), "a: ' leading'\nb: 'a: b'\nc: '- x'\nd: '*star'\ne: 'it''s: x'\nf: 'ends '\ng: a:b\n");
    }

    #[test]
    fn multi_line_text_is_a_literal_block_and_tabs_are_escaped() {
        let v = json!({"m": {"k": "one\ntwo\n", "l": "x\ny", "t": "a\tb", "s": " lead\nx"}});
        assert_eq!(
            to_yaml(&v),
            "m:\n  k: |\n    one\n    two\n  l: |-\n    x\n    y\n  s: |2-\n     lead\n    x\n  t: \"a\\tb\"\n"
        );
    }

    #[test]
    fn lists_are_not_indented_and_empty_collections_are_flow() {
        let v = json!({"spec": {"containers": [{"name": "c", "args": ["a", "b"]}], "e": {}, "l": []}, "n": null, "b": true, "i": 3});
        assert_eq!(
            to_yaml(&v),
            "b: true\ni: 3\n\"n\": null\nspec:\n  containers:\n  - args:\n    - a\n    - b\n    name: c\n  e: {}\n  l: []\n"
        );
    }

    #[test]
    fn a_key_over_128_bytes_is_a_complex_key() {
        let long = "k".repeat(129);
        let v = json!({ long.clone(): "v", "m": { long.clone(): {"a": 1} } });
        assert_eq!(to_yaml(&v), format!("? {long}\n: v\nm:\n  ? {long}\n  : a: 1\n"));
    }

    #[test]
    fn keys_sort_naturally() {
        let mut keys = vec!["a10", "a2", "a_b", "aB", "b", "a"];
        keys.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(keys, vec!["a", "a_b", "a2", "a10", "aB", "b"]);
    }

    #[test]
    fn long_text_folds_past_column_80() {
        let words = "word ".repeat(20);
        let v = json!({"message": words.trim_end()});
        let y = to_yaml(&v);
        let first = y.lines().next().unwrap_or_default();
        assert!(first.chars().count() > 80 && first.chars().count() < 90, "{y}");
        assert!(y.lines().nth(1).is_some_and(|l| l.starts_with("  word")), "{y}");
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1.5e-5), "1.5e-05");
        assert_eq!(go_float(1234.0), "1234");
        assert_eq!(go_float(1e6), "1e+06");
    }
}
