//! Social publishing (issue 14): accounts, posts, the publishing job against the Facebook, Instagram and X
//! stand-ins.

mod api;
mod hostile;
mod publishing;
mod reconcile;
mod support;
