//! SCRAM-SHA-1 and SCRAM-SHA-256 client (RFC 5802, RFC 7677), without
//! channel binding (`n,,` GS2 header) or, for the `-PLUS` mechanisms, with
//! the binding data the caller got from the TLS connection (`p=TYPE,,`).
//!
//! The password is used as given (no SASLprep): fine for ASCII passwords.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Highest iteration count we accept from a server (guards against a hostile
/// server pinning our CPU).
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// The hash of a SCRAM mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScramHash {
    /// SCRAM-SHA-1
    Sha1,
    /// SCRAM-SHA-256
    Sha256,
}

impl ScramHash {
    /// The SASL mechanism name.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut m = <hmac::Hmac<Sha1> as KeyInit>::new_from_slice(key)
                    .expect("HMAC accepts any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
                    .expect("HMAC accepts any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut out = [0u8; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            ScramHash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
}

/// A SCRAM protocol problem (the caller adds the mechanism name).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// The server-first-message could not be parsed.
    #[error("malformed server-first-message {0:?}")]
    BadServerFirst(String),
    /// The server nonce does not extend ours.
    #[error("the server nonce does not start with our client nonce")]
    NonceMismatch,
    /// Iteration count out of range.
    #[error("iteration count {0} is outside 1..={MAX_ITERATIONS}")]
    Iterations(u64),
    /// The server-final-message could not be parsed.
    #[error("malformed server-final-message {0:?}")]
    BadServerFinal(String),
    /// The server reported an error (`e=`).
    #[error("the server reported SCRAM error {0:?}")]
    ServerError(String),
    /// The server's signature is wrong: it does not know the password.
    #[error(
        "server signature mismatch: the server could not prove it knows the password (wrong server or man-in-the-middle)"
    )]
    ServerSignature,
    /// Called out of order.
    #[error("SCRAM step called out of order")]
    OutOfOrder,
}

/// Client side of one SCRAM exchange.
#[derive(Clone, Debug)]
pub struct ScramClient {
    hash: ScramHash,
    password: String,
    client_first_bare: String,
    client_nonce: String,
    expected_server_signature: Option<Vec<u8>>,
    /// GS2 header (`n,,`, or `p=TYPE,,` with channel binding) and the
    /// binding data.
    gs2_header: String,
    cb_data: Vec<u8>,
}

/// `=` and `,` escaping of a SCRAM username (RFC 5802 §5.1).
pub fn escape_username(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// A fresh printable nonce (24 random bytes, base64).
pub fn random_nonce() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    B64.encode(bytes)
}

impl ScramClient {
    /// Start an exchange; `nonce` is for tests, `None` draws a random one.
    pub fn new(hash: ScramHash, username: &str, password: &str, nonce: Option<&str>) -> Self {
        let client_nonce = nonce.map(str::to_string).unwrap_or_else(random_nonce);
        ScramClient {
            hash,
            password: password.to_string(),
            client_first_bare: format!("n={},r={}", escape_username(username), client_nonce),
            client_nonce,
            expected_server_signature: None,
            gs2_header: "n,,".into(),
            cb_data: Vec::new(),
        }
    }

    /// Bind the exchange to the TLS channel (a `-PLUS` mechanism): `kind`
    /// is the binding type (`tls-exporter`, `tls-server-end-point`), `data`
    /// what the TLS connection gives for it.
    pub fn with_channel_binding(mut self, kind: &str, data: Vec<u8>) -> Self {
        self.gs2_header = format!("p={kind},,");
        self.cb_data = data;
        self
    }

    /// The mechanism this exchange runs.
    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// client-first-message (`n,,n=user,r=nonce`).
    pub fn client_first(&self) -> String {
        format!("{}{}", self.gs2_header, self.client_first_bare)
    }

    /// Process the server-first-message, return the client-final-message.
    pub fn handle_server_first(&mut self, server_first: &str) -> Result<String, ScramError> {
        let bad = || ScramError::BadServerFirst(server_first.chars().take(200).collect());
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for part in server_first.split(',') {
            let (k, v) = part.split_once('=').ok_or_else(bad)?;
            match k {
                "r" => nonce = Some(v),
                "s" => salt = Some(B64.decode(v).map_err(|_| bad())?),
                "i" => iterations = Some(v.parse::<u64>().map_err(|_| bad())?),
                "m" => return Err(bad()),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(bad());
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() <= self.client_nonce.len() {
            return Err(ScramError::NonceMismatch);
        }
        if iterations == 0 || iterations > u64::from(MAX_ITERATIONS) {
            return Err(ScramError::Iterations(iterations));
        }
        let h = self.hash;
        let salted = h.salted_password(self.password.as_bytes(), &salt, iterations as u32);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        let mut cbind = self.gs2_header.as_bytes().to_vec();
        cbind.extend_from_slice(&self.cb_data);
        let without_proof = format!("c={},r={nonce}", B64.encode(cbind));
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, server_first, without_proof
        );
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        self.expected_server_signature = Some(h.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Check the server-final-message (`v=...`): the server's proof that it
    /// knows the password.
    pub fn verify_server_final(&self, server_final: &str) -> Result<(), ScramError> {
        let expected = self
            .expected_server_signature
            .as_ref()
            .ok_or(ScramError::OutOfOrder)?;
        let bad = || ScramError::BadServerFinal(server_final.chars().take(200).collect());
        let first = server_final.split(',').next().unwrap_or("");
        if let Some(e) = first.strip_prefix("e=") {
            return Err(ScramError::ServerError(e.to_string()));
        }
        let v = first.strip_prefix("v=").ok_or_else(bad)?;
        let got = B64.decode(v).map_err(|_| bad())?;
        // Constant-time-ish comparison; lengths are public.
        let diff = got.len() != expected.len()
            || got
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0;
        if diff {
            return Err(ScramError::ServerSignature);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5802_sha1_vector() {
        let mut c = ScramClient::new(
            ScramHash::Sha1,
            "user",
            "pencil",
            Some("fyko+d2lbbFgONRv9qkxdawL"),
        );
        assert_eq!(c.client_first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        let fin = c
            .handle_server_first(
                "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            )
            .unwrap();
        assert_eq!(
            fin,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        c.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
            .unwrap();
    }

    #[test]
    fn rfc7677_sha256_vector() {
        let mut c = ScramClient::new(
            ScramHash::Sha256,
            "user",
            "pencil",
            Some("rOprNGfwEbeRWgbNEkqO"),
        );
        assert_eq!(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let fin = c
            .handle_server_first(
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap();
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
    }

    #[test]
    fn wrong_server_signature_is_rejected() {
        let mut c = ScramClient::new(
            ScramHash::Sha1,
            "user",
            "pencil",
            Some("fyko+d2lbbFgONRv9qkxdawL"),
        );
        c.handle_server_first(
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        )
        .unwrap();
        assert_eq!(
            c.verify_server_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            Err(ScramError::ServerSignature)
        );
        assert_eq!(
            c.verify_server_final("e=invalid-proof"),
            Err(ScramError::ServerError("invalid-proof".into()))
        );
        assert!(matches!(
            c.verify_server_final("garbage"),
            Err(ScramError::BadServerFinal(_))
        ));
    }

    #[test]
    fn hostile_server_first_is_rejected() {
        let mk = || ScramClient::new(ScramHash::Sha256, "u", "p", Some("abc"));
        assert_eq!(
            mk().handle_server_first("r=zzz123,s=QSXCR+Q6sek8bf92,i=4096"),
            Err(ScramError::NonceMismatch)
        );
        assert_eq!(
            mk().handle_server_first("r=abcdef,s=QSXCR+Q6sek8bf92,i=4000000000"),
            Err(ScramError::Iterations(4_000_000_000))
        );
        assert!(matches!(
            mk().handle_server_first("r=abcdef,s=!!!,i=1"),
            Err(ScramError::BadServerFirst(_))
        ));
        assert!(matches!(
            mk().handle_server_first("nonsense"),
            Err(ScramError::BadServerFirst(_))
        ));
        assert_eq!(mk().verify_server_final("v=x"), Err(ScramError::OutOfOrder));
    }

    #[test]
    fn username_escaping() {
        assert_eq!(escape_username("a=b,c"), "a=3Db=2Cc");
        let c = ScramClient::new(ScramHash::Sha1, "a,b", "p", None);
        assert!(c.client_first().starts_with("n,,n=a=2Cb,r="));
        assert!(c.client_first().len() > "n,,n=a=2Cb,r=".len() + 20);
    }
}
