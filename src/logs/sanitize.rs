//! Turns untrusted log bytes into text that is safe to put on a terminal.
//!
//! Container logs are arbitrary bytes. Anything that reaches a terminal cell raw can move the cursor,
//! retitle the window, write the clipboard (OSC 52) or hide text, so this module owns one rule: what
//! comes out of [`sanitize`] contains no ESC, no C0 control (tabs are expanded to spaces), no DEL, no
//! C1 control and no bidirectional override, and is valid UTF-8 (invalid bytes become U+FFFD, as
//! `String::from_utf8_lossy` does). It never does I/O.

use unicode_width::UnicodeWidthChar;

/// Columns between tab stops, as on a terminal.
pub const TAB_WIDTH: usize = 8;

/// Where we are inside an escape sequence (ECMA-48 §5.3–5.6).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seq {
    /// Plain text.
    Ground,
    /// After ESC.
    Escape,
    /// After ESC and one or more intermediate bytes (0x20–0x2F): ends at a final byte 0x30–0x7E.
    Intermediate,
    /// Control Sequence (ESC [ or U+009B): parameters and intermediates until a final byte 0x40–0x7E.
    Csi,
    /// Command string (OSC, DCS, SOS, PM, APC): until BEL or ST (ESC \ or U+009C).
    Str,
    /// ESC seen inside a command string: `\` ends it, anything else is swallowed with it.
    StrEscape,
}

/// Sanitize one log line (without its trailing newline) into displayable text.
///
/// Escape sequences (CSI such as colours, OSC such as titles and hyperlinks, DCS/APC/PM/SOS strings,
/// two-byte escapes) are removed whole; other control characters are dropped, except tab, which is
/// expanded to the next multiple of [`TAB_WIDTH`] display columns. A carriage return is dropped:
/// Windows line endings keep their text, and progress bars that redraw with `\r` show every frame
/// instead of overwriting each other. An unterminated sequence at the end of the line is dropped.
pub fn sanitize(bytes: &[u8]) -> String {
    let decoded = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(decoded.len());
    let mut col = 0usize;
    let mut state = Seq::Ground;
    for c in decoded.chars() {
        state = match state {
            Seq::Ground => match c {
                '\u{1b}' => Seq::Escape,
                '\u{9b}' => Seq::Csi,
                // OSC, DCS, SOS, PM, APC as 8-bit C1 controls.
                '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => Seq::Str,
                '\t' => {
                    let pad = TAB_WIDTH - col % TAB_WIDTH;
                    out.extend(std::iter::repeat_n(' ', pad));
                    col += pad;
                    Seq::Ground
                }
                c if is_dropped(c) => Seq::Ground,
                c => {
                    out.push(c);
                    col += c.width().unwrap_or(0);
                    Seq::Ground
                }
            },
            Seq::Escape => match c {
                '[' => Seq::Csi,
                ']' | 'P' | 'X' | '^' | '_' => Seq::Str,
                '\u{20}'..='\u{2f}' => Seq::Intermediate,
                // A final byte ends a two-byte escape (ESC c, ESC 7, ESC =, …).
                _ => Seq::Ground,
            },
            Seq::Intermediate => match c {
                '\u{20}'..='\u{2f}' => Seq::Intermediate,
                _ => Seq::Ground,
            },
            Seq::Csi => match c {
                // Parameter and intermediate bytes continue the sequence.
                '\u{20}'..='\u{3f}' => Seq::Csi,
                // ESC inside a CSI aborts it and starts a new escape, as terminals do.
                '\u{1b}' => Seq::Escape,
                // The final byte (or anything unexpected) ends it; the character is consumed.
                _ => Seq::Ground,
            },
            Seq::Str => match c {
                '\u{7}' | '\u{9c}' => Seq::Ground,
                '\u{1b}' => Seq::StrEscape,
                _ => Seq::Str,
            },
            Seq::StrEscape => match c {
                '\\' => Seq::Ground,
                '\u{1b}' => Seq::StrEscape,
                _ => Seq::Str,
            },
        };
    }
    out
}

/// Characters that must never reach a cell: C0 controls (tab is handled by the caller), DEL, C1
/// controls, and the bidirectional embedding/override/isolate controls that can make a line display
/// differently from what it contains (CVE-2021-42574, "Trojan Source").
pub fn is_dropped(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// True when `s` could be written to a terminal as-is: what [`sanitize`] guarantees.
pub fn is_terminal_safe(s: &str) -> bool {
    !s.chars().any(is_dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(sanitize(b"hello world: 42"), "hello world: 42");
    }

    #[test]
    fn sgr_colours_are_stripped() {
        assert_eq!(sanitize(b"\x1b[1;31mERROR\x1b[0m boom"), "ERROR boom");
    }

    #[test]
    fn osc_title_and_hyperlinks_are_stripped() {
        assert_eq!(sanitize(b"a\x1b]0;pwned\x07b"), "ab");
        assert_eq!(sanitize(b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "link");
        assert_eq!(sanitize(b"\x1b]52;c;ZXZpbA==\x07clip"), "clip");
    }

    #[test]
    fn eight_bit_c1_csi_is_stripped() {
        assert_eq!(sanitize("x\u{9b}2Jy".as_bytes()), "xy");
    }

    #[test]
    fn control_characters_are_dropped_and_tabs_expanded() {
        assert_eq!(sanitize(b"a\x07b\rc\x08d\x7f"), "abcd");
        assert_eq!(sanitize(b"ab\tc"), "ab      c");
        assert_eq!(sanitize(b"\tx"), "        x");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        assert_eq!(sanitize(b"ok \xff\xfe ok"), "ok \u{fffd}\u{fffd} ok");
    }

    #[test]
    fn unterminated_sequence_is_dropped() {
        assert_eq!(sanitize(b"text\x1b]0;never ends"), "text");
        assert_eq!(sanitize(b"text\x1b[12"), "text");
    }

    #[test]
    fn bidi_overrides_are_dropped() {
        assert_eq!(sanitize("a\u{202e}b\u{2066}c".as_bytes()), "abc");
    }

    #[test]
    fn wide_characters_count_two_columns_for_tabs() {
        assert_eq!(sanitize("日\tx".as_bytes()), "日      x");
    }
}
