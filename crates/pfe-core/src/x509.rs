//! What a certificate names, read as Prosody reads it (util.x509): the DNS
//! names of the subjectAltName, else the subject's common names; and
//! whether those names cover a host (a wildcard covers exactly one label).
//! Shared by `pfe certs` (files on disk) and `pfe check` (what is served).

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// The names `cert` is for, lowercased.
pub fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                names.push(d.to_ascii_lowercase());
            }
        }
    }
    if names.is_empty() {
        for cn in cert.subject().iter_common_name() {
            if let Ok(s) = cn.as_str() {
                names.push(s.to_ascii_lowercase());
            }
        }
    }
    names
}

/// Whether `names` cover `host` (case-insensitive, a trailing dot ignored).
pub fn covers(names: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    names.iter().any(|n| {
        if let Some(rest) = n.strip_prefix("*.") {
            host.split_once('.')
                .is_some_and(|(l, r)| !l.is_empty() && r == rest)
        } else {
            *n == host
        }
    })
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_wildcard_covers_one_label() {
        let names = vec!["x.org".to_string(), "*.x.org".to_string()];
        assert!(covers(&names, "X.org."));
        assert!(covers(&names, "upload.x.org"));
        assert!(!covers(&names, "a.upload.x.org"));
        assert!(!covers(&names, "y.org"));
    }
}
