//! ETSI TS 119 612 trusted lists. (Skeleton: filled in by its owner.)
