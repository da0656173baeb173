//! Go's `fmt` as templates reach it: `print` (`fmt.Sprint`), `println` and `printf` with its verbs,
//! flags, width and precision, including Go's in-band error texts (`%!d(string=x)`,
//! `%!d(MISSING)`, `%!(EXTRA int=1)`).

use super::parse::go_quote;
use super::value::{Value, format_float_g};

/// `fmt.Sprint`: operands are separated by a space when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        a.write_go(&mut out);
    }
    out
}

/// `fmt.Sprintln`: always space-separated, newline at the end.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = args
        .iter()
        .map(Value::to_go_string)
        .collect::<Vec<_>>()
        .join(" ");
    out.push('\n');
    out
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    // The format and about as much again for the arguments, so most calls allocate once.
    let mut out = String::with_capacity(2 * format.len());
    let mut argi = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // Flags.
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if let Some(&(_, '*')) = chars.peek() {
            chars.next();
            match args.get(argi) {
                Some(Value::Int(w)) => {
                    if *w < 0 {
                        spec.minus = true;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                    if too_large(spec.width) {
                        spec.width = None;
                        out.push_str("%!(BADWIDTH)");
                    }
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            let mut w = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                w.push(d);
                chars.next();
            }
            if !w.is_empty() {
                spec.width = w.parse().ok();
                if spec.width.is_none() || too_large(spec.width) {
                    spec.width = None;
                    out.push_str("%!(BADWIDTH)");
                }
            }
        }
        // Precision.
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            if let Some(&(_, '*')) = chars.peek() {
                chars.next();
                match args.get(argi) {
                    Some(Value::Int(p)) if *p >= 0 && !too_large(Some(*p as usize)) => {
                        spec.prec = Some(*p as usize)
                    }
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                let mut p = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    p.push(d);
                    chars.next();
                }
                spec.prec = Some(p.parse().unwrap_or(usize::MAX));
                if too_large(spec.prec) {
                    spec.prec = None;
                    out.push_str("%!(BADPREC)");
                }
            }
        }
        if spec.minus {
            spec.zero = false;
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == 'v' {
            // `%+v` only changes structs; `%#v` is Go syntax.
            spec.plus = false;
            if spec.sharp {
                out.push_str(&pad(go_syntax(args.get(argi).unwrap_or(&Value::Nil)), spec));
                argi += 1;
                continue;
            }
        }
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        // A string by `%s`/`%v` without width or precision is itself (`format_one` copies it).
        if let (Value::Str(s), 's' | 'v', None, None) = (arg, verb, spec.width, spec.prec) {
            out.push_str(s);
            continue;
        }
        out.push_str(&format_one(verb, spec, arg));
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| match a {
                Value::Nil => "<nil>".to_string(),
                a => format!("{}={}", a.type_name(), a.to_go_string()),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// Go's `fmt` refuses widths and precisions above 10^6 (`%!(BADWIDTH)`, `%!(BADPREC)`) instead
/// of padding gigabytes; found by the `template` fuzz target (`%9223372036854775807d` aborted the
/// process on the allocation).
fn too_large(n: Option<usize>) -> bool {
    n.is_some_and(|n| n > 1_000_000)
}

fn bad_verb(verb: char, arg: &Value) -> String {
    match arg {
        Value::Nil => format!("%!{verb}(<nil>)"),
        a => format!("%!{verb}({}={})", a.type_name(), a.to_go_string()),
    }
}

fn pad(s: String, spec: Spec) -> String {
    let Some(w) = spec.width else { return s };
    let n = s.chars().count();
    if n >= w {
        return s;
    }
    let fill = w - n;
    if spec.minus {
        format!("{s}{}", " ".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

/// Pads a number; zero padding goes after the sign.
fn pad_num(s: String, spec: Spec) -> String {
    if spec.zero
        && let Some(w) = spec.width
    {
        let n = s.chars().count();
        if n < w {
            let (sign, digits) = if s.starts_with(['-', '+', ' ']) {
                s.split_at(1)
            } else {
                ("", s.as_str())
            };
            return format!("{sign}{}{digits}", "0".repeat(w - n));
        }
        return s;
    }
    pad(s, spec)
}

fn sign(neg: bool, spec: Spec) -> &'static str {
    if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn format_one(verb: char, spec: Spec, arg: &Value) -> String {
    if verb == 'T' {
        return pad(arg.type_name().to_string(), spec);
    }
    match arg {
        Value::Nil => match verb {
            'v' => pad("<nil>".into(), spec),
            _ => bad_verb(verb, arg),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(b.to_string(), spec),
            _ => bad_verb(verb, arg),
        },
        Value::Int(i) => format_int(verb, spec, *i).unwrap_or_else(|| bad_verb(verb, arg)),
        Value::Float(f) => format_float(verb, spec, *f).unwrap_or_else(|| bad_verb(verb, arg)),
        Value::Str(s) => format_str(verb, spec, s).unwrap_or_else(|| bad_verb(verb, arg)),
        Value::List(l) => {
            if verb == 'v' && spec.sharp {
                return pad(go_syntax(arg), spec);
            }
            let mut out = String::from("[");
            for (i, v) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&format_one(verb, spec, v));
            }
            out.push(']');
            out
        }
        Value::Map(m) => {
            if verb == 'v' && spec.sharp {
                return pad(go_syntax(arg), spec);
            }
            let mut out = String::from("map[");
            for (i, (k, v)) in Value::sorted_entries(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&format_one(verb, spec, &Value::str(k)));
                out.push(':');
                out.push_str(&format_one(verb, spec, v));
            }
            out.push(']');
            out
        }
    }
}

/// `%#v`.
fn go_syntax(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Str(s) => go_quote(s),
        Value::List(l) => {
            format!(
                "[]interface {{}}{{{}}}",
                l.iter().map(go_syntax).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Map(m) => format!(
            "map[string]interface {{}}{{{}}}",
            Value::sorted_entries(m)
                .into_iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_syntax(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_go_string(),
    }
}

fn format_int(verb: char, spec: Spec, i: i64) -> Option<String> {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let digits = match verb {
        'd' | 'v' => u.to_string(),
        'b' => format!("{u:b}"),
        'o' => {
            if spec.sharp {
                format!("0{u:o}")
            } else {
                format!("{u:o}")
            }
        }
        'O' => format!("0o{u:o}"),
        'x' => {
            if spec.sharp {
                format!("0x{u:x}")
            } else {
                format!("{u:x}")
            }
        }
        'X' => {
            if spec.sharp {
                format!("0X{u:X}")
            } else {
                format!("{u:X}")
            }
        }
        'c' => {
            return Some(pad(
                char::from_u32(i as u32).unwrap_or('\u{fffd}').to_string(),
                spec,
            ));
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
            let q = go_quote(&c.to_string());
            let inner = &q[1..q.len() - 1];
            let inner = if inner == "\\\"" {
                "\""
            } else if c == '\'' {
                "\\'"
            } else {
                inner
            };
            return Some(pad(format!("'{inner}'"), spec));
        }
        'U' => return Some(pad(format!("U+{:04X}", i), spec)),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => return None,
        _ => return None,
    };
    let digits = match spec.prec {
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits,
    };
    let mut spec2 = spec;
    if spec.prec.is_some() {
        spec2.zero = false;
    }
    Some(pad_num(format!("{}{digits}", sign(neg, spec)), spec2))
}

fn exp_form(s: String) -> String {
    // Rust prints `1.5e2`/`1.5e-7`; Go prints `1.5e+02`/`1.5e-07`.
    let Some((m, e)) = s.split_once('e') else {
        return s;
    };
    let (esign, edigits) = if let Some(d) = e.strip_prefix('-') {
        ('-', d)
    } else {
        ('+', e)
    };
    let edigits = if edigits.len() < 2 {
        format!("0{edigits}")
    } else {
        edigits.to_string()
    };
    format!("{m}e{esign}{edigits}")
}

fn format_float(verb: char, spec: Spec, f: f64) -> Option<String> {
    if f.is_nan() || f.is_infinite() {
        if !matches!(verb, 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'v') {
            return None;
        }
        let s = if f.is_nan() {
            "NaN".to_string()
        } else if f > 0.0 {
            format!(
                "{}Inf",
                if spec.plus {
                    "+"
                } else if spec.space {
                    " "
                } else {
                    ""
                }
            )
        } else {
            "-Inf".to_string()
        };
        return Some(pad(
            s,
            Spec {
                zero: false,
                ..spec
            },
        ));
    }
    let neg = f.is_sign_negative();
    let a = f.abs();
    let body = match verb {
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), a),
        'e' | 'E' => {
            let s = exp_form(format!("{:.*e}", spec.prec.unwrap_or(6), a));
            if verb == 'E' { s.to_uppercase() } else { s }
        }
        'g' | 'G' | 'v' => {
            let s = format_float_g(a, spec.prec, verb == 'G');
            if spec.sharp && !s.contains('.') {
                format!("{s}.")
            } else {
                s
            }
        }
        _ => return None,
    };
    Some(pad_num(format!("{}{body}", sign(neg, spec)), spec))
}

fn format_str(verb: char, spec: Spec, s: &str) -> Option<String> {
    let truncated: String = match spec.prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    };
    Some(match verb {
        's' | 'v' => pad(truncated, spec),
        'q' => {
            if spec.sharp && !s.contains('`') && !s.chars().any(|c| c.is_control() && c != '\t') {
                pad(format!("`{truncated}`"), spec)
            } else if spec.plus {
                let q = go_quote(&truncated);
                let mut ascii = String::new();
                for c in q.chars() {
                    if c.is_ascii() {
                        ascii.push(c);
                    } else if (c as u32) < 0x10000 {
                        ascii.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        ascii.push_str(&format!("\\U{:08x}", c as u32));
                    }
                }
                pad(ascii, spec)
            } else {
                pad(go_quote(&truncated), spec)
            }
        }
        'x' | 'X' => {
            let bytes = match spec.prec {
                Some(p) => &s.as_bytes()[..p.min(s.len())],
                None => s.as_bytes(),
            };
            let mut out = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    out.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    out.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    out.push_str(&format!("{b:02x}"));
                } else {
                    out.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, spec)
        }
        _ => return None,
    })
}
