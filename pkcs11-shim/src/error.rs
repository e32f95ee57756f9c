//! Why a call failed, and the `CK_RV` each reason answers (PKCS#11 3.0 §5.1).
//!
//! A condition this library decides keeps its return value; a failure the gateway
//! reports keeps its KMIP Result Reason and operation; a broken connection keeps the
//! client error. The C face turns each into one `CK_RV` in one place ([`Error::rv`]).

use cryptoki_sys::*;
use kmip::client::ClientError;
use kmip::types::{Operation, ResultReason};
use std::fmt;

/// Result of an inner function.
pub type Result<T> = std::result::Result<T, Error>;

/// A failed call.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A PKCS#11 condition found by this library (bad arguments, no such session,
    /// operation not initialised, buffer too small, ...): the value to return.
    Ck(CK_RV),
    /// The gateway answered the operation with a failure.
    Kmip {
        /// The KMIP operation.
        operation: Operation,
        /// Its Result Reason, when the gateway gave one.
        reason: Option<ResultReason>,
        /// Its Result Message (never key material: the gateway does not echo it).
        message: Option<String>,
    },
    /// The gateway could not be reached or the exchange broke: CKR_DEVICE_ERROR,
    /// and the connection is dropped so the next call reconnects.
    Connection(ClientError),
    /// The gateway's answer did not have the shape the operation needs.
    Protocol(String),
    /// The configuration file is missing or malformed (C_Initialize only).
    Config(String),
}

impl Error {
    /// The return value for this error.
    pub fn rv(&self) -> CK_RV {
        match self {
            Self::Ck(rv) => *rv,
            Self::Kmip { reason, .. } => kmip_rv(*reason),
            Self::Connection(_) => CKR_DEVICE_ERROR,
            Self::Protocol(_) => CKR_DEVICE_ERROR,
            Self::Config(_) => CKR_GENERAL_ERROR,
        }
    }

    /// The same failure, seen from an operation on a key handle: a missing object
    /// is then CKR_KEY_HANDLE_INVALID rather than CKR_OBJECT_HANDLE_INVALID.
    pub fn for_key(self) -> Self {
        if self.rv() == CKR_OBJECT_HANDLE_INVALID {
            Self::Ck(CKR_KEY_HANDLE_INVALID)
        } else {
            self
        }
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        Self::Connection(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ck(rv) => write!(f, "CK_RV 0x{rv:08X}"),
            Self::Kmip {
                operation,
                reason,
                message,
            } => {
                write!(f, "gateway refused {operation:?}")?;
                if let Some(r) = reason {
                    write!(f, ": {r:?}")?;
                }
                if let Some(m) = message {
                    write!(f, " ({m})")?;
                }
                Ok(())
            }
            Self::Connection(e) => write!(f, "gateway connection: {e}"),
            Self::Protocol(m) => write!(f, "unexpected gateway answer: {m}"),
            Self::Config(m) => write!(f, "configuration: {m}"),
        }
    }
}

/// Shorthand for a PKCS#11 condition.
pub fn ck<T>(rv: CK_RV) -> Result<T> {
    Err(Error::Ck(rv))
}

/// The `CK_RV` for a KMIP Result Reason (KMIP 1.4 §9.1.3.2.29 against PKCS#11 §5.1).
fn kmip_rv(reason: Option<ResultReason>) -> CK_RV {
    use ResultReason as R;
    match reason {
        Some(R::ItemNotFound | R::ObjectNotFound | R::ObjectDestroyed | R::ObjectArchived) => {
            CKR_OBJECT_HANDLE_INVALID
        }
        Some(
            R::PermissionDenied
            | R::NotAuthorised
            | R::IncompatibleCryptographicUsageMask
            | R::WrongKeyLifecycleState
            | R::UsageLimitExceeded
            | R::IllegalOperation,
        ) => CKR_KEY_FUNCTION_NOT_PERMITTED,
        Some(R::Sensitive | R::NotExtractable) => CKR_KEY_UNEXTRACTABLE,
        Some(
            R::InvalidField
            | R::BadCryptographicParameters
            | R::MissingInitializationVector
            | R::UnsupportedCryptographicParameters,
        ) => CKR_MECHANISM_PARAM_INVALID,
        Some(R::OperationNotSupported | R::FeatureNotSupported) => CKR_MECHANISM_INVALID,
        Some(R::CryptographicFailure) => CKR_FUNCTION_FAILED,
        Some(
            R::WrappingObjectNotFound | R::WrappingObjectDestroyed | R::WrappingObjectArchived,
        ) => CKR_WRAPPING_KEY_HANDLE_INVALID,
        Some(R::KeyFormatTypeNotSupported | R::KeyWrapTypeNotSupported) => CKR_KEY_NOT_WRAPPABLE,
        Some(R::ServerLimitExceeded | R::ResponseTooLarge) => CKR_DEVICE_MEMORY,
        Some(
            R::InvalidAttribute
            | R::InvalidAttributeValue
            | R::UnsupportedAttribute
            | R::AttributeReadOnly
            | R::ReadOnlyAttribute,
        ) => CKR_ATTRIBUTE_VALUE_INVALID,
        Some(R::AuthenticationNotSuccessful) => CKR_USER_NOT_LOGGED_IN,
        _ => CKR_FUNCTION_FAILED,
    }
}
