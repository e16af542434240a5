#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod scripts;
mod store;

pub use authcore;

pub use store::{RedisStore, RedisStoreBuilder};
