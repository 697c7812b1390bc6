//! The EN 319 102-1 validation process over format evidence. (Skeleton.)
