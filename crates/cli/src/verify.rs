//! `kodekort verify`: offline, against the pinned roots. Exit 0 for a valid
//! signature; 6 for every reason one is not valid, said in plain words;
//! 1 only when the file (or the trust file) cannot be read.

use std::path::Path;

use kodekort_client::signed_copy;
use kodekort_client::verify::Reason;
use kodekort_client::{ClientError, Verdict};
use kodekort_proto::signing::TrustRoot;
use kodekort_proto::Envelope;
use serde_json::json;

use crate::error::CliError;
use crate::exit;
use crate::output::Out;

/// Verifies `file`. A trust file whose key id is not its key's makes every
/// signature unverifiable, which is a verdict (exit 6), not a read error.
pub fn verify_file(
    out: &Out,
    file: &Path,
    roots: &[TrustRoot],
    trust_problem: Option<ClientError>,
) -> Result<u8, CliError> {
    match trust_problem {
        Some(ClientError::TrustKeyMismatch(_)) => {
            report_verdict(out, &Verdict::Invalid(Reason::TrustMismatch), None, false);
            return Ok(exit::VERIFY_FAILED);
        }
        Some(other) => return Err(other.into()),
        None => {}
    }
    let check = signed_copy::verify_file(file, roots)?;
    report_verdict(out, &check.verdict, check.envelope.as_ref(), false);
    Ok(exit_for(&check.verdict))
}

/// 0 for a signature valid under a pinned real root; 6 otherwise, the demo
/// root's included (demo signatures are not legally valid).
pub fn exit_for(verdict: &Verdict) -> u8 {
    if verdict.is_valid() {
        exit::OK
    } else {
        exit::VERIFY_FAILED
    }
}

/// Says the verdict; after signing, also that this computer checked it.
pub fn report_verdict(
    out: &Out,
    verdict: &Verdict,
    envelope: Option<&Envelope>,
    just_signed: bool,
) {
    out.emit(
        json!({"verdict": verdict.code(), "message": verdict.message(out.lang), "envelope": envelope}),
        || {
            let mut lines = vec![verdict.message(out.lang)];
            if just_signed && matches!(verdict, Verdict::Valid(_) | Verdict::Demo(_)) {
                lines.push(out.t("signed_ok", &[]));
            }
            lines
        },
    );
}
