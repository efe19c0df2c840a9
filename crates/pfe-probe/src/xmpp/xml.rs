//! XML for XMPP streams: a tiny element tree, an escaper, and a
//! streaming-safe framer that cuts a byte stream into the stream header,
//! top-level elements (stanzas, features, SASL nonzas) and the stream close.
//!
//! The framer works on raw bytes and only finds element *boundaries* (tag
//! depth, quoted attribute values, comments, CDATA), so it copes with XML
//! split anywhere across TCP reads and with whitespace keepalives. Each
//! complete element is then parsed by `quick-xml` into an [`Element`], with
//! namespaces resolved against the declarations of the stream header.

use std::fmt;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

/// Namespace of the stream element and `<stream:features>`/`<stream:error>`.
pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
/// Default namespace of a client-to-server stream.
pub const NS_CLIENT: &str = "jabber:client";
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// An XML element: local name, resolved namespace, attributes (qualified
/// names as written, e.g. `xml:lang`), child elements and concatenated text.
///
/// Mixed-content ordering is not kept; XMPP protocol elements do not need it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Element {
    /// Local name (no prefix).
    pub name: String,
    /// Resolved namespace URI ("" when none is in scope).
    pub ns: String,
    /// Attributes in document order, `xmlns` declarations excluded.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// All direct text content, concatenated and unescaped.
    pub text: String,
}

impl Element {
    /// A new element `name` in namespace `ns`.
    pub fn new(name: impl Into<String>, ns: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            ns: ns.into(),
            ..Default::default()
        }
    }

    /// Builder: add (or replace) an attribute.
    pub fn with_attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_attr(key, value);
        self
    }

    /// Builder: append a child element.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    /// Builder: set the text content.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }

    /// Set (or replace) an attribute.
    pub fn set_attr(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.attrs.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.attrs.push((key, value));
        }
    }

    /// The value of attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this element is `name` in namespace `ns`.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// The first child called `name` in namespace `ns`.
    pub fn child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(name, ns))
    }

    /// All children called `name` in namespace `ns`.
    pub fn children_named<'a>(
        &'a self,
        name: &'a str,
        ns: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(name, ns))
    }

    /// Serialise, declaring `xmlns` wherever the namespace differs from the
    /// parent's; `parent_ns` is the namespace in scope where it is written
    /// (e.g. [`NS_CLIENT`] for stanzas on a client stream).
    pub fn to_xml_in(&self, parent_ns: &str) -> String {
        let mut out = String::new();
        self.write_into(&mut out, parent_ns);
        out
    }

    fn write_into(&self, out: &mut String, parent_ns: &str) {
        out.push('<');
        out.push_str(&self.name);
        if self.ns != parent_ns {
            out.push_str(" xmlns='");
            out.push_str(&escape(&self.ns));
            out.push('\'');
        }
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("='");
            out.push_str(&escape(v));
            out.push('\'');
        }
        if self.children.is_empty() && self.text.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        out.push_str(&escape(&self.text));
        for c in &self.children {
            c.write_into(out, &self.ns);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

impl fmt::Display for Element {
    /// Standalone serialisation (the root always declares its namespace).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xml_in("\u{0}"))
    }
}

/// Escape text for use in element content or a single- or double-quoted
/// attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The opening `<stream:stream>` tag the server sent.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StreamHeader {
    /// Attributes as written (`id`, `from`, `version`, `xml:lang`, ...),
    /// namespace declarations excluded.
    pub attrs: Vec<(String, String)>,
    /// Default namespace declared on the header (normally `jabber:client`).
    pub default_ns: String,
}

impl StreamHeader {
    /// The value of attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One unit cut from the stream by the [`Framer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The `<stream:stream ...>` header.
    Header(StreamHeader),
    /// A complete top-level element and its size in bytes on the wire.
    Element(Element, usize),
    /// The closing `</stream:stream>`.
    Close,
}

/// What went wrong while framing or parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Not well-formed or not allowed in an XMPP stream; `near` is a
    /// printable excerpt of the offending bytes.
    Malformed { detail: String, near: String },
    /// An element (or garbage without an end) grew past the limit.
    TooLarge { limit: usize, seen: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Malformed { detail, near } => write!(f, "{detail} (near {near:?})"),
            FrameError::TooLarge { limit, seen } => write!(
                f,
                "an element exceeds the limit of {limit} bytes ({seen} bytes buffered without an end)"
            ),
        }
    }
}

/// A printable excerpt (at most 80 chars) of some bytes, for error messages.
pub fn snippet(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]);
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() && c != ' ' { '.' } else { c })
        .take(80)
        .collect();
    if bytes.len() > 80 {
        out.push('…');
    }
    out
}

fn malformed(detail: impl Into<String>, near: &[u8]) -> FrameError {
    FrameError::Malformed {
        detail: detail.into(),
        near: snippet(near),
    }
}

/// Streaming framer. Feed bytes with [`Framer::push`] and pull frames with
/// [`Framer::next_frame`] until it returns `Ok(None)` (more data needed).
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    header_seen: bool,
    /// Namespace declarations of the stream header: (prefix, uri), "" = default.
    scope: Vec<(String, String)>,
    limit: usize,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Index of the `>` closing a tag that starts at `start` (`<`), honouring
/// quoted attribute values; `None` if the buffer ends first.
fn tag_end(buf: &[u8], start: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &b) in buf.iter().enumerate().skip(start + 1) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'>' => return Some(i),
                _ => {}
            },
        }
    }
    None
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl Framer {
    /// A framer that refuses elements larger than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Framer {
            buf: Vec::new(),
            header_seen: false,
            scope: Vec::new(),
            limit,
        }
    }

    /// Change the size limit (e.g. a smaller one while awaiting features).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// The current size limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Append received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet framed.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Forget the stream header (after STARTTLS or SASL success the stream
    /// restarts). Buffered bytes are dropped: a server must send nothing
    /// between `<proceed/>`/`<success/>` and our new header.
    pub fn restart(&mut self) {
        self.buf.clear();
        self.header_seen = false;
        self.scope.clear();
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            let ws = self.buf.iter().take_while(|b| is_ws(**b)).count();
            if ws > 0 {
                self.buf.drain(..ws);
            }
            if self.buf.is_empty() {
                return Ok(None);
            }
            let buf = &self.buf;
            if buf[0] != b'<' {
                let what = if self.header_seen {
                    "text outside any element in the stream (expected an element such as <iq/>)"
                } else {
                    "expected an XML stream header <stream:stream ...>, got non-XML data"
                };
                return Err(malformed(what, buf));
            }
            if buf.len() < 2 {
                return Ok(None);
            }
            match buf[1] {
                b'?' => {
                    if self.header_seen {
                        return Err(malformed(
                            "processing instruction inside the stream (not allowed in XMPP)",
                            buf,
                        ));
                    }
                    match find(buf, b"?>") {
                        Some(end) => {
                            self.buf.drain(..end + 2);
                            continue;
                        }
                        None => return self.need_more(),
                    }
                }
                b'!' => {
                    return Err(malformed(
                        "comment, CDATA or DTD at stream level (not allowed in XMPP)",
                        buf,
                    ));
                }
                b'/' => {
                    let Some(end) = tag_end(buf, 0) else {
                        return self.need_more();
                    };
                    if !self.header_seen {
                        return Err(malformed("closing tag before the stream header", buf));
                    }
                    self.buf.drain(..=end);
                    return Ok(Some(Frame::Close));
                }
                _ => {}
            }
            if !self.header_seen {
                let Some(end) = tag_end(buf, 0) else {
                    return self.need_more();
                };
                let header = self.parse_header(end)?;
                self.buf.drain(..=end);
                self.header_seen = true;
                return Ok(Some(Frame::Header(header)));
            }
            let Some(end) = element_end(buf)? else {
                return self.need_more();
            };
            if end > self.limit {
                return Err(FrameError::TooLarge {
                    limit: self.limit,
                    seen: end,
                });
            }
            let el = parse_element(&buf[..end], &self.scope)?;
            self.buf.drain(..end);
            return Ok(Some(Frame::Element(el, end)));
        }
    }

    fn need_more(&self) -> Result<Option<Frame>, FrameError> {
        if self.buf.len() > self.limit {
            Err(FrameError::TooLarge {
                limit: self.limit,
                seen: self.buf.len(),
            })
        } else {
            Ok(None)
        }
    }

    fn parse_header(&mut self, end: usize) -> Result<StreamHeader, FrameError> {
        let raw = &self.buf[..=end];
        if raw[end - 1] == b'/' {
            return Err(malformed(
                "the stream header is self-closing (the server opened and closed the stream at once)",
                raw,
            ));
        }
        let content = std::str::from_utf8(&raw[1..end])
            .map_err(|_| malformed("stream header is not valid UTF-8", raw))?;
        let name_len = content
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(content.len());
        let qname = &content[..name_len];
        let start = BytesStart::from_content(content, name_len);
        let mut header = StreamHeader::default();
        let mut scope = Vec::new();
        for a in start.attributes() {
            let a =
                a.map_err(|e| malformed(format!("bad attribute in stream header: {e}"), raw))?;
            let key = String::from(a.key.as_ref());
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| malformed(format!("bad attribute value in stream header: {e}"), raw))?
                .into_owned();
            if key == "xmlns" {
                header.default_ns = value.clone();
                scope.push((String::new(), value));
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                scope.push((p.to_string(), value));
            } else {
                header.attrs.push((key, value));
            }
        }
        let (prefix, local) = split_qname(qname);
        let ns = scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
            .unwrap_or("");
        if local != "stream" || ns != NS_STREAMS {
            return Err(malformed(
                format!(
                    "expected a stream header <stream:stream xmlns:stream='{NS_STREAMS}'>, got <{qname}> in namespace {ns:?}"
                ),
                raw,
            ));
        }
        self.scope = scope;
        Ok(header)
    }
}

/// End (exclusive) of the element starting at `buf[0] == b'<'`, or `None`
/// if incomplete.
fn element_end(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    let mut depth: usize = 0;
    let mut i = 0;
    while i < buf.len() {
        if buf[i] != b'<' {
            match buf[i..].iter().position(|&b| b == b'<') {
                Some(off) => i += off,
                None => return Ok(None),
            }
            continue;
        }
        if i + 1 >= buf.len() {
            return Ok(None);
        }
        match buf[i + 1] {
            b'/' => {
                let Some(gt) = tag_end(buf, i) else {
                    return Ok(None);
                };
                if depth == 0 {
                    return Err(malformed("unbalanced closing tag", &buf[i..]));
                }
                depth -= 1;
                i = gt + 1;
                if depth == 0 {
                    return Ok(Some(i));
                }
            }
            b'!' => {
                let rest = &buf[i..];
                if rest.starts_with(b"<!--") {
                    match find(&rest[4..], b"-->") {
                        Some(off) => i += 4 + off + 3,
                        None => return Ok(None),
                    }
                } else if rest.starts_with(b"<![CDATA[") {
                    match find(&rest[9..], b"]]>") {
                        Some(off) => i += 9 + off + 3,
                        None => return Ok(None),
                    }
                } else if b"<![CDATA[".starts_with(rest) || b"<!--".starts_with(rest) {
                    return Ok(None);
                } else {
                    return Err(malformed(
                        "DTD or declaration inside a stanza (not allowed in XMPP)",
                        rest,
                    ));
                }
            }
            b'?' => {
                return Err(malformed(
                    "processing instruction inside a stanza (not allowed in XMPP)",
                    &buf[i..],
                ));
            }
            _ => {
                let Some(gt) = tag_end(buf, i) else {
                    return Ok(None);
                };
                i = gt + 1;
                if buf[gt - 1] != b'/' {
                    depth += 1;
                } else if depth == 0 {
                    return Ok(Some(i));
                }
            }
        }
    }
    Ok(None)
}

fn split_qname(q: &str) -> (&str, &str) {
    match q.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", q),
    }
}

fn resolve_entity(name: &str) -> Option<String> {
    Some(match name {
        "lt" => "<".into(),
        "gt" => ">".into(),
        "amp" => "&".into(),
        "apos" => "'".into(),
        "quot" => "\"".into(),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?.to_string()
        }
    })
}

/// Parse one complete element with namespace declarations `scope` in force.
pub fn parse_element(bytes: &[u8], scope: &[(String, String)]) -> Result<Element, FrameError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        malformed(
            format!("element is not valid UTF-8 ({e})"),
            &bytes[e.valid_up_to()..],
        )
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut scopes: Vec<Vec<(String, String)>> = vec![scope.to_vec()];
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let err = |detail: String, pos: u64| {
        let pos = (pos as usize).min(bytes.len());
        malformed(detail, &bytes[pos.saturating_sub(20)..])
    };
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| err(format!("malformed XML: {e}"), reader.error_position()))?;
        match ev {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if root.is_some() {
                    return Err(err("more than one root element".into(), pos));
                }
                let is_empty = matches!(ev, Event::Empty(_));
                let qname = String::from(s.name().as_ref());
                let mut decls = Vec::new();
                let mut attrs = Vec::new();
                for a in s.attributes() {
                    let a = a.map_err(|e| err(format!("bad attribute: {e}"), pos))?;
                    let key = String::from(a.key.as_ref());
                    let value = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| err(format!("bad attribute value: {e}"), pos))?
                        .into_owned();
                    if key == "xmlns" {
                        decls.push((String::new(), value));
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        decls.push((p.to_string(), value));
                    } else {
                        attrs.push((key, value));
                    }
                }
                let mut current = scopes.last().cloned().unwrap_or_default();
                current.extend(decls);
                let (prefix, local) = split_qname(&qname);
                let ns = if prefix == "xml" {
                    NS_XML.to_string()
                } else {
                    match current.iter().rev().find(|(p, _)| p == prefix) {
                        Some((_, u)) => u.clone(),
                        None if prefix.is_empty() => String::new(),
                        None => {
                            return Err(err(
                                format!("undeclared namespace prefix {prefix:?}"),
                                pos,
                            ));
                        }
                    }
                };
                let el = Element {
                    name: local.to_string(),
                    ns,
                    attrs,
                    children: Vec::new(),
                    text: String::new(),
                };
                if is_empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    scopes.push(current);
                    stack.push(el);
                }
            }
            Event::End(_) => {
                scopes.pop();
                let el = stack
                    .pop()
                    .ok_or_else(|| err("unbalanced closing tag".into(), pos))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(err("text outside the element".into(), pos)),
                }
            }
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let value = resolve_entity(&name)
                    .ok_or_else(|| err(format!("unknown entity &{name};"), pos))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&value);
                }
            }
            Event::CData(c) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&c.xml10_content());
                }
            }
            Event::Comment(_) => {}
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {
                return Err(err(
                    "declaration, PI or DTD inside a stanza (not allowed in XMPP)".into(),
                    pos,
                ));
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("element is not closed", bytes));
    }
    root.ok_or_else(|| malformed("no element found", bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='localhost' version='1.0' xml:lang='en'>";

    fn frames_from_chunks(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut f = Framer::new(1 << 16);
        let mut out = Vec::new();
        for c in chunks {
            f.push(c);
            while let Some(fr) = f.next_frame().expect("frame") {
                out.push(fr);
            }
        }
        out
    }

    #[test]
    fn header_and_features_in_one_chunk() {
        let data = format!(
            "{HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"
        );
        let frames = frames_from_chunks(&[data.as_bytes()]);
        assert_eq!(frames.len(), 2);
        let Frame::Header(h) = &frames[0] else {
            panic!("{frames:?}")
        };
        assert_eq!(h.attr("id"), Some("abc"));
        assert_eq!(h.attr("xml:lang"), Some("en"));
        assert_eq!(h.default_ns, NS_CLIENT);
        let Frame::Element(el, _) = &frames[1] else {
            panic!()
        };
        assert!(el.is("features", NS_STREAMS));
        let st = el
            .child("starttls", "urn:ietf:params:xml:ns:xmpp-tls")
            .unwrap();
        assert!(
            st.child("required", "urn:ietf:params:xml:ns:xmpp-tls")
                .is_some()
        );
    }

    #[test]
    fn split_at_every_byte() {
        let data = format!(
            "{HEADER} \n<iq type='result' id='a&amp;b' to='x@y/z'><query xmlns='jabber:iq:version'><name>P &lt;3 &#x41;<![CDATA[<raw>]]></name></query></iq>\n \
             <message><body attr=\"a>b\">hi</body></message></stream:stream>"
        );
        let chunks: Vec<&[u8]> = data.as_bytes().chunks(1).collect();
        let frames = frames_from_chunks(&chunks);
        assert_eq!(frames.len(), 4, "{frames:?}");
        let Frame::Element(iq, _) = &frames[1] else {
            panic!()
        };
        assert!(iq.is("iq", NS_CLIENT));
        assert_eq!(iq.attr("id"), Some("a&b"));
        let name = iq
            .child("query", "jabber:iq:version")
            .unwrap()
            .child("name", "jabber:iq:version")
            .unwrap();
        assert_eq!(name.text, "P <3 A<raw>");
        let Frame::Element(msg, _) = &frames[2] else {
            panic!()
        };
        assert_eq!(msg.children[0].attr("attr"), Some("a>b"));
        assert_eq!(frames[3], Frame::Close);
    }

    #[test]
    fn whitespace_keepalives_are_skipped() {
        let frames = frames_from_chunks(&[
            HEADER.as_bytes(),
            b" ",
            b"\n\n",
            b" <r xmlns='urn:xmpp:sm:3'/>",
            b"  ",
        ]);
        assert_eq!(frames.len(), 2);
        let Frame::Element(r, n) = &frames[1] else {
            panic!()
        };
        assert!(r.is("r", "urn:xmpp:sm:3"));
        assert_eq!(*n, "<r xmlns='urn:xmpp:sm:3'/>".len());
    }

    #[test]
    fn prefixed_children_resolve() {
        let frames = frames_from_chunks(&[
            HEADER.as_bytes(),
            b"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
        ]);
        let Frame::Element(e, _) = &frames[1] else {
            panic!()
        };
        assert!(e.is("error", NS_STREAMS));
        assert_eq!(e.children[0].name, "conflict");
    }

    #[test]
    fn garbage_before_header_is_rejected() {
        let mut f = Framer::new(1024);
        f.push(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        let e = f.next_frame().unwrap_err();
        assert!(e.to_string().contains("stream header"), "{e}");
        assert!(e.to_string().contains("HTTP/1.1 400"), "{e}");
    }

    #[test]
    fn wrong_root_is_rejected() {
        let mut f = Framer::new(1024);
        f.push(b"<html lang='en'>");
        let e = f.next_frame().unwrap_err();
        assert!(e.to_string().contains("<html>"), "{e}");
    }

    #[test]
    fn text_at_stream_level_is_rejected() {
        let mut f = Framer::new(1024);
        f.push(HEADER.as_bytes());
        f.push(b"hello");
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Header(_)))));
        assert!(f.next_frame().is_err());
    }

    #[test]
    fn mismatched_tags_are_rejected() {
        let mut f = Framer::new(1024);
        f.push(HEADER.as_bytes());
        f.push(b"<a><b></c></a>");
        f.next_frame().unwrap();
        let e = f.next_frame().unwrap_err();
        assert!(matches!(e, FrameError::Malformed { .. }), "{e}");
    }

    #[test]
    fn oversized_element_is_rejected_before_it_ends() {
        let mut f = Framer::new(100);
        f.push(HEADER.as_bytes());
        f.next_frame().unwrap();
        f.push(b"<message><body>");
        assert_eq!(f.next_frame(), Ok(None));
        f.push(&[b'x'; 200]);
        assert!(matches!(
            f.next_frame(),
            Err(FrameError::TooLarge { limit: 100, .. })
        ));
    }

    #[test]
    fn undeclared_prefix_and_bad_utf8() {
        let mut f = Framer::new(1024);
        f.push(HEADER.as_bytes());
        f.next_frame().unwrap();
        f.push(b"<foo:bar/>");
        assert!(f.next_frame().is_err());
        let mut f = Framer::new(1024);
        f.push(HEADER.as_bytes());
        f.next_frame().unwrap();
        f.push(b"<a>\xff\xfe</a>");
        assert!(f.next_frame().is_err());
    }

    #[test]
    fn serialise_round_trip() {
        let el = Element::new("iq", NS_CLIENT)
            .with_attr("type", "get")
            .with_attr("id", "x'1")
            .with_child(
                Element::new("query", "http://jabber.org/protocol/disco#info")
                    .with_attr("node", "a<b"),
            );
        let xml = el.to_xml_in(NS_CLIENT);
        assert_eq!(
            xml,
            "<iq type='get' id='x&apos;1'><query xmlns='http://jabber.org/protocol/disco#info' node='a&lt;b'/></iq>"
        );
        let scope = vec![(String::new(), NS_CLIENT.to_string())];
        assert_eq!(parse_element(xml.as_bytes(), &scope).unwrap(), el);
        let t = Element::new("body", NS_CLIENT).with_text("1 < 2 & 3");
        assert_eq!(parse_element(t.to_string().as_bytes(), &[]).unwrap(), t);
    }

    #[test]
    fn self_closing_header_is_an_error() {
        let mut f = Framer::new(1024);
        f.push(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>");
        assert!(f.next_frame().is_err());
    }
}
