//! `libkeygate_pkcs11.so` (filled by the PKCS#11 library issue). Only `ffi` may use
//! `unsafe`.
