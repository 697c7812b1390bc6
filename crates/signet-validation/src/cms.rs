//! CMS SignedData reading and signer verification shared by CAdES, PAdES and time-stamp
//! tokens. (Skeleton: filled in by its owner.)
