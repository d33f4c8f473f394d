//! Cluster text is hostile: names, labels, annotations, images, status messages and server
//! errors are written by others, and a terminal obeys what it is sent (an `ESC ] 0 ;` in a
//! change-cause retitles the window, OSC 52 writes the clipboard, a bidi override reorders what
//! a line seems to say). [`clean`] is the one rule for such text, applied when an object is
//! projected and where a server message becomes a notice or a line of headless output.
//!
//! Unlike the log sanitizer (`logs::sanitize`, which drops escape sequences whole so that
//! coloured logs read well), this keeps every character visible: a control character becomes
//! its escape (`\x1b`, `\u{202e}` as `\u202e`), so what the cluster holds is shown, not obeyed,
//! and a width computed on the result is the width drawn. Imports nothing of ours.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

/// Characters that must never reach a terminal raw: C0 controls (tab and newline included: a
/// one-line field must stay one line), DEL, C1 controls, the bidirectional embeddings,
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069, CVE-2021-42574), and other invisible
/// format characters that hide or reorder text (zero-width joiners and spaces, the BOM, the
/// soft hyphen, the Arabic letter mark, the left-to-right and right-to-left marks, the
/// interlinear annotation controls).
pub fn is_hostile(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{ad}' | '\u{61c}' | '\u{180e}'
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// `s` with every hostile character replaced by a visible escape: `\x1b` for C0/C1/DEL,
/// `\u202e` for the rest. Borrows when there is nothing to replace (the common case: one scan).
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hostile(c) {
            let n = c as u32;
            if n <= 0xff {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{n:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`clean`] for an owned string, without a copy when it is already clean.
pub fn clean_owned(s: String) -> String {
    match clean(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    }
}

/// [`clean_owned`] in place.
pub fn clean_in_place(s: &mut String) {
    if s.chars().any(is_hostile) {
        *s = clean(s).into_owned();
    }
}

/// True when `s` holds no hostile character: what [`clean`] guarantees.
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(is_hostile)
}

/// The ellipsis for cut text (`*` in ASCII mode: no ASCII glyph set may use it for a state or
/// a marker, so a cut name never reads as a cell; `~`, the obvious choice, is not-ready).
pub fn ellipsis(ascii: bool) -> char {
    if ascii { '*' } else { '…' }
}

/// Cut `s` to at most `max` characters, the last one an ellipsis when something was cut: a
/// bound on what cluster text (a message, a termination log) may cost in memory.
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some(_) => {
            let keep: String = s.chars().take(max.saturating_sub(1)).collect();
            format!("{keep}…")
        }
    }
}

/// Where each row of `s` starts (byte offsets, the first 0) when it is cut hard at `width`
/// terminal columns, as a terminal wraps: a character that does not fit at a row's end opens
/// the next row, so rows can be more than the total width divided by `width` (a wide character
/// at an edge). A character wider than the whole row is never drawn: it takes no room and opens
/// no row. An empty string is one row.
pub fn row_starts(s: &str, width: usize) -> impl Iterator<Item = usize> + '_ {
    let mut col = 0usize;
    std::iter::once(0).chain(s.char_indices().filter_map(move |(i, c)| {
        let w = c.width().unwrap_or(0);
        if w > width {
            return None;
        }
        if col + w > width {
            col = w;
            return Some(i);
        }
        col += w;
        None
    }))
}

/// Cut `s` to at most `width` terminal columns with a trailing ellipsis.
pub fn fit_end(s: &str, width: usize, ascii: bool) -> String {
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > width {
            break;
        }
        out.push(c);
        used += cw;
    }
    if width > 0 {
        out.push(ellipsis(ascii));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_chars_keeps_short_text_and_cuts_long_text_to_the_bound() {
        assert_eq!(truncate_chars("exceeded quota", 14), "exceeded quota");
        assert_eq!(truncate_chars("exceeded quota", 9), "exceeded…");
        assert_eq!(truncate_chars("日本語のテキスト", 3), "日本…");
        assert_eq!(truncate_chars("", 0), "");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(clean("kube-system/fluent-bit:3.1.8 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_title_escape_in_a_change_cause_becomes_visible_text() {
        let hostile = "deploy \u{1b}]0;pwned\u{7} done";
        assert_eq!(clean(hostile), "deploy \\x1b]0;pwned\\x07 done");
        assert!(is_clean(&clean(hostile)));
    }

    #[test]
    fn c1_del_newlines_and_tabs_are_escaped() {
        assert_eq!(clean("a\u{9b}2J\u{7f}b\nc\td\re"), "a\\x9b2J\\x7fb\\x0ac\\x09d\\x0de");
    }

    #[test]
    fn bidi_and_invisible_format_characters_are_escaped() {
        assert_eq!(clean("ab\u{202e}cd\u{2066}e\u{200b}f\u{feff}"), "ab\\u202ecd\\u2066e\\u200bf\\ufeff");
    }

    #[test]
    fn clean_owned_and_in_place_agree_with_clean() {
        let s = "x\u{1b}[31my".to_string();
        let mut t = s.clone();
        clean_in_place(&mut t);
        assert_eq!(t, clean(&s));
        assert_eq!(clean_owned(s.clone()), clean(&s));
    }
}
