//! XEP-0114: connect to a component port as the external component and
//! complete the `jabber:component:accept` handshake (`<handshake>` = hex
//! SHA-1 of the stream id followed by the shared secret).

use std::time::Duration;

use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ComponentTarget;
use crate::xmpp::xml;

const NS_ACCEPT: &str = "jabber:component:accept";
const MAX_READ: usize = 64 * 1024;

/// The handshake value for stream `id` and `secret`.
pub(crate) fn handshake(id: &str, secret: &str) -> String {
    let mut h = Sha1::new();
    h.update(id.as_bytes());
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Handshake with every component; the first failure wins.
pub(crate) async fn check_all(
    list: &[ComponentTarget],
    timeout: Duration,
) -> Result<String, String> {
    let mut seen = Vec::new();
    for c in list {
        seen.push(check_one(c, timeout).await?);
    }
    Ok(seen.join("; "))
}

async fn check_one(c: &ComponentTarget, timeout: Duration) -> Result<String, String> {
    let Some(secret) = &c.secret else {
        return Err(format!(
            "component {} is defined, but its secret is unknown to pfe (--component-secret)",
            c.name
        ));
    };
    let work = async {
        let mut s = tokio::net::TcpStream::connect(&c.addr)
            .await
            .map_err(|e| format!("component port {}: {e}", c.addr))?;
        let open = format!(
            "<?xml version='1.0'?><stream:stream xmlns='{NS_ACCEPT}' xmlns:stream='http://etherx.jabber.org/streams' to='{}'>",
            xml::escape(&c.name)
        );
        s.write_all(open.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        // The stream header carries the id.
        let id = loop {
            let text = String::from_utf8_lossy(&data).into_owned();
            if let Some(start) = text.find("<stream:stream")
                && let Some(end) = text[start..].find('>')
            {
                let head = &text[start..start + end];
                let id = ["id='", "id=\""].iter().find_map(|q| {
                    let i = head.find(q)? + q.len();
                    let rest = &head[i..];
                    Some(rest[..rest.find(['\'', '"'])?].to_string())
                });
                data.drain(..start + end + 1);
                break id
                    .ok_or_else(|| format!("the component stream header has no id: {head}"))?;
            }
            if text.contains("<stream:error") {
                return Err(format!("stream error: {}", xml::snippet(&data)));
            }
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 || data.len() > MAX_READ {
                return Err(format!(
                    "no component stream header ({})",
                    xml::snippet(&data)
                ));
            }
            data.extend_from_slice(&buf[..n]);
        };
        s.write_all(format!("<handshake>{}</handshake>", handshake(&id, secret)).as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let text = String::from_utf8_lossy(&data).into_owned();
            if text.contains("<handshake/>") || text.contains("<handshake></handshake>") {
                let _ = s.write_all(b"</stream:stream>").await;
                return Ok(format!(
                    "{} accepted the jabber:component:accept handshake on {}",
                    c.name, c.addr
                ));
            }
            if text.contains("error") {
                return Err(format!(
                    "component {} on {}: handshake refused: {}",
                    c.name,
                    c.addr,
                    xml::snippet(&data)
                ));
            }
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 || data.len() > MAX_READ {
                return Err(format!(
                    "component {} on {}: the stream ended before <handshake/> ({})",
                    c.name,
                    c.addr,
                    xml::snippet(&data)
                ));
            }
            data.extend_from_slice(&buf[..n]);
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("component {} on {}: timed out", c.name, c.addr)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn handshake_is_hex_sha1_of_id_and_secret() {
        assert_eq!(
            super::handshake("3BF96D32", "secret"),
            "b09ea9b3b7f586be8a08d0a3dd7466f110aeb136"
        );
    }
}
