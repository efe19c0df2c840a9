//! Parsed `<stream:features>`.

use super::xml::Element;

/// `urn:ietf:params:xml:ns:xmpp-tls`
pub const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// `urn:ietf:params:xml:ns:xmpp-sasl`
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// `urn:xmpp:sasl:2` (XEP-0388)
pub const NS_SASL2: &str = "urn:xmpp:sasl:2";
/// `urn:ietf:params:xml:ns:xmpp-bind`
pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// `urn:xmpp:bind:0` (Bind 2, XEP-0386)
pub const NS_BIND2: &str = "urn:xmpp:bind:0";
/// `urn:xmpp:fast:0` (XEP-0484)
pub const NS_FAST: &str = "urn:xmpp:fast:0";
/// `urn:xmpp:sm:3` (XEP-0198)
pub const NS_SM: &str = "urn:xmpp:sm:3";
/// `urn:xmpp:csi:0` (XEP-0352)
pub const NS_CSI: &str = "urn:xmpp:csi:0";
/// `http://jabber.org/features/iq-register` (XEP-0077 stream feature)
pub const NS_REGISTER_FEATURE: &str = "http://jabber.org/features/iq-register";

/// What a server offered in one `<stream:features>`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Features {
    /// Every child as (namespace, element name), in order.
    pub children: Vec<(String, String)>,
    /// `<starttls/>` is offered.
    pub starttls: bool,
    /// `<starttls><required/></starttls>`.
    pub starttls_required: bool,
    /// RFC 6120 SASL mechanisms (`<mechanisms>`).
    pub sasl_mechanisms: Vec<String>,
    /// SASL2 mechanisms (`<authentication xmlns='urn:xmpp:sasl:2'>`).
    pub sasl2_mechanisms: Vec<String>,
    /// Namespaces of the children of SASL2's `<inline>` (Bind2, FAST, SM...).
    pub sasl2_inline: Vec<String>,
    /// The raw element.
    pub raw: Element,
    /// Its size on the wire in bytes.
    pub size: usize,
}

impl Features {
    /// Interpret a `<stream:features>` element of `size` bytes.
    pub fn from_element(el: &Element, size: usize) -> Features {
        let mut f = Features {
            children: el
                .children
                .iter()
                .map(|c| (c.ns.clone(), c.name.clone()))
                .collect(),
            raw: el.clone(),
            size,
            ..Default::default()
        };
        if let Some(st) = el.child("starttls", NS_TLS) {
            f.starttls = true;
            f.starttls_required = st.child("required", NS_TLS).is_some();
        }
        if let Some(m) = el.child("mechanisms", NS_SASL) {
            f.sasl_mechanisms = m
                .children_named("mechanism", NS_SASL)
                .map(|c| c.text.trim().to_string())
                .collect();
        }
        if let Some(a) = el.child("authentication", NS_SASL2) {
            f.sasl2_mechanisms = a
                .children_named("mechanism", NS_SASL2)
                .map(|c| c.text.trim().to_string())
                .collect();
            if let Some(inline) = a.child("inline", NS_SASL2) {
                f.sasl2_inline = inline.children.iter().map(|c| c.ns.clone()).collect();
            }
        }
        f
    }

    /// Whether a child `name` in namespace `ns` is present.
    pub fn has(&self, ns: &str, name: &str) -> bool {
        self.children.iter().any(|(n, e)| n == ns && e == name)
    }

    /// Whether any child is in namespace `ns`.
    pub fn has_ns(&self, ns: &str) -> bool {
        self.children.iter().any(|(n, _)| n == ns)
    }

    /// Whether SASL2 inlines the feature with namespace `ns`.
    pub fn has_sasl2_inline(&self, ns: &str) -> bool {
        self.sasl2_inline.iter().any(|n| n == ns)
    }

    /// One-line description for messages, e.g. `starttls, mechanisms[SCRAM-SHA-1]`.
    pub fn summary(&self) -> String {
        if self.children.is_empty() {
            return "(no features)".into();
        }
        self.children
            .iter()
            .map(|(ns, name)| match (ns.as_str(), name.as_str()) {
                (NS_SASL, "mechanisms") => {
                    format!("mechanisms[{}]", self.sasl_mechanisms.join(" "))
                }
                (NS_SASL2, "authentication") => format!(
                    "sasl2[{}; inline {}]",
                    self.sasl2_mechanisms.join(" "),
                    self.sasl2_inline.join(" ")
                ),
                _ => format!("{name}({ns})"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmpp::xml::parse_element;

    #[test]
    fn parses_prosody_style_features() {
        let xml = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
            <authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism>\
            <inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/></inline></bind>\
            <fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism></fast><sm xmlns='urn:xmpp:sm:3'/></inline></authentication>\
            <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>\
            </stream:features>";
        let el = parse_element(xml.as_bytes(), &[]).unwrap();
        let f = Features::from_element(&el, xml.len());
        assert_eq!(f.sasl_mechanisms, ["SCRAM-SHA-256", "SCRAM-SHA-1"]);
        assert_eq!(f.sasl2_mechanisms, ["SCRAM-SHA-1", "PLAIN"]);
        assert_eq!(f.sasl2_inline, [NS_BIND2, NS_FAST, NS_SM]);
        assert!(f.has(NS_SASL2, "authentication"));
        assert!(!f.starttls);
        assert!(
            f.summary()
                .contains("mechanisms[SCRAM-SHA-256 SCRAM-SHA-1]")
        );
    }
}
