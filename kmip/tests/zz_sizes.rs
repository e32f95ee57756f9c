use kmip::messages::*;
use kmip::messages::objects::*;
use kmip::messages::payloads::*;
use kmip::messages::attributes::*;
use std::mem::size_of;
#[test]
fn sizes() {
    macro_rules! p { ($($t:ty),*) => { $( eprintln!("{:>5} {}", size_of::<$t>(), stringify!($t)); )* } }
    p!(RequestBatchItem, ResponseBatchItem, RequestPayload, ResponsePayload, ManagedObject, KeyBlock, KeyValue, KeyWrappingData, KeyInformation, CryptographicParameters, KeyWrappingSpecification, Attributes, Attribute, kmip::ttlv::Ttlv, kmip::ttlv::Value, kmip::DecodeError,
      RegisterRequest, GetResponse, ImportRequest, ExportResponse, GetRequest, CreateRequest, CreateKeyPairRequest, ReKeyKeyPairRequest, QueryResponse, EncryptRequest, DecryptRequest, SignatureVerifyRequest, HashRequest, DeriveKeyRequest, CertifyRequest, ReCertifyRequest, LocateRequest, ModifyAttributeRequest, DeleteAttributeRequest,
      SplitKey, SymmetricKey, Certificate, OpaqueObject, TransparentKey, RequestHeader, ResponseHeader);
}
