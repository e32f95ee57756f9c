//! Cryptographic operations: Encrypt (1.4 §4.29), Decrypt (§4.30), Sign (§4.31),
//! Signature Verify (§4.32), MAC (§4.33), MAC Verify (§4.34), RNG Retrieve
//! (§4.35), RNG Seed (§4.36), Hash (§4.37). Streaming uses Correlation Value with
//! Init/Final Indicator.

use crate::messages::codec::kmip_struct;
use crate::messages::objects::CryptographicParameters;
use crate::types::ValidityIndicator;

kmip_struct! {
    /// Encrypt request.
    #[derive(Default)]
    pub struct EncryptRequest {
        /// Key.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Parameters (mode, padding, tag length…).
        pub cryptographic_parameters: Option<CryptographicParameters> = opt(CRYPTOGRAPHIC_PARAMETERS),
        /// Plaintext.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// IV/Counter/Nonce.
        pub iv_counter_nonce: Option<Vec<u8>> = opt(IV_COUNTER_NONCE),
        /// Correlation Value (streaming).
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
        /// Init Indicator.
        pub init_indicator: Option<bool> = opt(INIT_INDICATOR),
        /// Final Indicator.
        pub final_indicator: Option<bool> = opt(FINAL_INDICATOR),
        /// Additional authenticated data (AEAD).
        pub authenticated_encryption_additional_data: Option<Vec<u8>> = opt(AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA),
    }
}

kmip_struct! {
    /// Encrypt response.
    pub struct EncryptResponse {
        /// Key.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Ciphertext.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// IV/Counter/Nonce the server chose.
        pub iv_counter_nonce: Option<Vec<u8>> = opt(IV_COUNTER_NONCE),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
        /// Authentication tag (AEAD).
        pub authenticated_encryption_tag: Option<Vec<u8>> = opt(AUTHENTICATED_ENCRYPTION_TAG),
    }
}

kmip_struct! {
    /// Decrypt request.
    #[derive(Default)]
    pub struct DecryptRequest {
        /// Key.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Parameters.
        pub cryptographic_parameters: Option<CryptographicParameters> = opt(CRYPTOGRAPHIC_PARAMETERS),
        /// Ciphertext.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// IV/Counter/Nonce.
        pub iv_counter_nonce: Option<Vec<u8>> = opt(IV_COUNTER_NONCE),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
        /// Init Indicator.
        pub init_indicator: Option<bool> = opt(INIT_INDICATOR),
        /// Final Indicator.
        pub final_indicator: Option<bool> = opt(FINAL_INDICATOR),
        /// Additional authenticated data.
        pub authenticated_encryption_additional_data: Option<Vec<u8>> = opt(AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA),
        /// Authentication tag.
        pub authenticated_encryption_tag: Option<Vec<u8>> = opt(AUTHENTICATED_ENCRYPTION_TAG),
    }
}

kmip_struct! {
    /// Decrypt response.
    pub struct DecryptResponse {
        /// Key.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Plaintext.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
    }
}

kmip_struct! {
    /// Sign request.
    #[derive(Default)]
    pub struct SignRequest {
        /// Key.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Parameters.
        pub cryptographic_parameters: Option<CryptographicParameters> = opt(CRYPTOGRAPHIC_PARAMETERS),
        /// Data to sign.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// Pre-hashed data (1.4).
        pub digested_data: Option<Vec<u8>> = opt(DIGESTED_DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
        /// Init Indicator.
        pub init_indicator: Option<bool> = opt(INIT_INDICATOR),
        /// Final Indicator.
        pub final_indicator: Option<bool> = opt(FINAL_INDICATOR),
    }
}

kmip_struct! {
    /// Sign response.
    pub struct SignResponse {
        /// Key.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Signature.
        pub signature_data: Option<Vec<u8>> = opt(SIGNATURE_DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
    }
}

kmip_struct! {
    /// Signature Verify request.
    #[derive(Default)]
    pub struct SignatureVerifyRequest {
        /// Key.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Parameters.
        pub cryptographic_parameters: Option<CryptographicParameters> = opt(CRYPTOGRAPHIC_PARAMETERS),
        /// Signed data.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// Pre-hashed data.
        pub digested_data: Option<Vec<u8>> = opt(DIGESTED_DATA),
        /// Signature.
        pub signature_data: Option<Vec<u8>> = opt(SIGNATURE_DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
        /// Init Indicator.
        pub init_indicator: Option<bool> = opt(INIT_INDICATOR),
        /// Final Indicator.
        pub final_indicator: Option<bool> = opt(FINAL_INDICATOR),
    }
}

kmip_struct! {
    /// Signature Verify response.
    pub struct SignatureVerifyResponse {
        /// Key.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Valid, Invalid or Unknown.
        pub validity_indicator: ValidityIndicator = one(VALIDITY_INDICATOR),
        /// Recovered data.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
    }
}

kmip_struct! {
    /// MAC request.
    #[derive(Default)]
    pub struct MacRequest {
        /// Key.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Parameters.
        pub cryptographic_parameters: Option<CryptographicParameters> = opt(CRYPTOGRAPHIC_PARAMETERS),
        /// Data.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
        /// Init Indicator.
        pub init_indicator: Option<bool> = opt(INIT_INDICATOR),
        /// Final Indicator.
        pub final_indicator: Option<bool> = opt(FINAL_INDICATOR),
    }
}

kmip_struct! {
    /// MAC response.
    pub struct MacResponse {
        /// Key.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// MAC.
        pub mac_data: Option<Vec<u8>> = opt(MAC_DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
    }
}

kmip_struct! {
    /// MAC Verify request.
    #[derive(Default)]
    pub struct MacVerifyRequest {
        /// Key.
        pub unique_identifier: Option<String> = opt(UNIQUE_IDENTIFIER),
        /// Parameters.
        pub cryptographic_parameters: Option<CryptographicParameters> = opt(CRYPTOGRAPHIC_PARAMETERS),
        /// Data.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// MAC to check.
        pub mac_data: Option<Vec<u8>> = opt(MAC_DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
        /// Init Indicator.
        pub init_indicator: Option<bool> = opt(INIT_INDICATOR),
        /// Final Indicator.
        pub final_indicator: Option<bool> = opt(FINAL_INDICATOR),
    }
}

kmip_struct! {
    /// MAC Verify response.
    pub struct MacVerifyResponse {
        /// Key.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Valid or Invalid.
        pub validity_indicator: ValidityIndicator = one(VALIDITY_INDICATOR),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
    }
}

kmip_struct! {
    /// RNG Retrieve request.
    pub struct RngRetrieveRequest {
        /// Number of random bytes wanted.
        pub data_length: i32 = one(DATA_LENGTH),
    }
}

kmip_struct! {
    /// RNG Retrieve response.
    pub struct RngRetrieveResponse {
        /// Random bytes.
        pub data: Vec<u8> = one(DATA),
    }
}

kmip_struct! {
    /// RNG Seed request.
    pub struct RngSeedRequest {
        /// Seed bytes.
        pub data: Vec<u8> = one(DATA),
    }
}

kmip_struct! {
    /// RNG Seed response.
    pub struct RngSeedResponse {
        /// Bytes accepted.
        pub data_length: i32 = one(DATA_LENGTH),
    }
}

kmip_struct! {
    /// Hash request.
    pub struct HashRequest {
        /// Parameters (the hashing algorithm).
        pub cryptographic_parameters: CryptographicParameters = one(CRYPTOGRAPHIC_PARAMETERS),
        /// Data.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
        /// Init Indicator.
        pub init_indicator: Option<bool> = opt(INIT_INDICATOR),
        /// Final Indicator.
        pub final_indicator: Option<bool> = opt(FINAL_INDICATOR),
    }
}

kmip_struct! {
    /// Hash response.
    pub struct HashResponse {
        /// Digest.
        pub data: Option<Vec<u8>> = opt(DATA),
        /// Correlation Value.
        pub correlation_value: Option<Vec<u8>> = opt(CORRELATION_VALUE),
    }
}
