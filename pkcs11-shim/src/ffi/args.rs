//! Every read of the caller's memory and every write into it, in one place.
//!
//! The functions here take raw pointers from the C caller. PKCS#11 makes the caller
//! responsible for passing valid pointers with the lengths it states; what the
//! library checks is what it can: NULL where a value is required, lengths that
//! overflow `usize` or exceed [`MAX_INPUT`], and counts converted through
//! [`count`]. Scalars are read and written unaligned-safe (Oracle passes
//! misaligned output pointers).

use crate::api::Output;
use crate::error::{ck, Error, Result};
use crate::mechanism::{self, Mechanism, Oaep, Params, Shape};
use crate::object::{Answer, Template};
use cryptoki_sys::*;

/// The largest input buffer accepted (the gateway's message limit is 1 MiB).
pub const MAX_INPUT: usize = 1 << 20;

/// The largest attribute template accepted.
const MAX_TEMPLATE: usize = 256;

/// A caller's length or count as `usize`, bounded by `max`.
pub fn count(n: CK_ULONG, max: usize) -> Result<usize> {
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= max)
        .ok_or(Error::Ck(CKR_ARGUMENTS_BAD))
}

/// The `len` bytes at `ptr` (NULL allowed when `len` is 0).
pub fn bytes<'a>(ptr: *const CK_BYTE, len: CK_ULONG) -> Result<&'a [u8]> {
    let len = count(len, MAX_INPUT)?;
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return ck(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: the caller passes `len` readable bytes at `ptr` (PKCS#11 §5.2);
    // non-NULL and bounded were checked above.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A writable buffer of `len` bytes at `ptr` (C_GenerateRandom).
pub fn bytes_mut<'a>(ptr: *mut CK_BYTE, len: CK_ULONG) -> Result<&'a mut [u8]> {
    let len = count(len, MAX_INPUT)?;
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return ck(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: the caller passes `len` writable bytes at `ptr`; checked non-NULL
    // and bounded.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Writes a scalar to a required output pointer.
pub fn put<T: Copy>(ptr: *mut T, v: T) -> Result<()> {
    if ptr.is_null() {
        return ck(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: a non-NULL output pointer the caller provided for a `T`; written
    // unaligned-safe.
    unsafe { ptr.write_unaligned(v) };
    Ok(())
}

/// Reads a scalar from a required input pointer.
pub fn get<T: Copy>(ptr: *const T) -> Result<T> {
    if ptr.is_null() {
        return ck(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: a non-NULL input pointer the caller provided for a `T`; read
    // unaligned-safe.
    Ok(unsafe { ptr.read_unaligned() })
}

/// A (pointer, length pointer) output pair (§5.2).
#[derive(Debug)]
pub struct Out {
    ptr: *mut CK_BYTE,
    len: *mut CK_ULONG,
}

impl Out {
    /// The output pair; the length pointer is required.
    pub fn new(ptr: *mut CK_BYTE, len: *mut CK_ULONG) -> Result<Self> {
        if len.is_null() {
            return ck(CKR_ARGUMENTS_BAD);
        }
        Ok(Self { ptr, len })
    }

    fn capacity(&self) -> Result<Option<usize>> {
        if self.ptr.is_null() {
            return Ok(None);
        }
        // An oversized stated capacity is only an upper bound: clamp it.
        let cap = get(self.len)?;
        Ok(Some(usize::try_from(cap).unwrap_or(usize::MAX)))
    }

    fn set_len(&mut self, n: usize) {
        let n = CK_ULONG::try_from(n).unwrap_or(CK_ULONG::MAX);
        // SAFETY: `len` was checked non-NULL in `new`; written unaligned-safe.
        unsafe { self.len.write_unaligned(n) };
    }
}

impl Output for Out {
    fn fits(&mut self, n: usize) -> Result<bool> {
        let cap = self.capacity()?;
        self.set_len(n);
        match cap {
            None => Ok(false),
            Some(c) if c < n => ck(CKR_BUFFER_TOO_SMALL),
            Some(_) => Ok(true),
        }
    }

    fn write(&mut self, data: &[u8]) {
        if !data.is_empty() && !self.ptr.is_null() {
            // SAFETY: `fits` checked the caller's buffer holds `data.len()` bytes;
            // byte copies have no alignment requirement.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr, data.len()) };
        }
        self.set_len(data.len());
    }
}

/// Reads a `CK_ATTRIBUTE` array into an owned template.
pub fn template(ptr: *const CK_ATTRIBUTE, n: CK_ULONG) -> Result<Template> {
    let n = count(n, MAX_TEMPLATE)?;
    if n == 0 {
        return Ok(Template::default());
    }
    if ptr.is_null() {
        return ck(CKR_ARGUMENTS_BAD);
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: the caller passes `n` attributes at `ptr`; `i < n`.
        let a = unsafe { ptr.add(i).read_unaligned() };
        let v = bytes(a.pValue.cast::<u8>(), a.ulValueLen)?;
        out.push((a.type_, v.to_vec()));
    }
    Ok(Template(out))
}

/// The attribute types of a C_GetAttributeValue template.
pub fn template_types(ptr: *const CK_ATTRIBUTE, n: CK_ULONG) -> Result<Vec<CK_ATTRIBUTE_TYPE>> {
    let n = count(n, MAX_TEMPLATE)?;
    if n > 0 && ptr.is_null() {
        return ck(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: `n` attributes at `ptr` (non-NULL when n > 0); `i < n`.
    Ok((0..n)
        .map(|i| unsafe { ptr.add(i).read_unaligned() }.type_)
        .collect())
}

/// Writes C_GetAttributeValue's answers into the caller's template (§5.7 rules:
/// NULL pValue gets the length; a short buffer gets CK_UNAVAILABLE_INFORMATION and
/// CKR_BUFFER_TOO_SMALL; a sensitive or unknown attribute gets
/// CK_UNAVAILABLE_INFORMATION and its return value, the others are still filled).
pub fn write_answers(ptr: *mut CK_ATTRIBUTE, answers: &[Answer]) -> Result<()> {
    let mut rv = CKR_OK;
    for (i, answer) in answers.iter().enumerate() {
        // SAFETY: `answers` has one entry per attribute of the caller's template
        // (read by `template_types` with the same pointer and count).
        let slot = unsafe { ptr.add(i) };
        // SAFETY: as above; read unaligned-safe.
        let mut a = unsafe { slot.read_unaligned() };
        match answer {
            Answer::Value(v) => {
                let n = CK_ULONG::try_from(v.len()).unwrap_or(CK_ULONG::MAX);
                if a.pValue.is_null() {
                    a.ulValueLen = n;
                } else if a.ulValueLen < n {
                    a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    rv = first(rv, CKR_BUFFER_TOO_SMALL);
                } else {
                    // SAFETY: the caller's buffer holds `ulValueLen >= v.len()` bytes.
                    unsafe {
                        std::ptr::copy_nonoverlapping(v.as_ptr(), a.pValue.cast::<u8>(), v.len())
                    };
                    a.ulValueLen = n;
                }
            }
            Answer::Sensitive => {
                a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                rv = first(rv, CKR_ATTRIBUTE_SENSITIVE);
            }
            Answer::Invalid | Answer::Fetch => {
                a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                rv = first(rv, CKR_ATTRIBUTE_TYPE_INVALID);
            }
        }
        // SAFETY: as above; written unaligned-safe.
        unsafe { slot.write_unaligned(a) };
    }
    if rv == CKR_OK {
        Ok(())
    } else {
        ck(rv)
    }
}

fn first(current: CK_RV, new: CK_RV) -> CK_RV {
    if current == CKR_OK {
        new
    } else {
        current
    }
}

/// Reads a `CK_MECHANISM` and the parameter structure its type takes.
pub fn mechanism(ptr: *const CK_MECHANISM) -> Result<Mechanism> {
    let m = get(ptr)?;
    let raw = bytes(m.pParameter.cast::<u8>(), m.ulParameterLen)?;
    let params = match mechanism::shape(m.mechanism) {
        Shape::None if raw.is_empty() => Params::None,
        Shape::None => Params::Other(raw.to_vec()),
        Shape::Bytes => Params::Iv(raw.to_vec()),
        Shape::Gcm => {
            let p: CK_GCM_PARAMS = structure(raw)?;
            Params::Gcm {
                iv: bytes(p.pIv, p.ulIvLen)?.to_vec(),
                aad: bytes(p.pAAD, p.ulAADLen)?.to_vec(),
                tag_bits: p.ulTagBits,
            }
        }
        Shape::Ctr => {
            let p: CK_AES_CTR_PARAMS = structure(raw)?;
            Params::Ctr {
                counter_bits: p.ulCounterBits,
                block: p.cb,
            }
        }
        Shape::Oaep => Params::Oaep(oaep(structure(raw)?)?),
        Shape::Pss => {
            let p: CK_RSA_PKCS_PSS_PARAMS = structure(raw)?;
            Params::Pss {
                hash: p.hashAlg,
                mgf: p.mgf,
                salt_len: p.sLen,
            }
        }
        Shape::RsaAesWrap => {
            let p: CK_RSA_AES_KEY_WRAP_PARAMS = structure(raw)?;
            Params::RsaAesWrap {
                aes_bits: p.ulAESKeyBits,
                oaep: oaep(get(p.pOAEPParams)?)?,
            }
        }
    };
    Ok(Mechanism {
        kind: m.mechanism,
        params,
    })
}

fn oaep(p: CK_RSA_PKCS_OAEP_PARAMS) -> Result<Oaep> {
    let label = if p.source == CKZ_DATA_SPECIFIED {
        bytes(p.pSourceData.cast::<u8>(), p.ulSourceDataLen)?.to_vec()
    } else {
        Vec::new()
    };
    Ok(Oaep {
        hash: p.hashAlg,
        mgf: p.mgf,
        label,
    })
}

/// A parameter structure of exactly its size.
fn structure<T: Copy>(raw: &[u8]) -> Result<T> {
    if raw.len() != std::mem::size_of::<T>() {
        return ck(CKR_MECHANISM_PARAM_INVALID);
    }
    // SAFETY: `raw` holds exactly `size_of::<T>()` bytes; the parameter structures
    // read here are plain C structs of integers and pointers (any bit pattern is
    // a value); read unaligned-safe.
    Ok(unsafe { raw.as_ptr().cast::<T>().read_unaligned() })
}

/// Fills a fixed-width, blank-padded PKCS#11 text field.
pub fn padded<const N: usize>(text: &str) -> [CK_UTF8CHAR; N] {
    let mut out = [b' '; N];
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out[..end].copy_from_slice(&text.as_bytes()[..end]);
    out
}
