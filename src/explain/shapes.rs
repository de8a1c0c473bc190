//! What an argument looks like, whatever program it belongs to: a URL, an IP address, a UNC
//! path, a file path (with an alternate data stream?), a registry key, an account. Also the
//! normal form of registry keys and the folder class of a path. Shapes only: what they mean is
//! kb/ data.

use crate::source::grammar::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Url,
    Ip,
    /// `\\host` or `\\host\share\...`
    Unc,
    File,
    RegistryKey,
    Account,
    Domain,
}

impl Shape {
    pub fn kind(self) -> &'static str {
        match self {
            Shape::Url => "url",
            Shape::Ip => "ip",
            Shape::Unc => "host",
            Shape::File => "file",
            Shape::RegistryKey => "registry-key",
            Shape::Account => "account",
            Shape::Domain => "domain",
        }
    }
}

const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "ps1", "psm1", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "hta",
    "sct", "scr", "cpl", "ocx", "msi", "inf", "xml", "xsl", "txt", "log", "dmp", "zip", "7z",
    "rar", "cab", "iso", "lnk", "csproj", "dit", "hive", "save", "b64", "bin", "dat", "jpg", "png",
    "doc", "docx", "xls", "xlsx", "pdf", "tmp", "reg", "config", "json", "csv", "crt", "cer",
    "pfx", "key", "kirbi", "ccache", "py", "sh", "com", "pif", "appx", "msix", "jar",
];

/// Extensions that run code: a file of these in a user-writable folder is a suspect.
const CODE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "ps1", "psm1", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "hta",
    "sct", "scr", "cpl", "ocx", "msi", "inf", "lnk", "com", "pif", "jar", "xsl", "csproj",
];

pub fn classify(s: &str) -> Option<Shape> {
    let t = s.trim_matches(|c: char| c == '"' || c == '\'' || c == ',' || c == ';');
    if t.len() < 2 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if [
        "http://", "https://", "ftp://", "ftps://", "file://", "ldap://", "smb://",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        || lower.starts_with("\\\\?\\unc")
    {
        return Some(Shape::Url);
    }
    if lower.starts_with("\\\\") && !lower.starts_with("\\\\?\\") && !lower.starts_with("\\\\.\\") {
        return Some(Shape::Unc);
    }
    if is_registry_key(&lower) {
        return Some(Shape::RegistryKey);
    }
    if is_ip(t) {
        return Some(Shape::Ip);
    }
    let b = t.as_bytes();
    let drive = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\';
    if drive || lower.starts_with("%") && lower.contains('\\') || lower.starts_with("\\\\?\\") {
        return Some(Shape::File);
    }
    if let Some((dom, user)) = t.split_once('\\')
        && !dom.is_empty()
        && !user.is_empty()
        && !user.contains('\\')
        && dom
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        && !dom.contains(':')
    {
        return Some(Shape::Account);
    }
    // evil.example.com is a host; payload.com (two labels, an executable extension) a file.
    if is_domain(&lower) && lower.split('.').count() >= 3 {
        return Some(Shape::Domain);
    }
    if let Some(ext) = extension(&lower)
        && FILE_EXTENSIONS.contains(&ext)
    {
        return Some(Shape::File);
    }
    if lower.contains('\\') && !lower.contains(' ') {
        return Some(Shape::File);
    }
    if is_domain(&lower) {
        return Some(Shape::Domain);
    }
    None
}

/// The extension of the last path component (without a stream name).
pub fn extension(path: &str) -> Option<&str> {
    let name = path.rsplit(['\\', '/']).next()?;
    let name = strip_stream(name);
    let (_, ext) = name.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 8).then_some(ext)
}

fn strip_stream(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

pub fn runs_code(path: &str) -> bool {
    extension(&path.to_ascii_lowercase()).is_some_and(|e| CODE_EXTENSIONS.contains(&e))
}

/// `readme.txt:evil.exe`, `C:\temp:ttt`, but not `C:\x` nor `http://x:80`.
pub fn has_stream(path: &str) -> bool {
    let p = path.trim_matches('"');
    let p = p.strip_prefix("\\\\?\\").unwrap_or(p);
    let b = p.as_bytes();
    let rest = if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        &p[2..]
    } else {
        p
    };
    if p.contains("://") {
        return false;
    }
    // PowerShell drives and variables: $env:TEMP, Env:, Cert:\, HKLM:\, Variable:x.
    let lower = rest.to_ascii_lowercase();
    if [
        "$env:",
        "env:",
        "cert:",
        "variable:",
        "function:",
        "alias:",
        "hklm:",
        "hkcu:",
        "wsman:",
    ]
    .iter()
    .any(|d| lower.contains(d))
    {
        return false;
    }
    match rest.rsplit_once(':') {
        // A stream name follows a file or folder name, and is itself a plain name.
        Some((before, stream)) => {
            !before.is_empty()
                && !before.ends_with(['\\', '/'])
                && !stream.is_empty()
                && !stream.contains(['\\', '/'])
                && stream != "$DATA"
                && !stream.starts_with(|c: char| c.is_ascii_digit() && before.ends_with(']'))
        }
        None => false,
    }
}

fn is_ip(s: &str) -> bool {
    let host = s.split([':', '/']).next().unwrap_or(s);
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

fn is_domain(s: &str) -> bool {
    const TLDS: &[&str] = &[
        "com", "net", "org", "io", "ru", "cn", "jp", "info", "biz", "xyz", "top", "local", "corp",
        "lan", "onion", "co", "me", "app", "dev", "cloud", "site", "online",
    ];
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|t| TLDS.contains(t))
}

/// The host of a URL (or of `\\host\share`), and whether it is an IP address.
pub fn host_of(s: &str) -> Option<(String, bool)> {
    let t = s.trim_matches('"');
    let rest = if let Some((_, r)) = t.split_once("://") {
        r
    } else {
        t.strip_prefix("\\\\")?
    };
    let host = rest
        .split(['/', '\\', '?', '#'])
        .next()?
        .rsplit('@')
        .next()?;
    let host = if host.starts_with('[') {
        host
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| (host.to_string(), is_ip(host) || host.starts_with('[')))
}

/// `C$`, `ADMIN$`, `IPC$` in a UNC path.
pub fn admin_share(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.strip_prefix("\\\\")
        .and_then(|r| r.split('\\').nth(1))
        .is_some_and(|share| share.ends_with('$'))
}

const HIVES: &[(&str, &str)] = &[
    ("hkey_local_machine", "hklm"),
    ("hkey_current_user", "hkcu"),
    ("hkey_classes_root", "hkcr"),
    ("hkey_users", "hku"),
    ("hkey_current_config", "hkcc"),
    ("hklm", "hklm"),
    ("hkcu", "hkcu"),
    ("hkcr", "hkcr"),
    ("hku", "hku"),
    ("hkcc", "hkcc"),
];

fn is_registry_key(lower: &str) -> bool {
    normalize_key(lower).is_some()
}

/// A registry key in one form: hive abbreviated, lower case, no `Registry::`, no
/// `Wow6432Node`, `ControlSet001` as `CurrentControlSet`, no trailing backslash.
/// None when it is not a registry path.
pub fn normalize_key(key: &str) -> Option<String> {
    let mut k = key.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    for p in [
        "microsoft.powershell.core\\registry::",
        "registry::",
        "\\\\.\\",
    ] {
        if let Some(r) = k.strip_prefix(p) {
            k = r.to_string();
        }
    }
    // A remote registry path: \\host\HKLM\...
    if let Some(r) = k.strip_prefix("\\\\")
        && let Some((_, rest)) = r.split_once('\\')
    {
        k = rest.to_string();
    }
    let (hive, rest) = match k.split_once('\\') {
        Some((h, r)) => (h.to_string(), r.to_string()),
        None => (k.clone(), String::new()),
    };
    let hive = hive.trim_end_matches(':');
    let short = HIVES.iter().find(|(long, _)| *long == hive)?.1;
    let mut parts: Vec<String> = rest
        .split('\\')
        .filter(|p| !p.is_empty() && *p != "wow6432node")
        .map(|p| {
            if p.len() == 13 && p.starts_with("controlset00") {
                "currentcontrolset".to_string()
            } else {
                p.to_string()
            }
        })
        .collect();
    parts.insert(0, short.to_string());
    Some(parts.join("\\"))
}

/// Whether a rule's key (normalised) covers `key` (normalised): a prefix at a key boundary,
/// `*` standing for one key name.
pub fn key_covers(rule: &str, key: &str) -> bool {
    let r: Vec<&str> = rule.split('\\').collect();
    let k: Vec<&str> = key.split('\\').collect();
    r.len() <= k.len() && r.iter().zip(&k).all(|(a, b)| *a == "*" || a == b)
}

/// The folder class of a path: the first location with a matching prefix.
pub fn location<'a>(locations: &'a [Location], path: &str) -> Option<&'a Location> {
    let p = path
        .trim_matches('"')
        .to_ascii_lowercase()
        .replace('/', "\\");
    let parts: Vec<&str> = p.split('\\').collect();
    locations.iter().find(|l| {
        l.paths.iter().any(|lp| {
            let lp = lp.to_ascii_lowercase();
            let lps: Vec<&str> = lp.trim_end_matches('\\').split('\\').collect();
            lps.len() < parts.len() && lps.iter().zip(&parts).all(|(a, b)| *a == "*" || a == b)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_common_arguments() {
        assert_eq!(classify("http://198.51.100.7/a.exe"), Some(Shape::Url));
        assert_eq!(classify(r"\\10.0.0.5\C$"), Some(Shape::Unc));
        assert_eq!(classify(r"C:\Users\Public\a.exe"), Some(Shape::File));
        assert_eq!(classify(r"HKCU\Software\x"), Some(Shape::RegistryKey));
        assert_eq!(classify(r"HKLM:\SOFTWARE\x"), Some(Shape::RegistryKey));
        assert_eq!(classify(r"corp\admin"), Some(Shape::Account));
        assert_eq!(classify("10.0.0.5"), Some(Shape::Ip));
        assert_eq!(classify("payload.exe"), Some(Shape::File));
        assert_eq!(classify("evil.example.com"), Some(Shape::Domain));
        assert_eq!(classify("/create"), None);
        assert_eq!(classify("ONCE"), None);
    }

    #[test]
    fn streams_are_told_from_drives_and_ports() {
        assert!(has_stream(r"C:\temp\a.txt:hidden.txt"));
        assert!(has_stream(r"readme.txt:evil.exe"));
        assert!(has_stream(r"C:\temp:ttt"));
        assert!(!has_stream(r"C:\temp\a.txt"));
        assert!(!has_stream("http://x.com:8080/a"));
        assert!(!has_stream(r"C:\"));
        assert!(!has_stream("$env:temp"));
        assert!(!has_stream(r"$env:TEMP\a.exe"));
    }

    #[test]
    fn registry_keys_normalise_and_match() {
        let k = normalize_key(
            r"HKEY_LOCAL_MACHINE\SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Run",
        )
        .unwrap();
        assert_eq!(k, r"hklm\software\microsoft\windows\currentversion\run");
        let k2 = normalize_key(r"Registry::HKLM\System\ControlSet001\Services\x").unwrap();
        assert_eq!(k2, r"hklm\system\currentcontrolset\services\x");
        assert!(key_covers(r"hklm\system\currentcontrolset\services\*", &k2));
        assert!(!key_covers(
            r"hklm\software\microsoft\windows\currentversion\runonce",
            &k
        ));
        assert_eq!(normalize_key("HKCU:").as_deref(), Some("hkcu"));
        assert!(normalize_key(r"C:\x").is_none());
    }
}
