//! The resume cursor lives in `app` (the browser merges cursors too); the hub uses it from
//! there. Its text is `EPOCH:CHANNEL=ID,CHANNEL=ID…`: see [`app::live::cursor`].

pub use app::live::cursor::{Cursor, MalformedCursor, is_channel_name, is_token};
