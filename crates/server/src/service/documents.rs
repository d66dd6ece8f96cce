//! Documents: what providers submit and citizens read or decline.

use kodekort_proto::signing::sha256_hex;
use kodekort_proto::wire::{
    Document, DocumentStatus, DocumentSummary, ProviderDocumentStatus, SubmitDocument,
    SubmittedDocument,
};
use kodekort_proto::{text, ErrorCode, ProviderKey};

use super::{
    new_id, normalise_username, Citizen, Provider, Service, MAX_CONTENT_BYTES, MAX_TITLE_CHARS,
};
use crate::error::{ApiError, Result};
use crate::store::{DocumentRow, Tx};

impl Service {
    pub fn documents(&self, citizen: &Citizen) -> Result<Vec<DocumentSummary>> {
        let rows = self.store.read(|tx| tx.documents_of(&citizen.user_id))?;
        rows.into_iter()
            .map(|d| {
                Ok(DocumentSummary {
                    status: d.status,
                    id: d.id,
                    title: d.title,
                    issuer: d.issuer,
                    created_at: d.created_at,
                    sha256: d.sha256,
                })
            })
            .collect()
    }

    pub(super) fn own_document(
        &self,
        tx: &Tx<'_>,
        citizen: &Citizen,
        id: &str,
    ) -> Result<DocumentRow> {
        match tx.document(id)? {
            Some(d) if d.recipient_id == citizen.user_id => Ok(d),
            _ => Err(ErrorCode::NotFound.into()),
        }
    }

    pub fn document(&self, citizen: &Citizen, id: &str) -> Result<Document> {
        let d = self.store.read(|tx| self.own_document(tx, citizen, id))?;
        Ok(Document {
            status: d.status,
            id: d.id,
            title: d.title,
            issuer: d.issuer,
            created_at: d.created_at,
            content_type: d.content_type,
            content: d.content,
            sha256: d.sha256,
        })
    }

    pub fn decline(&self, citizen: &Citizen, id: &str) -> Result<DocumentStatus> {
        let now = self.now();
        self.store.write(|tx| {
            self.own_document(tx, citizen, id)?;
            if tx.decide_document(id, DocumentStatus::Declined, None, now)? {
                Ok(DocumentStatus::Declined)
            } else {
                Err(ErrorCode::DocumentNotPending.into())
            }
        })
    }

    pub(super) fn provider_key_hash(&self, key: &str) -> [u8; 32] {
        self.keys
            .keyed_hash("kodekort provider key v1", &[key.as_bytes()])
    }

    pub fn authenticate_provider(&self, key: &ProviderKey) -> Result<Provider> {
        let hash = self.provider_key_hash(key.expose());
        let (id, name) = self
            .store
            .read(|tx| tx.provider_by_key_hash(&hash))?
            .ok_or(ErrorCode::InvalidProviderKey)?;
        Ok(Provider { id, name })
    }

    pub fn submit_document(
        &self,
        provider: &Provider,
        req: &SubmitDocument,
    ) -> Result<SubmittedDocument> {
        let essence = req.content_type.split(';').next().unwrap_or("").trim();
        let charset_ok = req.content_type.split(';').skip(1).all(|p| {
            let p = p.trim().to_ascii_lowercase();
            p == "charset=utf-8" || p == "charset=\"utf-8\""
        });
        if !essence.eq_ignore_ascii_case("text/plain") || !charset_ok {
            return Err(ErrorCode::UnsupportedContentType.into());
        }
        self.insert_document(
            &req.recipient,
            Some(provider),
            &provider.name,
            &req.title,
            &req.content,
        )
    }

    pub(super) fn insert_document(
        &self,
        recipient: &str,
        provider: Option<&Provider>,
        issuer: &str,
        title: &str,
        content: &str,
    ) -> Result<SubmittedDocument> {
        let title_chars = title.chars().count();
        if title.trim().is_empty()
            || title_chars > MAX_TITLE_CHARS
            || content.is_empty()
            || content.len() > MAX_CONTENT_BYTES
        {
            return Err(ErrorCode::InvalidDocument.into());
        }
        // Refused, never cleaned: the stored bytes are the signed bytes.
        let hiding = text::check_title(title)
            .map_err(|f| format!("{f} of the title"))
            .and_then(|()| text::check_content(content).map_err(|f| format!("{f} of the content")));
        if let Err(detail) = hiding {
            return Err(ApiError {
                detail: Some(detail),
                ..ErrorCode::HidingCharacter.into()
            }
            .into());
        }
        let recipient = normalise_username(recipient);
        let now = self.now();
        let sha256 = sha256_hex(content.as_bytes());
        let id = new_id("doc");
        self.store.write(|tx| {
            let user = tx
                .user_by_username(&recipient)?
                .ok_or(ErrorCode::UnknownRecipient)?;
            tx.insert_document(&DocumentRow {
                id: id.clone(),
                recipient_id: user.id,
                provider_id: provider.map(|p| p.id.clone()),
                issuer: issuer.to_owned(),
                title: title.to_owned(),
                content_type: "text/plain".to_owned(),
                content: content.to_owned(),
                sha256: sha256.clone(),
                status: DocumentStatus::Pending,
                created_at: now,
                envelope: None,
            })
        })?;
        Ok(SubmittedDocument { id, sha256 })
    }

    pub fn provider_document(
        &self,
        provider: &Provider,
        id: &str,
    ) -> Result<ProviderDocumentStatus> {
        let doc = self
            .store
            .read(|tx| tx.document(id))?
            .filter(|d| d.provider_id.as_deref() == Some(provider.id.as_str()))
            .ok_or(ErrorCode::NotFound)?;
        Ok(ProviderDocumentStatus {
            status: doc.status,
            envelope: doc.envelope,
        })
    }
}
