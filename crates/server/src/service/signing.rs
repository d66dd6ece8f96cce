//! Signing: a prompt bound to a document and the hash of the bytes the
//! client displayed, then the code, then the citizen's key signs.

use kodekort_proto::signing::{decode_sha256, Envelope, SignatureFields};
use kodekort_proto::wire::{DocumentStatus, SignChallenge};
use kodekort_proto::{Code, ErrorCode};

use super::challenge::Binding;
use super::{Citizen, Service};
use crate::error::{Error, Result};
use crate::store::ChallengeKind;

impl Service {
    /// Asks for a code to sign the document whose content hashes to `sha256`.
    pub fn begin_sign(&self, citizen: &Citizen, id: &str, sha256: &str) -> Result<SignChallenge> {
        if decode_sha256(sha256).is_none() {
            return Err(ErrorCode::InvalidRequest.into());
        }
        self.write_outcome(|tx| {
            let doc = self.own_document(tx, citizen, id)?;
            if doc.status != DocumentStatus::Pending {
                return Ok(Err(ErrorCode::DocumentNotPending.into()));
            }
            if doc.sha256 != sha256 {
                return Ok(Err(ErrorCode::HashMismatch.into()));
            }
            let user = tx
                .user_by_id(&citizen.user_id)?
                .ok_or(Error::Corrupt("session of a missing user"))?;
            let binding = Binding {
                document_id: &doc.id,
                sha256: &doc.sha256,
            };
            let issued =
                match self.issue_challenge(tx, ChallengeKind::Sign, &user, false, Some(binding))? {
                    Ok(issued) => issued,
                    Err(refused) => return Ok(Err(refused)),
                };
            let ch = issued.challenge;
            Ok(Ok(SignChallenge {
                sign_id: ch.id,
                card_serial: ch.serial,
                key: ch.key,
                expires_at: ch.expires_at,
                attempts_left: issued.attempts_left,
            }))
        })
    }

    /// The code for a signature: signs with the citizen's key and stores the envelope.
    pub fn answer_sign(&self, citizen: &Citizen, sign_id: &str, code: &Code) -> Result<Envelope> {
        self.answer_challenge(
            ChallengeKind::Sign,
            sign_id,
            Some(&citizen.user_id),
            code,
            |tx, ch, now| {
                let doc_id = ch.document_id.as_deref().unwrap_or_default();
                let doc = self.own_document(tx, citizen, doc_id)?;
                if doc.status != DocumentStatus::Pending {
                    return Err(ErrorCode::DocumentNotPending.into());
                }
                if ch.sha256.as_deref() != Some(doc.sha256.as_str()) {
                    return Err(ErrorCode::HashMismatch.into());
                }
                let user = tx
                    .user_by_id(&citizen.user_id)?
                    .ok_or(Error::Corrupt("session of a missing user"))?;
                let key = self.keys.open_signing_key(&user.id, &user.sealed_key)?;
                let envelope = Envelope::sign(
                    &SignatureFields {
                        document_id: &doc.id,
                        title: &doc.title,
                        content_sha256: decode_sha256(&doc.sha256)
                            .ok_or(Error::Corrupt("a stored hash is not hex"))?,
                        signed_at: now,
                        challenge_id: &ch.id,
                    },
                    &key,
                    user.certificate,
                );
                tx.decide_document(&doc.id, DocumentStatus::Signed, Some(&envelope), now)?;
                Ok(envelope)
            },
        )
    }

    pub fn signature(&self, citizen: &Citizen, id: &str) -> Result<Envelope> {
        let doc = self.store.read(|tx| self.own_document(tx, citizen, id))?;
        doc.envelope.ok_or(ErrorCode::SignatureNotFound.into())
    }
}
