//! The client side of the SASL mechanisms the CRD offers: PLAIN (RFC 4616) and SCRAM-SHA-256 /
//! SCRAM-SHA-512 (RFC 5802, RFC 7677). Pure message construction and checking; the Kafka framing
//! (SaslHandshake, then SaslAuthenticate carrying these messages, KIP-152) lives in `topics`.

use std::num::NonZeroU32;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::{digest, hmac, pbkdf2};

/// The initial (and only) PLAIN message: no authorization identity, then the credentials.
pub fn plain_message(username: &str, password: &str) -> Vec<u8> {
    format!("\0{username}\0{password}").into_bytes()
}

/// The hash a SCRAM mechanism is built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Self::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }

    fn len(self) -> usize {
        self.digest().output_len()
    }
}

/// Kafka accepts 4096 to 16384 iterations; anything far above would only make a hostile or
/// misconfigured server burn our CPU, so it is refused.
const MAX_ITERATIONS: u32 = 100_000;

/// One SCRAM exchange from the client's side.
pub struct Scram {
    hash: ScramHash,
    password: String,
    client_nonce: String,
    client_first_bare: String,
}

/// The client's final message and the server signature that proves the server knows the
/// password too (checked by [`ScramFinal::verify`]).
pub struct ScramFinal {
    /// `c=biws,r=<nonce>,p=<proof>`.
    pub message: String,
    server_signature: Vec<u8>,
}

impl Scram {
    /// Start an exchange for `username` with a fresh random nonce.
    pub fn new(hash: ScramHash, username: &str, password: &str) -> Self {
        Self::with_nonce(
            hash,
            username,
            password,
            BASE64.encode(rand::random::<[u8; 24]>()),
        )
    }

    /// Start an exchange with a given nonce (printable, no comma).
    pub fn with_nonce(hash: ScramHash, username: &str, password: &str, nonce: String) -> Self {
        // RFC 5802 5.1: '=' and ',' in the name are escaped. (SASLprep is not applied: Kafka
        // does not apply it either, so names and passwords are compared byte for byte.)
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Self {
            hash,
            password: password.to_owned(),
            client_first_bare: format!("n={name},r={nonce}"),
            client_nonce: nonce,
        }
    }

    /// `n,,n=<user>,r=<nonce>`: no channel binding, no authorization identity.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Answer the server's first message (`r=<nonce>,s=<salt>,i=<iterations>`).
    pub fn client_final(&self, server_first: &str) -> Result<ScramFinal, String> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attribute in server_first.split(',') {
            match attribute.split_once('=') {
                Some(("m", _)) => {
                    return Err("server requires an unsupported SCRAM extension".into());
                }
                Some(("e", error)) => return Err(format!("server refused: {error}")),
                Some(("r", value)) => nonce = Some(value),
                Some(("s", value)) => salt = Some(value),
                Some(("i", value)) => iterations = Some(value),
                // Extensions such as Kafka's `tokenauth` do not change the computation.
                _ => {}
            }
        }
        let nonce = nonce.ok_or("server-first-message has no nonce")?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("server nonce does not extend the client nonce".into());
        }
        let salt = BASE64
            .decode(salt.ok_or("server-first-message has no salt")?)
            .map_err(|e| format!("server salt is not base64: {e}"))?;
        let iterations = iterations
            .ok_or("server-first-message has no iteration count")?
            .parse::<u32>()
            .ok()
            .filter(|i| *i <= MAX_ITERATIONS)
            .and_then(NonZeroU32::new)
            .ok_or(format!(
                "server iteration count is not between 1 and {MAX_ITERATIONS}"
            ))?;

        let mut salted = vec![0; self.hash.len()];
        pbkdf2::derive(
            self.hash.pbkdf2(),
            iterations,
            &salt,
            self.password.as_bytes(),
            &mut salted,
        );
        let salted = hmac::Key::new(self.hash.hmac(), &salted);
        let client_key = hmac::sign(&salted, b"Client Key");
        let stored_key = digest::digest(self.hash.digest(), client_key.as_ref());
        // "biws" is base64("n,,"): the GS2 header of the first message, echoed back.
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hmac::sign(
            &hmac::Key::new(self.hash.hmac(), stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(client_signature.as_ref())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac::sign(&salted, b"Server Key");
        let server_signature = hmac::sign(
            &hmac::Key::new(self.hash.hmac(), server_key.as_ref()),
            auth_message.as_bytes(),
        );
        Ok(ScramFinal {
            message: format!("{without_proof},p={}", BASE64.encode(proof)),
            server_signature: server_signature.as_ref().to_vec(),
        })
    }
}

impl ScramFinal {
    /// Check the server's final message (`v=<signature>`): a server that cannot produce it does
    /// not hold our credentials, and is not trusted even if it let us in.
    pub fn verify(&self, server_final: &str) -> Result<(), String> {
        if let Some(error) = server_final.strip_prefix("e=") {
            return Err(format!("server refused: {error}"));
        }
        let signature = server_final
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .ok_or("server-final-message has no verifier")?;
        let signature = BASE64
            .decode(signature)
            .map_err(|e| format!("server verifier is not base64: {e}"))?;
        if signature == self.server_signature {
            Ok(())
        } else {
            Err(
                "server signature does not match: the server does not know this user's credentials"
                    .into(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SCRAM-SHA-256 example exchange of RFC 7677 section 3.
    #[test]
    fn scram_sha256_matches_rfc7677() {
        let scram = Scram::with_nonce(
            ScramHash::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(scram.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let last = scram
            .client_final(
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap();
        assert_eq!(
            last.message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        last.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(
            last.verify("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .is_err()
        );
    }

    /// A server nonce that does not extend ours (a replay or a confused server) is refused, as
    /// are absurd iteration counts.
    #[test]
    fn scram_refuses_bad_server_first_messages() {
        let scram = Scram::with_nonce(ScramHash::Sha512, "u", "p", "abc".into());
        assert!(scram.client_final("r=xyz,s=AAAA,i=4096").is_err());
        assert!(scram.client_final("r=abc,s=AAAA,i=4096").is_err());
        assert!(scram.client_final("r=abcdef,s=AAAA,i=0").is_err());
        assert!(scram.client_final("r=abcdef,s=AAAA,i=4000000000").is_err());
        assert!(scram.client_final("r=abcdef,s=AAAA,i=4096").is_ok());
    }

    /// '=' and ',' in user names are escaped as RFC 5802 requires.
    #[test]
    fn scram_escapes_user_names() {
        let scram = Scram::with_nonce(ScramHash::Sha256, "a=b,c", "p", "n".into());
        assert_eq!(scram.client_first(), "n,,n=a=3Db=2Cc,r=n");
    }

    #[test]
    fn plain_message_has_empty_authzid() {
        assert_eq!(plain_message("alice", "s3cret"), b"\0alice\0s3cret");
    }
}
