//! Failures of the PKCS#11 layer, kept with their `CK_RV` and function (STYLE.md rule 4)
//! until they are mapped onto [`BackendError`] or [`CryptoError`] at the edge.

use std::fmt;

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, RvError};

use crate::backend::BackendError;
use crate::crypto::CryptoError;

/// What went wrong, in enough detail to decide whether to retry, reconnect or report.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// A PKCS#11 function returned an error code.
    Ck {
        /// The `CK_RV`.
        rv: RvError,
        /// The function that returned it.
        function: Function,
        /// What was being done (mechanism and parameters, object), for the message.
        context: String,
    },
    /// A `CK_RV` that usually means a failed device (`CKR_GENERAL_ERROR`), but the
    /// token answered a health check right after: the operation failed, not the
    /// device (SoftHSM 2.6.1 reports a failed AES-GCM tag check so).
    OpFailed {
        /// The `CK_RV`.
        rv: RvError,
        /// The function that returned it.
        function: Function,
        /// What was being done.
        context: String,
    },
    /// The module's state changed under the connection (it was re-initialised by a
    /// recovery), so the connection's sessions and handles are gone.
    ModuleReset,
    /// The backend is down and not retrying yet, or every session stayed busy.
    Unavailable(String),
    /// The caller's parameters cannot be used (checked before calling the token).
    BadParameters(String),
    /// The backend or token cannot do this.
    Unsupported(String),
    /// The key is not extractable (export refused; the message says why).
    NotExtractable(String),
    /// A key reference does not authenticate (tampered, other aad, other KEK).
    Integrity(String),
    /// The referenced object is not (or no longer) in the token.
    NotFound(String),
    /// A library-level failure that carries no `CK_RV` (loading the module,
    /// conversions inside `cryptoki`).
    Library(String),
}

/// How a `CK_RV` is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RvClass {
    /// The module, token or session is gone: drop the pool and reconnect.
    Device,
    /// A cached object handle is no longer valid: drop it from the cache and look it up again.
    StaleHandle,
    /// The token does not implement the mechanism or these parameters.
    Unsupported,
    /// The input or the key does not fit the operation.
    BadInput,
    /// Authentication or integrity failure of the data (tag, padding, signature, wrapped key).
    Failed,
    /// Anything else: reported with its `CK_RV`, no recovery attempted.
    Other,
}

impl Fault {
    /// `self`, or [`Fault::OpFailed`] for an ambiguous `CK_RV` when `healthy` says
    /// the token still answers.
    pub(crate) fn unless_healthy(self, healthy: impl FnOnce() -> bool) -> Self {
        match self {
            Fault::Ck {
                rv: RvError::GeneralError,
                function,
                context,
            } if healthy() => Fault::OpFailed {
                rv: RvError::GeneralError,
                function,
                context,
            },
            other => other,
        }
    }

    /// A fault from a `cryptoki` error, with what was being done.
    pub(crate) fn ck(err: CkError, context: impl Into<String>) -> Self {
        match err {
            CkError::Pkcs11(rv, function) => Fault::Ck {
                rv,
                function,
                context: context.into(),
            },
            other => Fault::Library(format!("{}: {other}", context.into())),
        }
    }

    /// Whether the connection must be dropped and rebuilt.
    pub(crate) fn is_device(&self) -> bool {
        match self {
            Fault::Ck { rv, .. } => classify(*rv) == RvClass::Device,
            Fault::ModuleReset => true,
            _ => false,
        }
    }

    /// Whether a cached handle was refused (retry after evicting it).
    pub(crate) fn is_stale_handle(&self) -> bool {
        matches!(self, Fault::Ck { rv, .. } if classify(*rv) == RvClass::StaleHandle)
    }

    /// Whether the session the fault happened in can no longer be used.
    pub(crate) fn kills_session(&self) -> bool {
        self.is_device()
    }

    /// The `CK_RV`, when the fault has one.
    pub(crate) fn rv(&self) -> Option<RvError> {
        match self {
            Fault::Ck { rv, .. } | Fault::OpFailed { rv, .. } => Some(*rv),
            _ => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Ck {
                rv,
                function,
                context,
            } => write!(
                f,
                "{context}: {} returned {}",
                function_name(*function),
                rv_name(*rv)
            ),
            Fault::OpFailed {
                rv,
                function,
                context,
            } => write!(
                f,
                "{context}: {} returned {} while the token stayed healthy: the operation \
                 failed, not the device",
                function_name(*function),
                rv_name(*rv)
            ),
            Fault::ModuleReset => f.write_str(
                "the PKCS#11 module was re-initialised by a recovery; sessions were reopened",
            ),
            Fault::Unavailable(m)
            | Fault::BadParameters(m)
            | Fault::Unsupported(m)
            | Fault::NotExtractable(m)
            | Fault::Integrity(m)
            | Fault::NotFound(m)
            | Fault::Library(m) => f.write_str(m),
        }
    }
}

impl From<Fault> for BackendError {
    fn from(fault: Fault) -> Self {
        let message = fault.to_string();
        match &fault {
            Fault::Integrity(_) => BackendError::Integrity,
            Fault::NotExtractable(_) => {
                tracing::debug!(reason = %message, "export refused");
                BackendError::NotExtractable
            }
            Fault::Unsupported(_) | Fault::BadParameters(_) => BackendError::Unsupported(message),
            Fault::Ck { rv, .. } => match classify(*rv) {
                RvClass::Unsupported | RvClass::BadInput => BackendError::Unsupported(message),
                // An unwrap that fails its integrity check: the blob was not made
                // under this KEK, or was altered.
                RvClass::Failed => BackendError::Integrity,
                RvClass::Device | RvClass::StaleHandle | RvClass::Other => {
                    BackendError::Unavailable(message)
                }
            },
            Fault::OpFailed { .. }
            | Fault::ModuleReset
            | Fault::Unavailable(_)
            | Fault::NotFound(_)
            | Fault::Library(_) => BackendError::Unavailable(message),
        }
    }
}

impl From<Fault> for CryptoError {
    fn from(fault: Fault) -> Self {
        let message = fault.to_string();
        match &fault {
            Fault::BadParameters(_) => CryptoError::BadParameters(message),
            Fault::Unsupported(_) | Fault::NotExtractable(_) => CryptoError::Unsupported(message),
            Fault::Integrity(_) | Fault::OpFailed { .. } => CryptoError::Failed(message),
            Fault::Ck { rv, function, .. } => match classify(*rv) {
                RvClass::Unsupported => CryptoError::Unsupported(message),
                // C_*Init takes only a session, a mechanism and a key: an argument
                // refused there is the mechanism's parameters, which the token does
                // not implement (SoftHSM 2.6.1 answers RSA-OAEP with SHA-256 so).
                RvClass::BadInput if *rv == RvError::ArgumentsBad && is_init(*function) => {
                    CryptoError::Unsupported(format!(
                        "{message} (the token does not accept these mechanism parameters)"
                    ))
                }
                RvClass::BadInput => CryptoError::BadParameters(message),
                RvClass::Failed => CryptoError::Failed(message),
                RvClass::Device | RvClass::StaleHandle | RvClass::Other => {
                    CryptoError::Device(message)
                }
            },
            Fault::ModuleReset | Fault::Unavailable(_) | Fault::NotFound(_) | Fault::Library(_) => {
                CryptoError::Device(message)
            }
        }
    }
}

/// Sorts a `CK_RV` into how Keygate reacts to it.
pub(crate) fn classify(rv: RvError) -> RvClass {
    use RvError as R;
    match rv {
        R::DeviceError
        | R::DeviceMemory
        | R::DeviceRemoved
        | R::TokenNotPresent
        | R::TokenNotRecognized
        | R::SessionHandleInvalid
        | R::SessionClosed
        | R::CryptokiNotInitialized
        | R::GeneralError
        | R::UserNotLoggedIn
        | R::SlotIdInvalid => RvClass::Device,
        R::ObjectHandleInvalid | R::KeyHandleInvalid => RvClass::StaleHandle,
        R::MechanismInvalid
        | R::MechanismParamInvalid
        | R::FunctionNotSupported
        | R::KeySizeRange
        | R::KeyNotWrappable
        | R::CurveNotSupported
        | R::DomainParamsInvalid => RvClass::Unsupported,
        R::DataLenRange
        | R::KeyTypeInconsistent
        | R::KeyFunctionNotPermitted
        | R::KeyUnextractable
        | R::AttributeValueInvalid
        | R::AttributeTypeInvalid
        | R::TemplateIncomplete
        | R::TemplateInconsistent
        | R::ArgumentsBad => RvClass::BadInput,
        R::EncryptedDataInvalid
        | R::EncryptedDataLenRange
        | R::DataInvalid
        | R::SignatureInvalid
        | R::SignatureLenRange
        | R::WrappedKeyInvalid
        | R::WrappedKeyLenRange => RvClass::Failed,
        _ => RvClass::Other,
    }
}

fn is_init(function: Function) -> bool {
    matches!(
        function,
        Function::EncryptInit | Function::DecryptInit | Function::SignInit | Function::VerifyInit
    )
}

/// `C_EncryptInit` rather than cryptoki's `Function::EncryptInit`.
pub(crate) fn function_name(function: Function) -> String {
    format!("C_{function:?}")
}

/// `CKR_ARGUMENTS_BAD (0x7)`: the standard name and value (cryptoki's own `Display`
/// is the specification's prose).
pub(crate) fn rv_name(rv: RvError) -> String {
    match rv_code(rv) {
        Some((name, code)) => format!("{name} ({code:#x})"),
        None => match rv {
            RvError::VendorDefined(code) => format!("CKR_VENDOR_DEFINED ({code:#x})"),
            RvError::UnknownErrorCode(code) => format!("unknown CK_RV ({code:#x})"),
            other => format!("{other:?}"),
        },
    }
}

/// The `CKR_` name and numeric value of `rv` (PKCS#11 3.2 `pkcs11t.h`).
fn rv_code(rv: RvError) -> Option<(&'static str, u64)> {
    Some(match rv {
        RvError::Cancel => ("CKR_CANCEL", 0x1),
        RvError::HostMemory => ("CKR_HOST_MEMORY", 0x2),
        RvError::SlotIdInvalid => ("CKR_SLOT_ID_INVALID", 0x3),
        RvError::GeneralError => ("CKR_GENERAL_ERROR", 0x5),
        RvError::FunctionFailed => ("CKR_FUNCTION_FAILED", 0x6),
        RvError::ArgumentsBad => ("CKR_ARGUMENTS_BAD", 0x7),
        RvError::NoEvent => ("CKR_NO_EVENT", 0x8),
        RvError::NeedToCreateThreads => ("CKR_NEED_TO_CREATE_THREADS", 0x9),
        RvError::CantLock => ("CKR_CANT_LOCK", 0xa),
        RvError::AttributeReadOnly => ("CKR_ATTRIBUTE_READ_ONLY", 0x10),
        RvError::AttributeSensitive => ("CKR_ATTRIBUTE_SENSITIVE", 0x11),
        RvError::AttributeTypeInvalid => ("CKR_ATTRIBUTE_TYPE_INVALID", 0x12),
        RvError::AttributeValueInvalid => ("CKR_ATTRIBUTE_VALUE_INVALID", 0x13),
        RvError::ActionProhibited => ("CKR_ACTION_PROHIBITED", 0x1b),
        RvError::DataInvalid => ("CKR_DATA_INVALID", 0x20),
        RvError::DataLenRange => ("CKR_DATA_LEN_RANGE", 0x21),
        RvError::DeviceError => ("CKR_DEVICE_ERROR", 0x30),
        RvError::DeviceMemory => ("CKR_DEVICE_MEMORY", 0x31),
        RvError::DeviceRemoved => ("CKR_DEVICE_REMOVED", 0x32),
        RvError::EncryptedDataInvalid => ("CKR_ENCRYPTED_DATA_INVALID", 0x40),
        RvError::EncryptedDataLenRange => ("CKR_ENCRYPTED_DATA_LEN_RANGE", 0x41),
        RvError::FunctionCanceled => ("CKR_FUNCTION_CANCELED", 0x50),
        RvError::FunctionNotParallel => ("CKR_FUNCTION_NOT_PARALLEL", 0x51),
        RvError::FunctionNotSupported => ("CKR_FUNCTION_NOT_SUPPORTED", 0x54),
        RvError::CurveNotSupported => ("CKR_CURVE_NOT_SUPPORTED", 0x140),
        RvError::KeyHandleInvalid => ("CKR_KEY_HANDLE_INVALID", 0x60),
        RvError::KeySizeRange => ("CKR_KEY_SIZE_RANGE", 0x62),
        RvError::KeyTypeInconsistent => ("CKR_KEY_TYPE_INCONSISTENT", 0x63),
        RvError::KeyNotNeeded => ("CKR_KEY_NOT_NEEDED", 0x64),
        RvError::KeyChanged => ("CKR_KEY_CHANGED", 0x65),
        RvError::KeyNeeded => ("CKR_KEY_NEEDED", 0x66),
        RvError::KeyIndigestible => ("CKR_KEY_INDIGESTIBLE", 0x67),
        RvError::KeyFunctionNotPermitted => ("CKR_KEY_FUNCTION_NOT_PERMITTED", 0x68),
        RvError::KeyNotWrappable => ("CKR_KEY_NOT_WRAPPABLE", 0x69),
        RvError::KeyUnextractable => ("CKR_KEY_UNEXTRACTABLE", 0x6a),
        RvError::MechanismInvalid => ("CKR_MECHANISM_INVALID", 0x70),
        RvError::MechanismParamInvalid => ("CKR_MECHANISM_PARAM_INVALID", 0x71),
        RvError::ObjectHandleInvalid => ("CKR_OBJECT_HANDLE_INVALID", 0x82),
        RvError::OperationActive => ("CKR_OPERATION_ACTIVE", 0x90),
        RvError::OperationNotInitialized => ("CKR_OPERATION_NOT_INITIALIZED", 0x91),
        RvError::PinIncorrect => ("CKR_PIN_INCORRECT", 0xa0),
        RvError::PinInvalid => ("CKR_PIN_INVALID", 0xa1),
        RvError::PinLenRange => ("CKR_PIN_LEN_RANGE", 0xa2),
        RvError::PinExpired => ("CKR_PIN_EXPIRED", 0xa3),
        RvError::PinLocked => ("CKR_PIN_LOCKED", 0xa4),
        RvError::SessionClosed => ("CKR_SESSION_CLOSED", 0xb0),
        RvError::SessionCount => ("CKR_SESSION_COUNT", 0xb1),
        RvError::SessionHandleInvalid => ("CKR_SESSION_HANDLE_INVALID", 0xb3),
        RvError::SessionParallelNotSupported => ("CKR_SESSION_PARALLEL_NOT_SUPPORTED", 0xb4),
        RvError::SessionReadOnly => ("CKR_SESSION_READ_ONLY", 0xb5),
        RvError::SessionExists => ("CKR_SESSION_EXISTS", 0xb6),
        RvError::SessionReadOnlyExists => ("CKR_SESSION_READ_ONLY_EXISTS", 0xb7),
        RvError::SessionReadWriteSoExists => ("CKR_SESSION_READ_WRITE_SO_EXISTS", 0xb8),
        RvError::SignatureInvalid => ("CKR_SIGNATURE_INVALID", 0xc0),
        RvError::SignatureLenRange => ("CKR_SIGNATURE_LEN_RANGE", 0xc1),
        RvError::TemplateIncomplete => ("CKR_TEMPLATE_INCOMPLETE", 0xd0),
        RvError::TemplateInconsistent => ("CKR_TEMPLATE_INCONSISTENT", 0xd1),
        RvError::TokenNotPresent => ("CKR_TOKEN_NOT_PRESENT", 0xe0),
        RvError::TokenNotRecognized => ("CKR_TOKEN_NOT_RECOGNIZED", 0xe1),
        RvError::TokenWriteProtected => ("CKR_TOKEN_WRITE_PROTECTED", 0xe2),
        RvError::UnwrappingKeyHandleInvalid => ("CKR_UNWRAPPING_KEY_HANDLE_INVALID", 0xf0),
        RvError::UnwrappingKeySizeRange => ("CKR_UNWRAPPING_KEY_SIZE_RANGE", 0xf1),
        RvError::UserAlreadyLoggedIn => ("CKR_USER_ALREADY_LOGGED_IN", 0x100),
        RvError::UserNotLoggedIn => ("CKR_USER_NOT_LOGGED_IN", 0x101),
        RvError::UserPinNotInitialized => ("CKR_USER_PIN_NOT_INITIALIZED", 0x102),
        RvError::UserTypeInvalid => ("CKR_USER_TYPE_INVALID", 0x103),
        RvError::UserAnotherAlreadyLoggedIn => ("CKR_USER_ANOTHER_ALREADY_LOGGED_IN", 0x104),
        RvError::UserTooManyTypes => ("CKR_USER_TOO_MANY_TYPES", 0x105),
        RvError::WrappedKeyInvalid => ("CKR_WRAPPED_KEY_INVALID", 0x110),
        RvError::WrappedKeyLenRange => ("CKR_WRAPPED_KEY_LEN_RANGE", 0x112),
        RvError::WrappingKeyHandleInvalid => ("CKR_WRAPPING_KEY_HANDLE_INVALID", 0x113),
        RvError::WrappingKeySizeRange => ("CKR_WRAPPING_KEY_SIZE_RANGE", 0x114),
        RvError::WrappingKeyTypeInconsistent => ("CKR_WRAPPING_KEY_TYPE_INCONSISTENT", 0x115),
        RvError::RandomSeedNotSupported => ("CKR_RANDOM_SEED_NOT_SUPPORTED", 0x120),
        RvError::RandomNoRng => ("CKR_RANDOM_NO_RNG", 0x121),
        RvError::DomainParamsInvalid => ("CKR_DOMAIN_PARAMS_INVALID", 0x130),
        RvError::BufferTooSmall => ("CKR_BUFFER_TOO_SMALL", 0x150),
        RvError::SavedStateInvalid => ("CKR_SAVED_STATE_INVALID", 0x160),
        RvError::InformationSensitive => ("CKR_INFORMATION_SENSITIVE", 0x170),
        RvError::StateUnsaveable => ("CKR_STATE_UNSAVEABLE", 0x180),
        RvError::CryptokiNotInitialized => ("CKR_CRYPTOKI_NOT_INITIALIZED", 0x190),
        RvError::CryptokiAlreadyInitialized => ("CKR_CRYPTOKI_ALREADY_INITIALIZED", 0x191),
        RvError::MutexBad => ("CKR_MUTEX_BAD", 0x1a0),
        RvError::MutexNotLocked => ("CKR_MUTEX_NOT_LOCKED", 0x1a1),
        RvError::NewPinMode => ("CKR_NEW_PIN_MODE", 0x1b0),
        RvError::NextOtp => ("CKR_NEXT_OTP", 0x1b1),
        RvError::ExceededMaxIterations => ("CKR_EXCEEDED_MAX_ITERATIONS", 0x1b5),
        RvError::FipsSelfTestFailed => ("CKR_FIPS_SELF_TEST_FAILED", 0x1b6),
        RvError::LibraryLoadFailed => ("CKR_LIBRARY_LOAD_FAILED", 0x1b7),
        RvError::PinTooWeak => ("CKR_PIN_TOO_WEAK", 0x1b8),
        RvError::PublicKeyInvalid => ("CKR_PUBLIC_KEY_INVALID", 0x1b9),
        RvError::FunctionRejected => ("CKR_FUNCTION_REJECTED", 0x200),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_ck_rv_and_function() {
        let f = Fault::Ck {
            rv: RvError::ArgumentsBad,
            function: Function::EncryptInit,
            context: "RSA-OAEP with SHA-256".into(),
        };
        assert_eq!(
            f.to_string(),
            "RSA-OAEP with SHA-256: C_EncryptInit returned CKR_ARGUMENTS_BAD (0x7)"
        );
        let CryptoError::Unsupported(m) = CryptoError::from(f) else {
            panic!("ArgumentsBad at an init function is a missing mechanism variant")
        };
        assert!(m.contains("CKR_ARGUMENTS_BAD (0x7)"), "{m}");
        assert_eq!(rv_name(RvError::DeviceError), "CKR_DEVICE_ERROR (0x30)");
        assert_eq!(
            rv_name(RvError::MechanismInvalid),
            "CKR_MECHANISM_INVALID (0x70)"
        );
    }

    #[test]
    fn device_errors_trigger_recovery() {
        for rv in [
            RvError::DeviceError,
            RvError::SessionHandleInvalid,
            RvError::TokenNotPresent,
            RvError::CryptokiNotInitialized,
        ] {
            let f = Fault::Ck {
                rv,
                function: Function::Encrypt,
                context: String::new(),
            };
            assert!(f.is_device(), "{rv:?}");
            assert!(matches!(
                CryptoError::from(f.clone()),
                CryptoError::Device(_)
            ));
            assert!(matches!(
                BackendError::from(f),
                BackendError::Unavailable(_)
            ));
        }
        let stale = Fault::Ck {
            rv: RvError::KeyHandleInvalid,
            function: Function::SignInit,
            context: String::new(),
        };
        assert!(stale.is_stale_handle() && !stale.is_device());
    }
}
