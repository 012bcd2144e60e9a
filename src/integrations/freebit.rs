//! The freebit client. (To be filled in.)
